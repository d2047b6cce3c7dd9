package report

import (
	"fmt"

	"github.com/cmrfm/cmrfm/stats/evaluate"
)

// ClassificationPlots writes one ROC figure per target, dir/roc_<target>.png
// and .svg, with the pretrained model's curve and the baseline's when there
// is one. It returns the files written.
func ClassificationPlots(dir string, rep *evaluate.ClassReport) ([]string, error) {
	var files []string
	pct := rep.Options.Level * 100
	for _, t := range rep.Targets {
		curves := []Curve{{Label: rep.Options.PredName, ROC: t.Pretrained.ROC, Lower: t.Pretrained.Lower, Upper: t.Pretrained.Upper, Color: PretrainedColor}}
		title := t.Name
		if t.Baseline != nil {
			curves = append(curves, Curve{Label: rep.Options.BaselineName, ROC: t.Baseline.ROC, Lower: t.Baseline.Lower, Upper: t.Baseline.Upper, Color: BaselineColor})
			title = fmt.Sprintf("%s (DeLong p = %s)", t.Name, pString(t.Test.P))
		}
		p, err := ROCPlot(title, curves...)
		if err != nil {
			return files, err
		}
		p.X.Label.Text = fmt.Sprintf("1 − specificity   (AUC with %g %% CI)", pct)
		fs, err := Save(p, dir, "roc_"+FileName(t.Name))
		files = append(files, fs...)
		if err != nil {
			return files, err
		}
	}
	return files, nil
}

// RegressionPlots writes, per target and model, a Bland–Altman figure
// (bland_altman_<target>_<model>) and a predicted-versus-reference scatter
// (scatter_<target>_<model>), and per target the ROC figure of the cut-off
// outcome (roc_<target>_below_<cutoff>), each as PNG and SVG. It returns
// the files written.
func RegressionPlots(dir string, rep *evaluate.RegReport) ([]string, error) {
	var files []string
	save := func(fs []string, err error) error {
		files = append(files, fs...)
		return err
	}
	for _, t := range rep.Targets {
		models := []struct {
			name string
			m    *evaluate.RegModel
		}{{"pretrained", &t.Pretrained}}
		if t.Baseline != nil {
			models = append(models, struct {
				name string
				m    *evaluate.RegModel
			}{"baseline", t.Baseline})
		}
		var curves []Curve
		for _, md := range models {
			col := PretrainedColor
			if md.name == "baseline" {
				col = BaselineColor
			}
			ba, err := BlandAltmanPlot(fmt.Sprintf("%s, %s model (n = %d)", t.Name, md.name, md.m.N), t.Name, md.m.BA, col)
			if err != nil {
				return files, err
			}
			if err := save(Save(ba, dir, "bland_altman_"+FileName(t.Name)+"_"+md.name)); err != nil {
				return files, err
			}
			sc, err := ScatterPlot(fmt.Sprintf("%s, %s model: MAE %.2f, r = %.3f", t.Name, md.name, md.m.MAE, md.m.Pearson), t.Name, md.m.Pred, md.m.Truth, col)
			if err != nil {
				return files, err
			}
			if err := save(Save(sc, dir, "scatter_"+FileName(t.Name)+"_"+md.name)); err != nil {
				return files, err
			}
			if md.m.HF != nil {
				curves = append(curves, Curve{Label: md.name, ROC: md.m.HF, Lower: md.m.HFLo, Upper: md.m.HFHi, Color: col})
			}
		}
		if len(curves) == 0 {
			continue // every reference on one side of the cut-off
		}
		title := fmt.Sprintf("%s < %g, predicted by the model", t.Name, rep.Options.Cutoff)
		if t.HFTest != nil {
			title += fmt.Sprintf(" (DeLong p = %s)", pString(t.HFTest.P))
		}
		p, err := ROCPlot(title, curves...)
		if err != nil {
			return files, err
		}
		if err := save(Save(p, dir, fmt.Sprintf("roc_%s_below_%s", FileName(t.Name), FileName(fmt.Sprint(rep.Options.Cutoff))))); err != nil {
			return files, err
		}
	}
	return files, nil
}

func pString(p float64) string {
	if p < 1e-4 {
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.4f", p)
}
