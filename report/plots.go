package report

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cmrfm/cmrfm/stats"
)

// Colours of the two models in every figure.
var (
	PretrainedColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue
	BaselineColor   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // red
	guideColor      = color.RGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}
)

// Curve is one ROC curve of a figure with its AUC and confidence interval.
type Curve struct {
	Label        string
	ROC          *stats.ROC
	Lower, Upper float64 // interval of ROC.AUC()
	Color        color.Color
}

// ROCPlot draws ROC curves (1 − specificity against sensitivity) with the
// chance diagonal, marks each curve's first Youden point, and labels each
// curve with its AUC and interval.
func ROCPlot(title string, curves ...Curve) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "1 − specificity"
	p.Y.Label.Text = "sensitivity"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	p.Legend.Top = false
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	diag.Color = guideColor
	diag.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(diag)
	for _, c := range curves {
		pts := c.ROC.Points()
		xy := make(plotter.XYs, len(pts))
		for i, pt := range pts {
			xy[i] = plotter.XY{X: 1 - pt.Specificity, Y: pt.Sensitivity}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", c.Label, err)
		}
		l.Color = c.Color
		l.Width = vg.Points(1.5)
		p.Add(l)
		if y := c.ROC.Youden(); len(y) > 0 {
			s, err := plotter.NewScatter(plotter.XYs{{X: 1 - y[0].Specificity, Y: y[0].Sensitivity}})
			if err != nil {
				return nil, fmt.Errorf("report: %w", err)
			}
			s.Color = c.Color
			s.Shape = draw.CircleGlyph{}
			s.Radius = vg.Points(3)
			p.Add(s)
		}
		p.Legend.Add(fmt.Sprintf("%s  AUC %.3f [%.3f, %.3f]", c.Label, c.ROC.AUC(), c.Lower, c.Upper), l)
	}
	return p, nil
}

// BlandAltmanPlot draws the differences against the pair means, the bias
// and the limits of agreement (solid and dashed lines) and the 95 %
// confidence intervals of the limits (dotted).
func BlandAltmanPlot(title, measure string, ba stats.BlandAltman, col color.Color) (*plot.Plot, error) {
	if ba.N == 0 {
		return nil, errors.New("report: Bland–Altman plot of no pairs")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = fmt.Sprintf("mean of predicted and reference %s", measure)
	p.Y.Label.Text = fmt.Sprintf("predicted − reference %s", measure)
	p.Add(plotter.NewGrid())
	xy := make(plotter.XYs, ba.N)
	for i := range xy {
		xy[i] = plotter.XY{X: ba.MeanPair[i], Y: ba.Difference[i]}
	}
	s, err := plotter.NewScatter(xy)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	s.Color = withAlpha(col, 0x90)
	s.Shape = draw.CircleGlyph{}
	s.Radius = vg.Points(1.6)
	p.Add(s)
	xmin, xmax, _, _ := plotter.XYRange(xy)
	hline := func(y float64, dashes []vg.Length, width vg.Length) *plotter.Line {
		l, _ := plotter.NewLine(plotter.XYs{{X: xmin, Y: y}, {X: xmax, Y: y}})
		l.Color = guideColor
		l.Dashes = dashes
		l.Width = width
		p.Add(l)
		return l
	}
	dash := []vg.Length{vg.Points(5), vg.Points(3)}
	dot := []vg.Length{vg.Points(1), vg.Points(2)}
	bias := hline(ba.Bias, nil, vg.Points(1.2))
	loa := hline(ba.Upper, dash, vg.Points(1.2))
	hline(ba.Lower, dash, vg.Points(1.2))
	ci := hline(ba.UpperCI[0], dot, vg.Points(0.8))
	for _, y := range []float64{ba.UpperCI[1], ba.LowerCI[0], ba.LowerCI[1]} {
		hline(y, dot, vg.Points(0.8))
	}
	// Head room above the points for the legend.
	_, _, ymin, ymax := plotter.XYRange(xy)
	ymin = math.Min(ymin, ba.LowerCI[0])
	ymax = math.Max(ymax, ba.UpperCI[1])
	p.Y.Min, p.Y.Max = ymin, ymax+0.3*(ymax-ymin)
	p.Legend.Add(fmt.Sprintf("bias %.2f", ba.Bias), bias)
	p.Legend.Add(fmt.Sprintf("limits of agreement %.2f, %.2f (bias ± %.2f SD)", ba.Lower, ba.Upper, stats.LoAMultiplier), loa)
	p.Legend.Add("95 % CI of the limits", ci)
	p.Legend.Top = true
	return p, nil
}

// ScatterPlot draws predicted against reference values with the identity
// line.
func ScatterPlot(title, measure string, pred, truth []float64, col color.Color) (*plot.Plot, error) {
	if len(pred) != len(truth) || len(pred) == 0 {
		return nil, fmt.Errorf("report: scatter plot of %d predictions and %d references", len(pred), len(truth))
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "reference " + measure
	p.Y.Label.Text = "predicted " + measure
	p.Add(plotter.NewGrid())
	xy := make(plotter.XYs, len(pred))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range xy {
		xy[i] = plotter.XY{X: truth[i], Y: pred[i]}
		lo = math.Min(lo, math.Min(truth[i], pred[i]))
		hi = math.Max(hi, math.Max(truth[i], pred[i]))
	}
	id, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	id.Color = guideColor
	id.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(id)
	s, err := plotter.NewScatter(xy)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	s.Color = withAlpha(col, 0x90)
	s.Shape = draw.CircleGlyph{}
	s.Radius = vg.Points(1.6)
	p.Add(s)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo, hi, lo, hi
	return p, nil
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	// Premultiplied colour with alpha a.
	f := float64(a) / 0xff
	return color.RGBA{R: uint8(float64(r>>8) * f), G: uint8(float64(g>>8) * f), B: uint8(float64(b>>8) * f), A: a}
}

// Size of every figure.
const (
	Width  = 6 * vg.Inch
	Height = 5 * vg.Inch
)

// Save writes p as dir/name.png and dir/name.svg and returns both paths.
func Save(p *plot.Plot, dir, name string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var out []string
	for _, ext := range []string{".png", ".svg"} {
		path := filepath.Join(dir, name+ext)
		if err := p.Save(Width, Height, path); err != nil {
			return out, fmt.Errorf("report: %s: %w", path, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// FileName turns a target name into a safe file-name part: letters, digits,
// '.', '-' and '_' are kept, anything else becomes '_'.
func FileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
