package evaluate

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/cmrfm/cmrfm/stats"
)

// RegOptions configures a regression evaluation (LVEF, LVEDV, …). The zero
// value (plus Pred) is the paper's procedure.
type RegOptions struct {
	// Pred, Baseline and Target are as in ClassOptions.
	Pred, Baseline, Target string
	// LabelCol and PredCol name the columns; default "labels" and "preds".
	LabelCol, PredCol string
	// Cutoff defines the binary outcome of the AUROC: a study is a case when
	// its label is below Cutoff; 0 means 40 (heart failure, LVEF < 40 %).
	// The predictor is the predicted value, with pROC's automatic direction.
	Cutoff float64
	// Level is the confidence level of the AUROC; 0 means 0.95. The
	// Bland–Altman intervals are always 95 %.
	Level float64
}

func (o *RegOptions) defaults() {
	if o.LabelCol == "" {
		o.LabelCol = "labels"
	}
	if o.PredCol == "" {
		o.PredCol = "preds"
	}
	if o.Cutoff == 0 {
		o.Cutoff = 40
	}
	if o.Level == 0 {
		o.Level = 0.95
	}
}

// RegModel is one model's regression result on one target.
type RegModel struct {
	Path string
	N    int
	// Excluded counts the rows left out (no label, no prediction); N does
	// not include them.
	Excluded    Excluded
	Pred, Truth []float64
	MAE, MSE    float64
	RMSE        float64
	Pearson     float64
	BA          stats.BlandAltman // differences pred − label
	// HF is the ROC of the predictions against label < Cutoff; nil when all
	// labels fall on one side of the cut-off (then the AUC fields are NaN).
	HF                *stats.ROC
	HFCases           int
	HFAUC, HFLo, HFHi float64
}

// RegTarget is the evaluation of one regression target.
type RegTarget struct {
	Name       string
	Pretrained RegModel
	Baseline   *RegModel
	// HFTest compares the cut-off AUROCs, baseline − pretrained; nil without
	// a baseline or when either AUROC is undefined.
	HFTest *stats.Test
}

// RegReport is a regression evaluation of every target.
type RegReport struct {
	Options RegOptions
	Targets []RegTarget
}

// Regress evaluates regression prediction tables (docs/reference.md §5.4): MAE
// and MSE as plain means over every row, RMSE, Pearson's r, Bland–Altman
// (pred − label, bias ± 1.96 SD with 95 % CIs) and the AUROC of the
// predictions for label < Cutoff, compared between models with DeLong's
// test.
func Regress(opt RegOptions) (*RegReport, error) {
	opt.defaults()
	if !(opt.Level > 0 && opt.Level < 1) {
		return nil, fmt.Errorf("evaluate: confidence level %v not in (0, 1)", opt.Level)
	}
	if math.IsNaN(opt.Cutoff) || math.IsInf(opt.Cutoff, 0) {
		return nil, fmt.Errorf("evaluate: cut-off %v is not finite", opt.Cutoff)
	}
	pred, err := FindSources(opt.Pred, opt.Target)
	if err != nil {
		return nil, err
	}
	var base map[string]Source
	if opt.Baseline != "" {
		bs, err := FindSources(opt.Baseline, opt.Target)
		if err != nil {
			return nil, err
		}
		if base, err = matchTargets(pred, bs, opt.Pred, opt.Baseline); err != nil {
			return nil, err
		}
	}
	rep := &RegReport{Options: opt}
	for _, src := range pred {
		tg := RegTarget{Name: src.Target}
		if tg.Pretrained, err = regModel(src.Path, &opt); err != nil {
			return nil, err
		}
		if b, ok := base[src.Target]; ok {
			bm, err := regModel(b.Path, &opt)
			if err != nil {
				return nil, err
			}
			tg.Baseline = &bm
			if bm.HF != nil && tg.Pretrained.HF != nil {
				t, err := stats.Compare(bm.HF, tg.Pretrained.HF, stats.PairAuto, opt.Level)
				if err != nil {
					return nil, fmt.Errorf("evaluate: target %s: %w", src.Target, err)
				}
				tg.HFTest = &t
			}
		}
		rep.Targets = append(rep.Targets, tg)
	}
	return rep, nil
}

