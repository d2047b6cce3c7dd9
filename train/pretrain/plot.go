package pretrain

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WritePlots draws the training curves: lossPath (training loss per
// update, its running mean, and validation loss) and recallPath
// (validation recall@1/@5 in both directions, with chance). Either path
// may be empty. Rows without the series are skipped.
func WritePlots(rows []Row, lossPath, recallPath string) error {
	if lossPath != "" {
		p := plot.New()
		p.Title.Text = "Contrastive pretraining loss"
		p.X.Label.Text = "update"
		p.Y.Label.Text = "loss"
		var tr, avg, val plotter.XYs
		for _, r := range rows {
			tr = append(tr, plotter.XY{X: float64(r.Step), Y: r.LossRaw})
			if !math.IsNaN(r.LossAvg) {
				avg = append(avg, plotter.XY{X: float64(r.Step), Y: r.LossAvg})
			}
			if r.Val != nil {
				val = append(val, plotter.XY{X: float64(r.Step), Y: r.Val.LossRaw})
			}
		}
		if err := addLines(p, []series{{"train (last batch)", tr, color.RGBA{170, 170, 220, 255}, false},
			{"train (mean since last row)", avg, color.RGBA{30, 60, 200, 255}, false},
			{"validation", val, color.RGBA{220, 60, 30, 255}, true}}); err != nil {
			return err
		}
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, lossPath); err != nil {
			return fmt.Errorf("pretrain: plot %s: %w", lossPath, err)
		}
	}
	if recallPath != "" {
		p := plot.New()
		p.Title.Text = "Validation retrieval"
		p.X.Label.Text = "update"
		p.Y.Label.Text = "recall"
		p.Y.Min, p.Y.Max = 0, 1
		var r1v, r5v, r1t, r5t, ch1, ch5 plotter.XYs
		for _, r := range rows {
			if r.Val == nil {
				continue
			}
			x := float64(r.Step)
			r1v = append(r1v, plotter.XY{X: x, Y: r.Val.R1V2T})
			r5v = append(r5v, plotter.XY{X: x, Y: r.Val.R5V2T})
			r1t = append(r1t, plotter.XY{X: x, Y: r.Val.R1T2V})
			r5t = append(r5t, plotter.XY{X: x, Y: r.Val.R5T2V})
			pool := float64(max(r.Val.Pool, 1))
			ch1 = append(ch1, plotter.XY{X: x, Y: 1 / pool})
			ch5 = append(ch5, plotter.XY{X: x, Y: math.Min(5/pool, 1)})
		}
		if len(r1v) == 0 {
			return nil
		}
		if err := addLines(p, []series{{"R@1 video→text", r1v, color.RGBA{30, 60, 200, 255}, true},
			{"R@5 video→text", r5v, color.RGBA{120, 150, 240, 255}, true},
			{"R@1 text→video", r1t, color.RGBA{200, 50, 30, 255}, true},
			{"R@5 text→video", r5t, color.RGBA{240, 150, 120, 255}, true},
			{"chance @1", ch1, color.Gray{Y: 90}, false},
			{"chance @5", ch5, color.Gray{Y: 160}, false}}); err != nil {
			return err
		}
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, recallPath); err != nil {
			return fmt.Errorf("pretrain: plot %s: %w", recallPath, err)
		}
	}
	return nil
}

type series struct {
	name   string
	xy     plotter.XYs
	col    color.Color
	points bool
}

func addLines(p *plot.Plot, ss []series) error {
	for _, s := range ss {
		if len(s.xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(s.xy)
		if err != nil {
			return fmt.Errorf("pretrain: plot %s: %w", s.name, err)
		}
		l.Color = s.col
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(s.name, l)
		if s.points && len(s.xy) < 200 {
			sc, err := plotter.NewScatter(s.xy)
			if err != nil {
				return err
			}
			sc.Color = s.col
			sc.Radius = vg.Points(2)
			p.Add(sc)
		}
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return nil
}
