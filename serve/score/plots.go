package score

import (
	"bytes"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/cmrfm/cmrfm/report"
	"github.com/cmrfm/cmrfm/stats"
)

// Figure is one SVG figure of a submission's part.
type Figure struct {
	Part, Name string
	SVG        string
}

// Figure size on the web pages.
const (
	figW = 5.5 * vg.Inch
	figH = 4.2 * vg.Inch
)

func svg(p *plot.Plot) (string, error) {
	c := vgsvg.NewWith(vgsvg.UseWH(figW, figH))
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("score: svg: %w", err)
	}
	return b.String(), nil
}

// BinnedROC returns the points of a ROC curve at which it may be drawn
// without revealing single studies: the ends (everything positive, nothing
// positive) and the thresholds between them where, since the last kept
// point, at least minBin studies changed side, and at least minBin remain
// on the positive side. Points come in stats.ROC.Points order.
func BinnedROC(r *stats.ROC, minBin int) []stats.Coords {
	pts := r.Points()
	if minBin < 1 {
		minBin = 1
	}
	out := []stats.Coords{pts[0]}
	last := pts[0].TP + pts[0].FP
	for _, c := range pts[1 : len(pts)-1] {
		k := c.TP + c.FP
		if last-k >= minBin && k >= minBin {
			out = append(out, c)
			last = k
		}
	}
	return append(out, pts[len(pts)-1])
}

func rocFigure(title string, r *stats.ROC, lo, hi float64, minBin int) (string, error) {
	pts := BinnedROC(r, minBin)
	xy := make(plotter.XYs, len(pts))
	for i, c := range pts {
		xy[i] = plotter.XY{X: 1 - c.Specificity, Y: c.Sensitivity}
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = fmt.Sprintf("1 − specificity   (each step ≥ %d studies)", minBin)
	p.Y.Label.Text = "sensitivity"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	p.Add(plotter.NewGrid())
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return "", fmt.Errorf("score: %w", err)
	}
	diag.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(diag)
	l, s, err := plotter.NewLinePoints(xy)
	if err != nil {
		return "", fmt.Errorf("score: %w", err)
	}
	l.Color, l.Width = report.PretrainedColor, vg.Points(1.5)
	s.Color, s.Shape, s.Radius = report.PretrainedColor, draw.CircleGlyph{}, vg.Points(2)
	p.Add(l, s)
	p.Legend.Left, p.Legend.Top = false, false
	p.Legend.Add(fmt.Sprintf("AUC %.3f [%.3f, %.3f]", r.AUC(), lo, hi), l)
	return svg(p)
}

// BinnedBlandAltman groups the pairs, in order of their mean, into bins of
// at least minBin (the last bin takes the remainder) and returns each bin's
// mean of the pair means, mean difference and the difference's SD.
func BinnedBlandAltman(ba stats.BlandAltman, minBin int) (x, y, sd []float64) {
	if minBin < 1 {
		minBin = 1
	}
	order := make([]int, ba.N)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ba.MeanPair[order[a]] < ba.MeanPair[order[b]] })
	nb := ba.N / minBin
	for b := 0; b < nb; b++ {
		lo, hi := b*minBin, (b+1)*minBin
		if b == nb-1 {
			hi = ba.N
		}
		var mx, my float64
		for _, i := range order[lo:hi] {
			mx += ba.MeanPair[i]
			my += ba.Difference[i]
		}
		k := float64(hi - lo)
		mx, my = mx/k, my/k
		var ss float64
		for _, i := range order[lo:hi] {
			ss += (ba.Difference[i] - my) * (ba.Difference[i] - my)
		}
		s := 0.0
		if hi-lo > 1 {
			s = math.Sqrt(ss / (k - 1))
		}
		x, y, sd = append(x, mx), append(y, my), append(sd, s)
	}
	return x, y, sd
}

type errBars struct {
	plotter.XYs
	plotter.YErrors
}

func blandAltmanFigure(title, measure string, ba stats.BlandAltman, minBin int) (string, error) {
	x, y, sd := BinnedBlandAltman(ba, minBin)
	if len(x) == 0 {
		return "", fmt.Errorf("score: Bland–Altman of %d pairs in bins of %d", ba.N, minBin)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = fmt.Sprintf("mean of predicted and reference %s (bins of ≥ %d studies)", measure, minBin)
	p.Y.Label.Text = fmt.Sprintf("predicted − reference %s", measure)
	p.Add(plotter.NewGrid())
	pts := errBars{XYs: make(plotter.XYs, len(x)), YErrors: make(plotter.YErrors, len(x))}
	for i := range x {
		pts.XYs[i] = plotter.XY{X: x[i], Y: y[i]}
		pts.YErrors[i] = struct{ Low, High float64 }{sd[i], sd[i]}
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return "", fmt.Errorf("score: %w", err)
	}
	sc.Color, sc.Shape, sc.Radius = report.PretrainedColor, draw.CircleGlyph{}, vg.Points(3)
	p.Add(sc)
	if len(x) > 0 {
		eb, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return "", fmt.Errorf("score: %w", err)
		}
		eb.Color = report.PretrainedColor
		p.Add(eb)
	}
	xmin, xmax := x[0], x[len(x)-1]
	if xmax-xmin < 1 {
		xmin, xmax = xmin-1, xmax+1
	}
	hline := func(v float64, dashes []vg.Length) *plotter.Line {
		l, _ := plotter.NewLine(plotter.XYs{{X: xmin, Y: v}, {X: xmax, Y: v}})
		l.Dashes, l.Width = dashes, vg.Points(1.2)
		p.Add(l)
		return l
	}
	dash := []vg.Length{vg.Points(5), vg.Points(3)}
	dot := []vg.Length{vg.Points(1), vg.Points(2)}
	bias := hline(ba.Bias, nil)
	loa := hline(ba.Upper, dash)
	hline(ba.Lower, dash)
	ci := hline(ba.UpperCI[0], dot)
	for _, v := range []float64{ba.UpperCI[1], ba.LowerCI[0], ba.LowerCI[1]} {
		if !math.IsNaN(v) {
			hline(v, dot)
		}
	}
	ymin, ymax := ba.Lower, ba.Upper
	for i := range y {
		ymin, ymax = math.Min(ymin, y[i]-sd[i]), math.Max(ymax, y[i]+sd[i])
	}
	if !math.IsNaN(ba.LowerCI[0]) {
		ymin, ymax = math.Min(ymin, ba.LowerCI[0]), math.Max(ymax, ba.UpperCI[1])
	}
	if ymax-ymin < 1 {
		ymin, ymax = ymin-1, ymax+1
	}
	p.Y.Min, p.Y.Max = ymin, ymax+0.35*(ymax-ymin)
	p.Legend.Add(fmt.Sprintf("bias %.2f", ba.Bias), bias)
	p.Legend.Add(fmt.Sprintf("limits of agreement %.2f, %.2f", ba.Lower, ba.Upper), loa)
	p.Legend.Add("95 % CI of the limits", ci)
	p.Legend.Add("bin mean ± SD", sc)
	p.Legend.Top = true
	return svg(p)
}
