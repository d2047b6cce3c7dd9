package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Size of the figures inlined in the HTML report (they scale with the page).
const (
	FigWidth  = 6 * vg.Inch
	FigHeight = 4.8 * vg.Inch
)

var svgSize = regexp.MustCompile(`^<svg width="[^"]*" height="[^"]*"`)

// plotSVG renders p as inline SVG markup: no XML prologue, and no fixed
// width or height, so CSS sizes it (the viewBox keeps the aspect ratio).
func plotSVG(p *plot.Plot, w, h vg.Length) (string, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("report: svg: %w", err)
	}
	s := buf.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	s = svgSize.ReplaceAllString(s, `<svg role="img" aria-label="`+attrEscape(p.Title.Text)+`"`)
	return metricFonts.Replace(s), nil
}

// metricFonts names, after gonum's Liberation fonts (whose metrics laid the
// figure out), the fonts with the same metrics on other systems, so labels
// and legends keep their size where Liberation is not installed.
var metricFonts = strings.NewReplacer(
	"font-family:Liberation Serif;", "font-family:'Liberation Serif','Times New Roman',Tinos,Times,serif;",
	"font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Arimo,Helvetica,sans-serif;",
	"font-family:Liberation Mono;", "font-family:'Liberation Mono','Courier New',Cousine,monospace;",
)

func attrEscape(s string) string {
	r := strings.NewReplacer(`&`, "&amp;", `"`, "&quot;", `<`, "&lt;", `>`, "&gt;")
	return r.Replace(s)
}

// fmtNum formats v with d decimals; NaN and infinities as "—".
func fmtNum(v float64, d int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	s := strconv.FormatFloat(v, 'f', d, 64)
	if s == "-0" || strings.HasPrefix(s, "-0.") && strings.Trim(s[3:], "0") == "" {
		s = s[1:]
	}
	return s
}

// metricGroups are the training figures: the losses, then the validation
// metric families a cmrfm run logs.
var metricGroups = []struct {
	title, ylabel string
	cols          []string
	log           bool
}{
	{"loss", "loss", []string{"loss", "val_loss"}, true},
	{"mean absolute error", "MAE (points)", []string{"mae", "val_mae"}, true},
	{"validation AUROC", "AUROC", []string{"val_auc"}, false},
	{"validation recall@1 (chance: val_chance_r1)", "recall@1", []string{"val_r1_v2t", "val_r1_t2v", "val_chance_r1"}, false},
}

// runFigures draws a run's training curves against the update count. Train
// series logged every update are smoothed with a running mean over 1 % of
// the run (the raw series is drawn faint behind it).
func runFigures(r *Run, rows []map[string]float64, cols []string) ([]Figure, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	var figs []Figure
	for _, g := range metricGroups {
		var present []string
		for _, c := range g.cols {
			for _, have := range cols {
				if have == c || strings.HasPrefix(have, c+"_") && g.title == "validation AUROC" {
					present = append(present, have)
				}
			}
		}
		if len(present) == 0 {
			continue
		}
		p := plot.New()
		p.Title.Text = r.Name + ": " + g.title
		p.X.Label.Text = "update"
		p.Y.Label.Text = g.ylabel
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
		if g.log {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		}
		drawn := 0
		for i, c := range present {
			var xy plotter.XYs
			for _, row := range rows {
				if v, ok := row[c]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) && (!g.log || v > 0) {
					xy = append(xy, plotter.XY{X: row["step"], Y: v})
				}
			}
			if len(xy) == 0 {
				continue
			}
			col := curvePalette[i%len(curvePalette)]
			dense := len(xy) > 50 && len(xy) > len(rows)/2
			if dense {
				raw, err := plotter.NewLine(xy)
				if err != nil {
					return nil, fmt.Errorf("report: %w", err)
				}
				raw.Color = withAlpha(col, 0x40)
				raw.Width = vg.Points(0.6)
				p.Add(raw)
				xy = smooth(xy, max(len(xy)/100, 1))
			}
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, fmt.Errorf("report: %w", err)
			}
			l.Color = col
			l.Width = vg.Points(1.4)
			p.Add(l)
			if !dense {
				s, err := plotter.NewScatter(xy)
				if err == nil {
					s.Color, s.Shape, s.Radius = col, draw.CircleGlyph{}, vg.Points(2)
					p.Add(s)
				}
			}
			label := c
			if dense {
				label += " (running mean)"
			}
			p.Legend.Add(label, l)
			drawn++
		}
		if drawn == 0 {
			continue
		}
		svg, err := plotSVG(p, FigWidth, FigHeight)
		if err != nil {
			return nil, err
		}
		figs = append(figs, Figure{Title: p.Title.Text, SVG: svg})
	}
	return figs, nil
}

// smooth returns the running mean of y over a centred window of 2k+1 points.
func smooth(xy plotter.XYs, k int) plotter.XYs {
	out := make(plotter.XYs, len(xy))
	for i := range xy {
		lo, hi := max(i-k, 0), min(i+k, len(xy)-1)
		var s float64
		for j := lo; j <= hi; j++ {
			s += xy[j].Y
		}
		out[i] = plotter.XY{X: xy[i].X, Y: s / float64(hi-lo+1)}
	}
	return out
}

var curvePalette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x7f, 0x7f, 0x7f, 0xff},
}
