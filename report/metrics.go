package report

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/cmrfm/cmrfm/train"
)

// palette colours the curves of a metrics figure by position.
var palette = []color.Color{
	color.RGBA{30, 60, 200, 255}, color.RGBA{220, 60, 30, 255}, color.RGBA{40, 150, 60, 255},
	color.RGBA{150, 60, 170, 255}, color.RGBA{230, 150, 20, 255}, color.RGBA{90, 90, 90, 255},
}

// MetricsPlot draws the metrics columns the curves name (Curve.Column)
// against the update count. Rows without a column's value are skipped;
// curves with no value at all are left out, and a figure with none is an
// error. logY uses a logarithmic y axis (non-positive values are skipped).
func MetricsPlot(title, ylabel string, rows []train.Row, curves []Curve, logY bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "update"
	p.Y.Label.Text = ylabel
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Legend.Top = true
	drawn := 0
	for i, c := range curves {
		var xy plotter.XYs
		for _, r := range rows {
			if v, ok := r.Values[c.Column]; ok && (!logY || v > 0) {
				xy = append(xy, plotter.XY{X: float64(r.Step), Y: v})
			}
		}
		if len(xy) == 0 {
			continue
		}
		label := c.Label
		if label == "" {
			label = c.Column
		}
		col := c.Color
		if col == nil {
			col = palette[i%len(palette)]
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", title, err)
		}
		l.Color = col
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(label, l)
		if c.Points || len(xy) == 1 {
			s, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, fmt.Errorf("report: %s: %w", title, err)
			}
			s.Color = col
			p.Add(s)
		}
		drawn++
	}
	if drawn == 0 {
		return nil, fmt.Errorf("report: %s: no values for %d curves", title, len(curves))
	}
	return p, nil
}

// PlotMetrics draws MetricsPlot and saves it at path (PNG, SVG or PDF by
// the extension), 7 × 4.5 inches: the loss and validation figures of a
// training run.
func PlotMetrics(path, title, ylabel string, rows []train.Row, curves []Curve, logY bool) error {
	p, err := MetricsPlot(title, ylabel, rows, curves, logY)
	if err != nil {
		return fmt.Errorf("report: plot %s: %w", path, err)
	}
	if err := p.Save(7*vg.Inch, 4.5*vg.Inch, path); err != nil {
		return fmt.Errorf("report: plot %s: %w", path, err)
	}
	return nil
}
