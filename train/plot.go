package train

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Curve names a metrics column to draw.
type Curve struct {
	Column string
	Label  string // legend text; the column name when empty
	// Points draws markers as well (sparse series such as validation).
	Points bool
}

var palette = []color.Color{
	color.RGBA{30, 60, 200, 255}, color.RGBA{220, 60, 30, 255}, color.RGBA{40, 150, 60, 255},
	color.RGBA{150, 60, 170, 255}, color.RGBA{230, 150, 20, 255}, color.RGBA{90, 90, 90, 255},
}

// PlotMetrics draws the named columns of rows against the update count
// and saves the figure (PNG, SVG or PDF by path's extension). Rows without
// a column's value are skipped; columns with no value at all are left out.
// logY uses a logarithmic y axis (all values must be positive).
func PlotMetrics(path, title, ylabel string, rows []Row, curves []Curve, logY bool) error {
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
		col := palette[i%len(palette)]
		l, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("train: plot %s: %w", path, err)
		}
		l.Color = col
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(label, l)
		if c.Points || len(xy) == 1 {
			s, err := plotter.NewScatter(xy)
			if err != nil {
				return fmt.Errorf("train: plot %s: %w", path, err)
			}
			s.Color = col
			p.Add(s)
		}
		drawn++
	}
	if drawn == 0 {
		return fmt.Errorf("train: plot %s: no values for %d curves", path, len(curves))
	}
	if err := p.Save(7*vg.Inch, 4.5*vg.Inch, path); err != nil {
		return fmt.Errorf("train: plot %s: %w", path, err)
	}
	return nil
}