func regModel(path string, opt *RegOptions) (RegModel, error) {
	t, err := ReadTable(path)
	if err != nil {
		return RegModel{}, err
	}
	t, ex := t.usable(opt.LabelCol, opt.PredCol)
	truth, err := t.Floats(opt.LabelCol)
	if err != nil {
		return RegModel{}, err
	}
	pred, err := t.Floats(opt.PredCol)
	if err != nil {
		return RegModel{}, err
	}
	if len(pred) < 2 {
		return RegModel{}, fmt.Errorf("evaluate: %s: %d rows with a label and a prediction (%d without a label, %d without a prediction), need at least 2: %w", path, len(pred), ex.NoLabel, ex.NoPrediction, ErrBadTable)
	}
	m := RegModel{
		Path: path, N: len(pred), Pred: pred, Truth: truth, Excluded: ex,
		MAE: stats.MAE(pred, truth), MSE: stats.MSE(pred, truth), RMSE: stats.RMSE(pred, truth),
		Pearson: stats.Pearson(pred, truth),
		BA:      stats.NewBlandAltman(pred, truth),
		HFAUC:   math.NaN(), HFLo: math.NaN(), HFHi: math.NaN(),
	}
	labels := stats.BelowCutoff(truth, opt.Cutoff)
	for _, l := range labels {
		if l {
			m.HFCases++
		}
	}
	m.HF, err = stats.NewROC(pred, labels, stats.Auto)
	switch {
	case errors.Is(err, stats.ErrOneClass):
		m.HF = nil // no study on one side of the cut-off: AUROC undefined
	case err != nil:
		return RegModel{}, fmt.Errorf("evaluate: %s: %w", path, err)
	default:
		m.HFAUC = m.HF.AUC()
		m.HFLo, m.HFHi = m.HF.CI(opt.Level)
	}
	return m, nil
}

var regColumns = []string{"n", "mae", "mse", "rmse", "pearson_r",
	"bias", "bias_lower", "bias_upper", "sd_difference",
	"loa_lower", "loa_lower_lower", "loa_lower_upper", "loa_upper", "loa_upper_lower", "loa_upper_upper",
	"hf_cases", "hf_direction", "hf_auc", "hf_upper", "hf_lower"}

func (m *RegModel) cells() []cell {
	dir := "NA"
	if m.HF != nil {
		dir = m.HF.Direction().String()
	}
	b := m.BA
	return []cell{integer(m.N), num(m.MAE), num(m.MSE), num(m.RMSE), num(m.Pearson),
		num(b.Bias), num(b.BiasCI[0]), num(b.BiasCI[1]), num(b.SD),
		num(b.Lower), num(b.LowerCI[0]), num(b.LowerCI[1]), num(b.Upper), num(b.UpperCI[0]), num(b.UpperCI[1]),
		integer(m.HFCases), str(dir), num(m.HFAUC), num(m.HFHi), num(m.HFLo)}
}

// WriteResults writes one row per target: every metric of the pretrained
// model, or, with a baseline, every metric suffixed _baseline then
// _pretrained and the DeLong p-value of the cut-off AUROCs (hf_p_val), in
// the column style of the paper's classification CSVs.
func (r *RegReport) WriteResults(w io.Writer) error {
	hasBase := len(r.Targets) > 0 && r.Targets[0].Baseline != nil
	cols := []string{"target"}
	if !hasBase {
		cols = append(cols, regColumns...)
	} else {
		for _, sfx := range []string{"_baseline", "_pretrained"} {
			for _, c := range regColumns {
				cols = append(cols, c+sfx)
			}
		}
		cols = append(cols, "hf_p_val")
	}
	cw := newRWriter(w, cols...)
	for _, t := range r.Targets {
		row := []cell{str(t.Name)}
		if hasBase {
			row = append(row, t.Baseline.cells()...)
		}
		row = append(row, t.Pretrained.cells()...)
		if hasBase {
			p := math.NaN()
			if t.HFTest != nil {
				p = t.HFTest.P
			}
			row = append(row, num(p))
		}
		cw.write(row...)
	}
	return cw.flush()
}

// Summary writes a short human-readable table of the results.
func (r *RegReport) Summary(w io.Writer) error {
	for _, t := range r.Targets {
		line := func(name string, m *RegModel) string {
			return fmt.Sprintf("%-12s %-10s MAE %.3f  RMSE %.3f  r %.3f  bias %.3f [LoA %.3f, %.3f]  AUROC(<%g) %.3f [%.3f, %.3f]",
				t.Name, name, m.MAE, m.RMSE, m.Pearson, m.BA.Bias, m.BA.Lower, m.BA.Upper, r.Options.Cutoff, m.HFAUC, m.HFLo, m.HFHi)
		}
		if _, err := fmt.Fprintln(w, line("pretrained", &t.Pretrained)); err != nil {
			return err
		}
		if t.Baseline != nil {
			fmt.Fprintln(w, line("baseline", t.Baseline))
			if t.HFTest != nil {
				fmt.Fprintf(w, "%-12s AUROC difference (baseline − pretrained) %.4f, p %s\n", t.Name, t.HFTest.Diff, formatP(t.HFTest.P))
			}
		}
	}
	return nil
}
