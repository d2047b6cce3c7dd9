package evaluate

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/cmrfm/cmrfm/stats"
)

// CIMethod selects how the AUROC confidence interval is computed.
type CIMethod int8

const (
	// DeLong is DeLong's interval, clipped to [0, 1] (the paper's).
	DeLong CIMethod = iota
	// Bootstrap is the stratified percentile bootstrap (seeded).
	Bootstrap
)

// ClassOptions configures a classification evaluation. The zero value
// (plus Pred) is the paper's procedure.
type ClassOptions struct {
	// Pred is the pretrained model's predictions: a table file or a folder
	// with one sub-folder per target (see FindSources).
	Pred string
	// Baseline, if set, is the baseline model's predictions in the same
	// layout; each target of Pred must have one.
	Baseline string
	// Target names a single-file input; default: the file name.
	Target string
	// LabelCol and ScoreCol name the columns; default "labels" and "probs".
	LabelCol, ScoreCol string
	// Direction of the ROC curves; default stats.Auto (pROC's median rule).
	Direction stats.Direction
	// Pairing of the DeLong test; default stats.PairAuto (pROC's rule).
	Pairing stats.Pairing
	// Level is the confidence level; 0 means 0.95.
	Level float64
	// CI is the interval method; default DeLong.
	CI CIMethod
	// Bootstrap configures CI = Bootstrap (2000 resamples, seed 0 by default).
	Bootstrap stats.Bootstrap
	// MinSensitivity and MinSpecificity set the two fixed operating points;
	// 0 means 0.90 (the paper's).
	MinSensitivity, MinSpecificity float64
	// PredName and BaselineName name the two models in figures; default
	// "pretrained" and "baseline".
	PredName, BaselineName string
}

func (o *ClassOptions) defaults() {
	if o.PredName == "" {
		o.PredName = "pretrained"
	}
	if o.BaselineName == "" {
		o.BaselineName = "baseline"
	}
	if o.LabelCol == "" {
		o.LabelCol = "labels"
	}
	if o.ScoreCol == "" {
		o.ScoreCol = "probs"
	}
	if o.Level == 0 {
		o.Level = 0.95
	}
	if o.MinSensitivity == 0 {
		o.MinSensitivity = 0.90
	}
	if o.MinSpecificity == 0 {
		o.MinSpecificity = 0.90
	}
}

// ClassModel is one model's result on one target.
type ClassModel struct {
	Path       string
	N          int // rows, every row counted (duplicates included)
	Positives  int
	Prevalence float64 // Positives / N
	ROC        *stats.ROC
	AUC        float64
	Lower      float64 // confidence interval of the AUC
	Upper      float64
	// Youden holds the points maximising Youden's J (several on a tie).
	Youden []stats.Coords
	// AtSensitivity and AtSpecificity are the best points with sensitivity
	// (specificity) at least ClassOptions.MinSensitivity (MinSpecificity).
	AtSensitivity, AtSpecificity stats.Coords
	// Excluded counts the rows left out (no label, no prediction); N does
	// not include them.
	Excluded Excluded
}

// ClassTarget is the evaluation of one target.
type ClassTarget struct {
	Name       string
	Pretrained ClassModel
	Baseline   *ClassModel // nil without a baseline
	// Test compares baseline − pretrained (the paper's sign); nil without a
	// baseline.
	Test *stats.Test
}

// ClassReport is a classification evaluation of every target.
type ClassReport struct {
	Options ClassOptions // with defaults filled in
	Targets []ClassTarget
}

// Classify evaluates the prediction tables with the procedure of
// docs/reference.md §5.2: every row in file order (no de-duplication), pROC's
// automatic direction, DeLong's CI clipped to [0, 1], and DeLong's test of
// baseline against pretrained, paired only when the label vectors are
// identical.
func Classify(opt ClassOptions) (*ClassReport, error) {
	opt.defaults()
	if !(opt.Level > 0 && opt.Level < 1) {
		return nil, fmt.Errorf("evaluate: confidence level %v not in (0, 1)", opt.Level)
	}
	if !(opt.MinSensitivity > 0 && opt.MinSensitivity <= 1 && opt.MinSpecificity > 0 && opt.MinSpecificity <= 1) {
		return nil, fmt.Errorf("evaluate: minimum sensitivity %v / specificity %v not in (0, 1]", opt.MinSensitivity, opt.MinSpecificity)
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
		base, err = matchTargets(pred, bs, opt.Pred, opt.Baseline)
		if err != nil {
			return nil, err
		}
	}
	rep := &ClassReport{Options: opt}
	for _, src := range pred {
		tg := ClassTarget{Name: src.Target}
		if tg.Pretrained, err = classModel(src.Path, &opt); err != nil {
			return nil, err
		}
		if b, ok := base[src.Target]; ok {
			bm, err := classModel(b.Path, &opt)
			if err != nil {
				return nil, err
			}
			tg.Baseline = &bm
			t, err := stats.Compare(bm.ROC, tg.Pretrained.ROC, opt.Pairing, opt.Level)
			if err != nil {
				return nil, fmt.Errorf("evaluate: target %s: %s vs %s: %w", src.Target, b.Path, src.Path, err)
			}
			tg.Test = &t
		}
		rep.Targets = append(rep.Targets, tg)
	}
	return rep, nil
}

