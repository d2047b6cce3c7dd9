package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"gonum.org/v1/plot"

	"github.com/cmrfm/cmrfm/stats"
	"github.com/cmrfm/cmrfm/stats/evaluate"
	"github.com/cmrfm/cmrfm/store"
)

// Run is one training run folder.
type Run struct {
	Name, Dir string
	// Kind is "finetune" or "pretrain" (from the configuration's keys).
	Kind, Task, Mode string
	Targets          []string
	Store            string
	Config           string // config.yaml as written by the run
	Checkpoint       string // checkpoints/last.safetensors when present
	Updates          int
	Epochs           int
	// Curves are the training figures (inline SVG), one per group of
	// metrics (losses, validation metrics).
	Curves []Figure
	// Last holds the last value of each metric column, for the summary.
	Last []KV
}

// KV is a named value for display.
type KV struct {
	Key, Value string
}

// Figure is one inline figure with its caption.
type Figure struct {
	Title, Caption string
	SVG            string // inline <svg> markup, or
	DataURI        string // a data: image
}

func readRun(dir string) (*Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("report: run folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("report: run folder %s: not a folder", dir)
	}
	r := &Run{Name: filepath.Base(filepath.Clean(dir)), Dir: dir}
	cfgPath := filepath.Join(dir, "config.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("report: run %s: %w (a cmrfm finetune or pretrain --out folder has one)", dir, err)
	}
	r.Config = string(b)
	var cfg struct {
		Task string `yaml:"task"`
		Mode string `yaml:"mode"`
		Data struct {
			Store   string   `yaml:"store"`
			Targets []string `yaml:"targets"`
		} `yaml:"data"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("report: %s: %w", cfgPath, err)
	}
	r.Kind, r.Task, r.Mode, r.Targets = "pretrain", "contrastive video–text", "", nil
	if cfg.Task != "" {
		r.Kind, r.Task, r.Mode, r.Targets = "finetune", cfg.Task, cfg.Mode, cfg.Data.Targets
	}
	if s := cfg.Data.Store; s != "" {
		r.Store = resolveNear(s, dir)
	}
	if ck := filepath.Join(dir, "checkpoints", "last.safetensors"); fileExists(ck) {
		r.Checkpoint = ck
	}
	rows, cols, err := readMetrics(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		return nil, err
	}
	if len(rows) > 0 {
		last := rows[len(rows)-1]
		r.Updates = int(last["step"])
		r.Epochs = int(last["epoch"]) + 1
		for _, c := range cols {
			if c == "step" || c == "epoch" {
				continue
			}
			for i := len(rows) - 1; i >= 0; i-- {
				if v, ok := rows[i][c]; ok {
					r.Last = append(r.Last, KV{c, fmtNum(v, 4)})
					break
				}
			}
		}
	}
	r.Curves, err = runFigures(r, rows, cols)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// resolveNear resolves a path written in a run's configuration: absolute
// paths as they are; relative ones against the working directory when they
// exist there, else against the run folder's parent (a run moved with its
// store).
func resolveNear(p, runDir string) string {
	if filepath.IsAbs(p) || fileExists(p) {
		return p
	}
	if q := filepath.Join(filepath.Dir(filepath.Clean(runDir)), p); fileExists(q) {
		return q
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// readMetrics reads a run's metrics.csv: one row per logged update, empty
// cells for metrics not logged then. A missing file is no metrics.
func readMetrics(path string) ([]map[string]float64, []string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("report: %s: %w", path, err)
	}
	var rows []map[string]float64
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("report: %s: %w", path, err)
		}
		row := map[string]float64{}
		for i, s := range rec {
			if i >= len(head) || strings.TrimSpace(s) == "" {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, nil, fmt.Errorf("report: %s line %d column %s: %q is not a number", path, line, head[i], s)
			}
			row[head[i]] = v
		}
		rows = append(rows, row)
	}
	return rows, head, nil
}

// Cohort describes the dataset index: studies per split, label
// prevalence (binary columns) or mean ± SD (numeric columns) per split.
type Cohort struct {
	Index   string
	Studies int
	Splits  []string
	Counts  []int // per split
	Binary  []LabelRow
	Numeric []LabelRow
	// Views counts the views found in the study files (when readable).
	Views      []KV
	ViewsRead  int
	ViewErrors int
}

// LabelRow is one label column across the splits.
type LabelRow struct {
	Name  string
	Cells []string // per split, then all
}

func readCohort(storeDir, index string) (*Cohort, error) {
	if index == "" {
		index = filepath.Join(storeDir, "index.csv")
	}
	f, err := os.Open(index)
	if err != nil {
		return nil, fmt.Errorf("report: dataset index: %w", err)
	}
	defer f.Close()
	idx, err := store.ReadIndex(f)
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", index, err)
	}
	c := &Cohort{Index: index, Studies: len(idx.Rows)}
	for _, s := range []string{"train", "val", "test", "external_test"} {
		if n := len(idx.Filter(s)); n > 0 {
			c.Splits = append(c.Splits, s)
			c.Counts = append(c.Counts, n)
		}
	}
	for _, col := range idx.Columns[3:] {
		if col == "vendor" || col == "site" {
			continue
		}
		binary, numeric := true, false
		for _, r := range idx.Rows {
			if v, ok := r.Float(col); ok {
				numeric = true
				if v != 0 && v != 1 {
					binary = false
				}
			}
		}
		if !numeric {
			continue
		}
		row := LabelRow{Name: col}
		for _, s := range append(slices.Clone(c.Splits), "") {
			rows := idx.Rows
			if s != "" {
				rows = idx.Filter(s)
			}
			var vs []float64
			for _, r := range rows {
				if v, ok := r.Float(col); ok {
					vs = append(vs, v)
				}
			}
			row.Cells = append(row.Cells, describe(vs, binary))
		}
		if binary {
			c.Binary = append(c.Binary, row)
		} else {
			c.Numeric = append(c.Numeric, row)
		}
	}
	if storeDir != "" {
		views := map[string]int{}
		for _, r := range idx.Rows {
			sf, err := store.Open(r.Path(storeDir))
			if err != nil {
				c.ViewErrors++
				continue
			}
			for _, n := range sf.Names() {
				views[n]++
			}
			sf.Close()
			c.ViewsRead++
		}
		for _, v := range []string{"4CH", "3CH", "2CH", "SAX"} {
			if n, ok := views[v]; ok {
				c.Views = append(c.Views, KV{v, strconv.Itoa(n)})
				delete(views, v)
			}
		}
		rest := make([]string, 0, len(views))
		for v := range views {
			rest = append(rest, v)
		}
		sort.Strings(rest)
		for _, v := range rest {
			c.Views = append(c.Views, KV{v, strconv.Itoa(views[v])})
		}
	}
	return c, nil
}

// describe summarises label values: "k / n (p %)" for binary columns,
// "mean ± SD (n)" for numeric ones.
func describe(vs []float64, binary bool) string {
	if len(vs) == 0 {
		return "—"
	}
	if binary {
		k := 0
		for _, v := range vs {
			if v == 1 {
				k++
			}
		}
		return fmt.Sprintf("%d / %d (%s %%)", k, len(vs), fmtNum(100*float64(k)/float64(len(vs)), 1))
	}
	var m float64
	for _, v := range vs {
		m += v
	}
	m /= float64(len(vs))
	var ss float64
	for _, v := range vs {
		ss += (v - m) * (v - m)
	}
	sd := 0.0
	if len(vs) > 1 {
		sd = math.Sqrt(ss / float64(len(vs)-1))
	}
	return fmt.Sprintf("%s ± %s (n %d)", fmtNum(m, 1), fmtNum(sd, 1), len(vs))
}

// Task is the evaluation of one target from one predictions table.
type Task struct {
	ID, Target, Kind string // Kind: "regression" or "classification"
	Pred, Baseline   string
	N                int
	Excluded         int // rows without a label, left out
	// Note says why a task has no statistics (too few labelled studies).
	Note  string
	Reg   *evaluate.RegTarget
	Class *evaluate.ClassTarget
	// Metrics is the headline table: one row per model.
	Metrics     []MetricRow
	MetricNames []string
	// Operating points (classification): one row per model and rule.
	Points  []PointRow
	Figures []Figure
	Studies StudyTable
	// Best and Worst are the extreme studies (by absolute error, or by
	// the distance of the probability from the label).
	Best, Worst []StudyRow
}

// MetricRow is one model's headline metrics.
type MetricRow struct {
	Model  string
	Values []string
}

// PointRow is one operating point of one model.
type PointRow struct {
	Model, Rule                                            string
	Threshold, Sens, Spec, Acc, PPV, NPV                   string
	ThresholdV, SensV, SpecV, AccV, PPVV, NPVV, Youden, Nn float64
}

// StudyTable lists every study of a predictions table.
type StudyTable struct {
	Columns []string
	Numeric []bool
	Rows    []StudyRow
}

// StudyRow is one study: cells as displayed, an optional link to its
// attention videos and a sort key for the extremes.
type StudyRow struct {
	Key   string
	Cells []string
	Link  string
	score float64
}

func readTask(name, pred, base string, o HTMLOptions, exp *explainOutputs) ([]*Task, error) {
	srcs, err := evaluate.FindSources(pred, name)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var bases map[string]string
	if base != "" {
		bs, err := evaluate.FindSources(base, "")
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		bases = map[string]string{}
		for _, b := range bs {
			bases[b.Target] = b.Path
		}
		if len(srcs) == 1 && len(bs) == 1 {
			bases[srcs[0].Target] = bs[0].Path
		}
	}
	var out []*Task
	for _, s := range srcs {
		tb, err := evaluate.ReadTable(s.Path)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		t := &Task{Target: s.Target, Pred: s.Path}
		if b, ok := bases[s.Target]; ok {
			t.Baseline = b
		} else if base != "" {
			return nil, fmt.Errorf("report: baseline %s has no table for target %s", base, s.Target)
		}
		if note := tb.TooFew("labels", slices.Contains(tb.Columns, "probs")); note != "" {
			t.Kind, t.Note = "regression", note
			if slices.Contains(tb.Columns, "probs") {
				t.Kind = "classification"
			}
			t.ID = "task-" + FileName(t.Target)
			if err := t.studies(tb, o, exp); err != nil {
				return nil, err
			}
			out = append(out, t)
			continue
		}
		switch {
		case slices.Contains(tb.Columns, "preds"):
			t.Kind = "regression"
			err = t.regression(o)
		case slices.Contains(tb.Columns, "probs"):
			t.Kind = "classification"
			err = t.classification(o)
		default:
			err = fmt.Errorf("report: %s: neither a preds (regression) nor a probs (classification) column: not a cmrfm predict table", s.Path)
		}
		if err != nil {
			return nil, err
		}
		t.ID = "task-" + FileName(t.Target)
		if err := t.studies(tb, o, exp); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (t *Task) regression(o HTMLOptions) error {
	rep, err := evaluate.Regress(evaluate.RegOptions{Pred: t.Pred, Baseline: t.Baseline, Target: t.Target})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	tg := rep.Targets[0]
	t.Reg = &tg
	t.N = tg.Pretrained.N
	t.MetricNames = []string{"n", "MAE", "RMSE", "Pearson r", "bias", "limits of agreement",
		fmt.Sprintf("AUROC (%s < %g)", t.Target, rep.Options.Cutoff)}
	row := func(name string, m *evaluate.RegModel) MetricRow {
		hf := "— (one class)"
		if m.HF != nil {
			hf = fmt.Sprintf("%s [%s, %s]", fmtNum(m.HFAUC, 3), fmtNum(m.HFLo, 3), fmtNum(m.HFHi, 3))
		}
		return MetricRow{Model: name, Values: []string{strconv.Itoa(m.N), fmtNum(m.MAE, 2), fmtNum(m.RMSE, 2),
			fmtNum(m.Pearson, 3), fmtNum(m.BA.Bias, 2),
			fmt.Sprintf("%s to %s", fmtNum(m.BA.Lower, 2), fmtNum(m.BA.Upper, 2)), hf}}
	}
	t.Metrics = append(t.Metrics, row(o.ModelName, &tg.Pretrained))
	models := []struct {
		name string
		m    *evaluate.RegModel
		col  int
	}{{o.ModelName, &tg.Pretrained, 0}}
	if tg.Baseline != nil {
		t.Metrics = append(t.Metrics, row(o.BaselineName, tg.Baseline))
		models = append(models, struct {
			name string
			m    *evaluate.RegModel
			col  int
		}{o.BaselineName, tg.Baseline, 1})
	}
	var hf []Curve
	for _, md := range models {
		col := PretrainedColor
		if md.col == 1 {
			col = BaselineColor
		}
		sc, err := ScatterPlot(fmt.Sprintf("%s: predicted vs reference (MAE %s)", md.name, fmtNum(md.m.MAE, 2)), t.Target, md.m.Pred, md.m.Truth, col)
		if err != nil {
			return err
		}
		if err := t.addPlot(sc, "scatter", "Each point is a study; the dashed line is perfect agreement."); err != nil {
			return err
		}
		ba, err := BlandAltmanPlot(fmt.Sprintf("%s: Bland–Altman (n = %d)", md.name, md.m.N), t.Target, md.m.BA, col)
		if err != nil {
			return err
		}
		if err := t.addPlot(ba, "bland-altman", "Difference against mean of each pair, with the bias, the 95 % limits of agreement and their confidence intervals."); err != nil {
			return err
		}
		if md.m.HF != nil {
			hf = append(hf, Curve{Label: md.name, ROC: md.m.HF, Lower: md.m.HFLo, Upper: md.m.HFHi, Color: col})
		}
	}
	if len(hf) > 0 {
		title := fmt.Sprintf("%s < %g from the predicted value", t.Target, rep.Options.Cutoff)
		if tg.HFTest != nil {
			title += " (DeLong p = " + pString(tg.HFTest.P) + ")"
		}
		p, err := ROCPlot(title, hf...)
		if err != nil {
			return err
		}
		if err := t.addPlot(p, "roc", fmt.Sprintf("Heart-failure outcome (%s < %g) predicted by the regression output.", t.Target, rep.Options.Cutoff)); err != nil {
			return err
		}
	}
	return nil
}

func (t *Task) classification(o HTMLOptions) error {
	rep, err := evaluate.Classify(evaluate.ClassOptions{Pred: t.Pred, Baseline: t.Baseline, Target: t.Target})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	tg := rep.Targets[0]
	t.Class = &tg
	t.N = tg.Pretrained.N
	t.MetricNames = []string{"n", "positives", "prevalence", "AUROC", "95 % CI (DeLong)"}
	row := func(name string, m *evaluate.ClassModel) MetricRow {
		return MetricRow{Model: name, Values: []string{strconv.Itoa(m.N), strconv.Itoa(m.Positives),
			fmtNum(100*m.Prevalence, 1) + " %", fmtNum(m.AUC, 3),
			fmt.Sprintf("%s – %s", fmtNum(m.Lower, 3), fmtNum(m.Upper, 3))}}
	}
	t.Metrics = append(t.Metrics, row(o.ModelName, &tg.Pretrained))
	curves := []Curve{{Label: o.ModelName, ROC: tg.Pretrained.ROC, Lower: tg.Pretrained.Lower, Upper: tg.Pretrained.Upper, Color: PretrainedColor}}
	t.points(o.ModelName, &tg.Pretrained, rep.Options)
	title := t.Target
	if tg.Baseline != nil {
		t.Metrics = append(t.Metrics, row(o.BaselineName, tg.Baseline))
		curves = append(curves, Curve{Label: o.BaselineName, ROC: tg.Baseline.ROC, Lower: tg.Baseline.Lower, Upper: tg.Baseline.Upper, Color: BaselineColor})
		t.points(o.BaselineName, tg.Baseline, rep.Options)
		if tg.Test != nil {
			title += " (DeLong p = " + pString(tg.Test.P) + ")"
		}
	}
	p, err := ROCPlot(title, curves...)
	if err != nil {
		return err
	}
	return t.addPlot(p, "roc", "ROC curve; the dot marks Youden's optimal threshold.")
}

func (t *Task) points(model string, m *evaluate.ClassModel, opt evaluate.ClassOptions) {
	add := func(rule string, c stats.Coords) {
		t.Points = append(t.Points, PointRow{Model: model, Rule: rule,
			Threshold: fmtNum(c.Threshold, 4), Sens: fmtNum(c.Sensitivity, 3), Spec: fmtNum(c.Specificity, 3),
			Acc: fmtNum(c.Accuracy, 3), PPV: fmtNum(c.PPV, 3), NPV: fmtNum(c.NPV, 3),
			ThresholdV: c.Threshold, SensV: c.Sensitivity, SpecV: c.Specificity, AccV: c.Accuracy, PPVV: c.PPV, NPVV: c.NPV})
	}
	if len(m.Youden) > 0 {
		add("Youden's J", m.Youden[0])
	}
	add(fmt.Sprintf("sensitivity ≥ %g", opt.MinSensitivity), m.AtSensitivity)
	add(fmt.Sprintf("specificity ≥ %g", opt.MinSpecificity), m.AtSpecificity)
}

func (t *Task) addPlot(p *plot.Plot, kind, caption string) error {
	svg, err := plotSVG(p, FigWidth, FigHeight)
	if err != nil {
		return err
	}
	t.Figures = append(t.Figures, Figure{Title: p.Title.Text, Caption: caption, SVG: svg})
	_ = kind
	return nil
}

// studies fills the per-study table from the predictions table: key,
// prediction, label, error (regression) or the distance of the probability
// from the label (classification), views and per-view attention.
func (t *Task) studies(tb *evaluate.Table, o HTMLOptions, exp *explainOutputs) error {
	col := func(name string) int { return slices.Index(tb.Columns, name) }
	key, lab := col("filenames"), col("labels")
	val := col("preds")
	valName := "prediction"
	if t.Kind == "classification" {
		val, valName = col("probs"), "probability"
	}
	if key < 0 || lab < 0 || val < 0 {
		return fmt.Errorf("report: %s: want columns filenames, labels and %s", t.Pred, tb.Columns[max(val, 0)])
	}
	var attn []int
	var views []string
	for i, c := range tb.Columns {
		if v, ok := strings.CutPrefix(c, "attn_"); ok {
			attn = append(attn, i)
			views = append(views, v)
		}
	}
	errName := "error"
	if t.Kind == "classification" {
		errName = "|p − label|"
	}
	t.Studies.Columns = append([]string{"study", valName, "label", errName}, prefixAll("attention ", views)...)
	t.Studies.Numeric = []bool{false, true, true, true}
	for range views {
		t.Studies.Numeric = append(t.Studies.Numeric, true)
	}
	errCol := col("error")
	for _, r := range tb.Rows {
		p, perr := strconv.ParseFloat(strings.TrimSpace(r[val]), 64)
		l, lerr := strconv.ParseFloat(strings.TrimSpace(r[lab]), 64)
		row := StudyRow{Key: r[key]}
		if errCol >= 0 && strings.TrimSpace(r[errCol]) != "" || perr != nil {
			t.Excluded++
			continue
		}
		e := "—"
		row.score = math.NaN()
		if lerr == nil {
			if t.Kind == "regression" {
				e = fmtNum(p-l, 2)
				row.score = math.Abs(p - l)
			} else {
				row.score = math.Abs(p - l)
				e = fmtNum(row.score, 3)
			}
		}
		lv := "—"
		if lerr == nil {
			lv = fmtNum(l, 2)
		}
		row.Cells = []string{r[key], fmtNum(p, 3), lv, e}
		for _, j := range attn {
			a := strings.TrimSpace(r[j])
			if a == "" {
				a = "—"
			} else if v, err := strconv.ParseFloat(a, 64); err == nil {
				a = fmtNum(v, 3)
			}
			row.Cells = append(row.Cells, a)
		}
		if exp != nil {
			row.Link = exp.studyLink(row.Key)
		}
		t.Studies.Rows = append(t.Studies.Rows, row)
	}
	ranked := slices.Clone(t.Studies.Rows)
	ranked = slices.DeleteFunc(ranked, func(r StudyRow) bool { return math.IsNaN(r.score) })
	sort.SliceStable(ranked, func(i, j int) bool { return ranked[i].score < ranked[j].score })
	k := min(o.Extremes, len(ranked)/2)
	t.Best = ranked[:k]
	for i := len(ranked) - 1; i >= len(ranked)-k; i-- {
		t.Worst = append(t.Worst, ranked[i])
	}
	return nil
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}