// matchTargets pairs every pretrained target with its baseline table.
func matchTargets(pred, base []Source, predPath, basePath string) (map[string]Source, error) {
	m := make(map[string]Source, len(base))
	for _, b := range base {
		m[b.Target] = b
	}
	if len(pred) == 1 && len(base) == 1 { // two single files: pair them whatever their names
		m = map[string]Source{pred[0].Target: base[0]}
		return m, nil
	}
	for _, p := range pred {
		if _, ok := m[p.Target]; !ok {
			return nil, fmt.Errorf("evaluate: target %q of %s has no baseline in %s: %w", p.Target, predPath, basePath, ErrBadTable)
		}
	}
	return m, nil
}

func classModel(path string, opt *ClassOptions) (ClassModel, error) {
	t, err := ReadTable(path)
	if err != nil {
		return ClassModel{}, err
	}
	t, ex := t.usable(opt.LabelCol, opt.ScoreCol)
	labels, err := t.Labels(opt.LabelCol)
	if err != nil {
		return ClassModel{}, err
	}
	scores, err := t.Floats(opt.ScoreCol)
	if err != nil {
		return ClassModel{}, err
	}
	if len(labels) == 0 {
		return ClassModel{}, fmt.Errorf("evaluate: %s: no row has both a label and a prediction (%d without a label, %d without a prediction): %w", path, ex.NoLabel, ex.NoPrediction, ErrBadTable)
	}
	m := ClassModel{Path: path, N: len(labels), Excluded: ex}
	for _, l := range labels {
		if l {
			m.Positives++
		}
	}
	m.Prevalence = float64(m.Positives) / float64(m.N)
	m.ROC, err = stats.NewROC(scores, labels, opt.Direction)
	if errors.Is(err, stats.ErrOneClass) {
		return ClassModel{}, fmt.Errorf("evaluate: %s: column %q: %d of %d rows are positive, the AUROC needs both classes: %w", path, opt.LabelCol, m.Positives, m.N, ErrBadTable)
	}
	if err != nil {
		return ClassModel{}, fmt.Errorf("evaluate: %s: %w", path, err)
	}
	m.AUC = m.ROC.AUC()
	switch opt.CI {
	case Bootstrap:
		m.Lower, m.Upper = m.ROC.BootstrapCI(opt.Level, opt.Bootstrap)
	default:
		m.Lower, m.Upper = m.ROC.CI(opt.Level)
	}
	m.Youden = m.ROC.Youden()
	m.AtSensitivity = m.ROC.AtSensitivity(opt.MinSensitivity)
	m.AtSpecificity = m.ROC.AtSpecificity(opt.MinSpecificity)
	return m, nil
}

// WriteResults writes the AUROC table in the paper's layout
// (internal_test_auc_sig_results_combined.csv with a baseline,
// internal_test_auc_df.csv without), as R's write.csv formats it.
func (r *ClassReport) WriteResults(w io.Writer) error {
	hasBase := len(r.Targets) > 0 && r.Targets[0].Baseline != nil
	if !hasBase {
		cw := newRWriter(w, "target", "auc", "upper", "lower")
		for _, t := range r.Targets {
			p := t.Pretrained
			cw.write(str(t.Name), num(p.AUC), num(p.Upper), num(p.Lower))
		}
		return cw.flush()
	}
	cw := newRWriter(w, "target", "auc_baseline", "upper_baseline", "lower_baseline",
		"auc_pretrained", "upper_pretrained", "lower_pretrained", "p_val")
	for _, t := range r.Targets {
		b, p := t.Baseline, t.Pretrained
		cw.write(str(t.Name), num(b.AUC), num(b.Upper), num(b.Lower),
			num(p.AUC), num(p.Upper), num(p.Lower), num(t.Test.P))
	}
	return cw.flush()
}

// WritePrevalence writes the prevalence of each target in the pretrained
// tables (positives over all rows), in the layout of the paper's
// internal_test_set_prevalence.csv.
func (r *ClassReport) WritePrevalence(w io.Writer) error {
	cw := newRWriter(w, "target", "prevalence")
	for _, t := range r.Targets {
		cw.write(str(t.Name), num(t.Pretrained.Prevalence))
	}
	return cw.flush()
}

// WriteTests writes the details of each target's DeLong comparison:
// directions, test kind, statistic, degrees of freedom, p-value and the
// AUC difference (baseline − pretrained) with its interval (paired only).
// Without a baseline it writes the header only.
func (r *ClassReport) WriteTests(w io.Writer) error {
	cw := newRWriter(w, "target", "n_baseline", "n_pretrained", "direction_baseline", "direction_pretrained",
		"test", "statistic", "df", "p_val", "auc_difference", "difference_lower", "difference_upper")
	for _, t := range r.Targets {
		if t.Test == nil {
			continue
		}
		kind := "unpaired DeLong (Welch t)"
		if t.Test.Paired {
			kind = "paired DeLong (Z)"
		}
		cw.write(str(t.Name), integer(t.Baseline.N), integer(t.Pretrained.N),
			str(t.Baseline.ROC.Direction().String()), str(t.Pretrained.ROC.Direction().String()),
			str(kind), num(t.Test.Statistic), num(t.Test.DF), num(t.Test.P),
			num(t.Test.Diff), num(t.Test.DiffLo), num(t.Test.DiffHi))
	}
	return cw.flush()
}

// WriteThresholds writes the operating points of every model and target, one
// row per criterion: "youden" (every tied point), "sensitivity>=S" and
// "specificity>=S".
func (r *ClassReport) WriteThresholds(w io.Writer) error {
	cw := newRWriter(w, "target", "model", "direction", "criterion", "threshold", "sensitivity", "specificity",
		"accuracy", "ppv", "npv", "tp", "fp", "tn", "fn")
	row := func(target, model string, m *ClassModel, crit string, c stats.Coords) {
		cw.write(str(target), str(model), str(m.ROC.Direction().String()), str(crit), num(c.Threshold),
			num(c.Sensitivity), num(c.Specificity), num(c.Accuracy), num(c.PPV), num(c.NPV),
			integer(c.TP), integer(c.FP), integer(c.TN), integer(c.FN))
	}
	sens := "sensitivity>=" + FormatR(r.Options.MinSensitivity)
	spec := "specificity>=" + FormatR(r.Options.MinSpecificity)
	for _, t := range r.Targets {
		models := []struct {
			name string
			m    *ClassModel
		}{{"pretrained", &t.Pretrained}}
		if t.Baseline != nil {
			models = append(models, struct {
				name string
				m    *ClassModel
			}{"baseline", t.Baseline})
		}
		for _, md := range models {
			for _, c := range md.m.Youden {
				row(t.Name, md.name, md.m, "youden", c)
			}
			row(t.Name, md.name, md.m, sens, md.m.AtSensitivity)
			row(t.Name, md.name, md.m, spec, md.m.AtSpecificity)
		}
	}
	return cw.flush()
}

// Summary writes a short human-readable table of the results.
func (r *ClassReport) Summary(w io.Writer) error {
	pct := r.Options.Level * 100
	for _, t := range r.Targets {
		p := t.Pretrained
		line := fmt.Sprintf("%-40s AUC %.3f [%.3f, %.3f]", t.Name, p.AUC, p.Lower, p.Upper)
		if t.Baseline != nil {
			b := t.Baseline
			kind := "unpaired"
			if t.Test.Paired {
				kind = "paired"
			}
			line += fmt.Sprintf("   baseline %.3f [%.3f, %.3f]   p %s (%s)", b.AUC, b.Lower, b.Upper, formatP(t.Test.P), kind)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%d targets; %g %% confidence intervals\n", len(r.Targets), pct)
	return err
}

func formatP(p float64) string {
	if math.IsNaN(p) {
		return "NA"
	}
	if p < 1e-4 {
		return fmt.Sprintf("%.1e", p)
	}
	return fmt.Sprintf("%.4f", p)
}
