package evaluate

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testdata: ../testdata/evaluate holds small prediction tables and
// ../testdata/evaluate_golden.json what R pROC 1.18.0 / epiR 2.0.57 compute
// for them, both written by testdata/gen/stats/gen_proc.R. The CSVs cmrfm
// writes hold 15 significant digits; values must agree to 1e-12 relative.
const goldenRel = 1e-12

const testdata = "../testdata"

type rnum float64

func (r *rnum) UnmarshalJSON(b []byte) error {
	switch s := string(b); s {
	case "null", `"NaN"`:
		*r = rnum(math.NaN())
	case `"Inf"`:
		*r = rnum(math.Inf(1))
	case `"-Inf"`:
		*r = rnum(math.Inf(-1))
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		*r = rnum(v)
	}
	return nil
}

type gCoords struct {
	Threshold, Sensitivity, Specificity, Accuracy, PPV, NPV, TP, FP, TN, FN rnum
}

type gModel struct {
	Direction string
	AUC       rnum
	CI95      []rnum
	Youden    []gCoords
	Sens90    gCoords
	Spec90    gCoords
}

type gTest struct {
	Statistic rnum
	DF        *rnum
	P         rnum
	ConfInt   []rnum `json:"conf_int"`
}

type gReg struct {
	MAE, MSE, RMSE, Pearson rnum
	BlandAltman             struct {
		N                        int
		Bias, SD, Lower, Upper   rnum
		BiasCI, LowerCI, UpperCI []rnum
	} `json:"bland_altman"`
	HFDirection string `json:"hf_direction"`
	HFCases     int    `json:"hf_cases"`
	HFAUC       rnum   `json:"hf_auc"`
	HFCI95      []rnum `json:"hf_ci95"`
}

type evalGolden struct {
	Classification map[string]struct {
		Prevalence           rnum
		Pretrained, Baseline gModel
		Test                 gTest
	}
	Regression struct {
		Pretrained, Baseline gReg
		HFTest               gTest `json:"hf_test"`
	}
}

func loadEvalGolden(t *testing.T) *evalGolden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "evaluate_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g evalGolden
	// The JSON keys bias_ci etc. map onto BiasCI by case-insensitive match
	// only after removing underscores; decode through a generic pass.
	b = bytes.ReplaceAll(b, []byte(`"bias_ci"`), []byte(`"biasci"`))
	b = bytes.ReplaceAll(b, []byte(`"lower_ci"`), []byte(`"lowerci"`))
	b = bytes.ReplaceAll(b, []byte(`"upper_ci"`), []byte(`"upperci"`))
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Classification) == 0 {
		t.Fatal("evaluate_golden.json: no classification targets")
	}
	return &g
}

// csvRows parses a CSV written by cmrfm into maps keyed by column name.
func csvRows(t *testing.T, b []byte) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for i, rec := range recs[1:] {
		if rec[0] != strconv.Itoa(i+1) {
			t.Errorf("row %d has row name %q", i+1, rec[0])
		}
		m := map[string]string{}
		for j, c := range recs[0] {
			m[c] = rec[j]
		}
		out = append(out, m)
	}
	return out
}

func checkNum(t *testing.T, what, got string, want rnum) {
	t.Helper()
	w := float64(want)
	if got == "NA" {
		if !math.IsNaN(w) {
			t.Errorf("%s = NA, R %v", what, w)
		}
		return
	}
	g, err := strconv.ParseFloat(got, 64)
	if err != nil {
		t.Errorf("%s = %q, not a number", what, got)
		return
	}
	if g != w && !(math.Abs(g-w) <= goldenRel*math.Max(math.Abs(g), math.Abs(w))) {
		t.Errorf("%s = %s, R %.17g", what, got, w)
	}
}

func TestClassifyGolden(t *testing.T) {
	g := loadEvalGolden(t)
	dir := filepath.Join(testdata, "evaluate", "classification")
	rep, err := Classify(ClassOptions{Pred: filepath.Join(dir, "pretrained"), Baseline: filepath.Join(dir, "baseline")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != len(g.Classification) {
		t.Fatalf("%d targets, R %d", len(rep.Targets), len(g.Classification))
	}
	var res, thr, tests, prev bytes.Buffer
	for _, w := range []struct {
		f   func(*bytes.Buffer) error
		buf *bytes.Buffer
	}{
		{func(b *bytes.Buffer) error { return rep.WriteResults(b) }, &res},
		{func(b *bytes.Buffer) error { return rep.WriteThresholds(b) }, &thr},
		{func(b *bytes.Buffer) error { return rep.WriteTests(b) }, &tests},
		{func(b *bytes.Buffer) error { return rep.WritePrevalence(b) }, &prev},
	} {
		if err := w.f(w.buf); err != nil {
			t.Fatal(err)
		}
	}
	resRows := csvRows(t, res.Bytes())
	if len(resRows) != len(g.Classification) {
		t.Fatalf("results: %d rows, want %d", len(resRows), len(g.Classification))
	}
	for _, row := range resRows {
		want, ok := g.Classification[row["target"]]
		if !ok {
			t.Fatalf("unexpected target %q", row["target"])
		}
		for _, m := range []struct {
			sfx string
			g   gModel
		}{{"_baseline", want.Baseline}, {"_pretrained", want.Pretrained}} {
			checkNum(t, row["target"]+" auc"+m.sfx, row["auc"+m.sfx], m.g.AUC)
			checkNum(t, row["target"]+" lower"+m.sfx, row["lower"+m.sfx], m.g.CI95[0])
			checkNum(t, row["target"]+" upper"+m.sfx, row["upper"+m.sfx], m.g.CI95[1])
		}
		checkNum(t, row["target"]+" p_val", row["p_val"], want.Test.P)
	}
	for _, row := range csvRows(t, tests.Bytes()) {
		want := g.Classification[row["target"]]
		checkNum(t, row["target"]+" statistic", row["statistic"], want.Test.Statistic)
		df := rnum(math.NaN())
		if want.Test.DF != nil {
			df = *want.Test.DF
		}
		checkNum(t, row["target"]+" df", row["df"], df)
		if paired := strings.HasPrefix(row["test"], "paired"); paired != (want.Test.DF == nil) {
			t.Errorf("%s: test %q, R paired = %v", row["target"], row["test"], want.Test.DF == nil)
		}
		if want.Test.ConfInt != nil {
			checkNum(t, row["target"]+" difference_lower", row["difference_lower"], want.Test.ConfInt[0])
			checkNum(t, row["target"]+" difference_upper", row["difference_upper"], want.Test.ConfInt[1])
		}
		if row["direction_pretrained"] != want.Pretrained.Direction || row["direction_baseline"] != want.Baseline.Direction {
			t.Errorf("%s: directions %s/%s, R %s/%s", row["target"], row["direction_pretrained"], row["direction_baseline"], want.Pretrained.Direction, want.Baseline.Direction)
		}
	}
	for _, row := range csvRows(t, prev.Bytes()) {
		checkNum(t, row["target"]+" prevalence", row["prevalence"], g.Classification[row["target"]].Prevalence)
	}
	// Thresholds: every Youden point (ties included), then the two fixed points.
	seen := map[string]int{}
	for _, row := range csvRows(t, thr.Bytes()) {
		want := g.Classification[row["target"]]
		m := want.Pretrained
		if row["model"] == "baseline" {
			m = want.Baseline
		}
		var c gCoords
		switch crit := row["criterion"]; crit {
		case "youden":
			k := seen[row["target"]+row["model"]]
			seen[row["target"]+row["model"]]++
			if k >= len(m.Youden) {
				t.Errorf("%s %s: more Youden points than R's %d", row["target"], row["model"], len(m.Youden))
				continue
			}
			c = m.Youden[k]
		case "sensitivity>=0.9":
			c = m.Sens90
		case "specificity>=0.9":
			c = m.Spec90
		default:
			t.Fatalf("criterion %q", crit)
		}
		what := fmt.Sprintf("%s %s %s", row["target"], row["model"], row["criterion"])
		for k, v := range map[string]rnum{"threshold": c.Threshold, "sensitivity": c.Sensitivity, "specificity": c.Specificity,
			"accuracy": c.Accuracy, "ppv": c.PPV, "npv": c.NPV} {
			checkNum(t, what+" "+k, row[k], v)
		}
		for k, v := range map[string]rnum{"tp": c.TP, "fp": c.FP, "tn": c.TN, "fn": c.FN} {
			if row[k] != strconv.Itoa(int(math.Round(float64(v)))) {
				t.Errorf("%s %s = %s, R %v", what, k, row[k], float64(v))
			}
		}
	}
	for tg, w := range g.Classification {
		if seen[tg+"pretrained"] != len(w.Pretrained.Youden) || seen[tg+"baseline"] != len(w.Baseline.Youden) {
			t.Errorf("%s: %d/%d Youden points, R %d/%d", tg, seen[tg+"pretrained"], seen[tg+"baseline"], len(w.Pretrained.Youden), len(w.Baseline.Youden))
		}
	}
}

func TestRegressGolden(t *testing.T) {
	g := loadEvalGolden(t)
	dir := filepath.Join(testdata, "evaluate", "regression")
	rep, err := Regress(RegOptions{
		Pred:     filepath.Join(dir, "pretrained_final_results.table.json"),
		Baseline: filepath.Join(dir, "baseline_final_results.table.json"),
		Target:   "LVEF",
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteResults(&buf); err != nil {
		t.Fatal(err)
	}
	rows := csvRows(t, buf.Bytes())
	if len(rows) != 1 || rows[0]["target"] != "LVEF" {
		t.Fatalf("rows %v", rows)
	}
	row := rows[0]
	for _, m := range []struct {
		sfx string
		g   gReg
	}{{"_baseline", g.Regression.Baseline}, {"_pretrained", g.Regression.Pretrained}} {
		ba := m.g.BlandAltman
		for k, v := range map[string]rnum{
			"mae": m.g.MAE, "mse": m.g.MSE, "rmse": m.g.RMSE, "pearson_r": m.g.Pearson,
			"n": rnum(ba.N), "bias": ba.Bias, "sd_difference": ba.SD, "loa_lower": ba.Lower, "loa_upper": ba.Upper,
			"bias_lower": ba.BiasCI[0], "bias_upper": ba.BiasCI[1],
			"loa_lower_lower": ba.LowerCI[0], "loa_lower_upper": ba.LowerCI[1],
			"loa_upper_lower": ba.UpperCI[0], "loa_upper_upper": ba.UpperCI[1],
			"hf_cases": rnum(m.g.HFCases), "hf_auc": m.g.HFAUC, "hf_lower": m.g.HFCI95[0], "hf_upper": m.g.HFCI95[1],
		} {
			checkNum(t, k+m.sfx, row[k+m.sfx], v)
		}
		if row["hf_direction"+m.sfx] != m.g.HFDirection {
			t.Errorf("hf_direction%s = %s, R %s", m.sfx, row["hf_direction"+m.sfx], m.g.HFDirection)
		}
	}
	checkNum(t, "hf_p_val", row["hf_p_val"], g.Regression.HFTest.P)
	if !rep.Targets[0].HFTest.Paired {
		t.Error("HF test unpaired; the two tables share their labels")
	}

	// The CSV export of the same pretrained table gives the same numbers.
	csvRep, err := Regress(RegOptions{Pred: filepath.Join(dir, "pretrained_final_results.csv"), Target: "LVEF"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := rep.Targets[0].Pretrained, csvRep.Targets[0].Pretrained
	if a.MAE != b.MAE || a.BA.Upper != b.BA.Upper || a.HFAUC != b.HFAUC || a.Pearson != b.Pearson {
		t.Errorf("CSV and W&B JSON readers disagree: %+v vs %+v", a.BA, b.BA)
	}
}

// writeFile writes a test input under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := `{"columns": ["filenames", "probs", "labels"], "data": [["a.h5", "0.2", "0"], ["b.h5", "0.7", "1"], ["c.h5", "0.4", "0"]]}`
	for _, c := range []struct {
		name, file, content string
		want                []string // substrings of the error
	}{
		{"non-numeric", "x.table.json", strings.Replace(good, `"0.7"`, `"high"`, 1), []string{"x.table.json", "row 2", `column "probs"`, `"high" is not a number`}},
		{"NaN", "x.table.json", strings.Replace(good, `"0.4"`, `"NaN"`, 1), []string{"row 3", `column "probs"`, "not finite"}},
		{"Inf", "x.csv", "filenames,probs,labels\na,0.1,0\nb,Inf,1\n", []string{"x.csv", "row 2", `column "probs"`, "not finite"}},
		{"no usable row", "x.csv", "filenames,probs,labels,error\na,,0,\nb,0.9,,\nc,0.5,1,unreadable\n", []string{"x.csv", "no row has both a label and a prediction (1 without a label, 2 without a prediction)"}},
		{"bad label", "x.table.json", strings.Replace(good, `"1"]`, `"2"]`, 1), []string{"row 2", `column "labels"`, `"2" is not a 0/1 label`}},
		{"single class", "x.table.json", strings.Replace(good, `"1"]`, `"0"]`, 1), []string{"x.table.json", `column "labels"`, "0 of 3 rows are positive"}},
		{"short row", "x.table.json", strings.Replace(good, `, "1"]`, `]`, 1), []string{"row 2 has 2 cells for 3 columns"}},
		{"short CSV row", "x.csv", "filenames,probs,labels\na,0.1,0\nb,0.9\n", []string{"x.csv", "row 2 (line 3) has 2 cells for 3 columns"}},
		{"nrows", "x.table.json", strings.Replace(good, `]]}`, `]], "nrows": 4}`, 1), []string{`"nrows" is 4 but "data" holds 3 rows`}},
		{"no column", "x.table.json", strings.Replace(good, `"probs"`, `"prob"`, 1), []string{`no column "probs"`, "filenames, prob, labels"}},
		{"not JSON", "x.table.json", `{"columns": [`, []string{"x.table.json", "not a W&B table"}},
		{"extension", "x.txt", "a", []string{"x.txt", "want a W&B table"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, filepath.Join(dir, c.name), c.file, c.content)
			_, err := Classify(ClassOptions{Pred: p})
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrBadTable) {
				t.Errorf("error %v does not wrap ErrBadTable", err)
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}

	// Folder layouts: a target without a table, a target with two, and a
	// pretrained target missing from the baseline folder.
	root := filepath.Join(dir, "folders")
	writeFile(t, root, "pred/A/final_test_output.table.json", good)
	writeFile(t, root, "pred/B/final_test_output.table.json", good)
	writeFile(t, root, "base/A/final_test_output.table.json", good)
	writeFile(t, root, "base/C/final_test_output.table.json", good)
	_, err := Classify(ClassOptions{Pred: filepath.Join(root, "pred"), Baseline: filepath.Join(root, "base")})
	if err == nil || !strings.Contains(err.Error(), `target "B"`) || !strings.Contains(err.Error(), "has no baseline") {
		t.Errorf("missing baseline target: %v", err)
	}
	writeFile(t, root, "two/A/one.table.json", good)
	writeFile(t, root, "two/A/two.csv", "x")
	if _, err := Classify(ClassOptions{Pred: filepath.Join(root, "two")}); err == nil || !strings.Contains(err.Error(), "2 tables for target") {
		t.Errorf("two tables: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "none", "A"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Classify(ClassOptions{Pred: filepath.Join(root, "none")}); err == nil || !strings.Contains(err.Error(), "no prediction table") {
		t.Errorf("no table: %v", err)
	}
	if _, err := Classify(ClassOptions{Pred: filepath.Join(root, "missing")}); err == nil {
		t.Error("missing path: no error")
	}

	// Regression: non-numeric prediction.
	p := writeFile(t, dir, "reg.csv", "filenames,preds,labels\na,55.2,60\nb,n/a,35\n")
	if _, err := Regress(RegOptions{Pred: p}); err == nil || !strings.Contains(err.Error(), `row 2, column "preds"`) {
		t.Errorf("regression bad cell: %v", err)
	}
	// Regression where no label is below the cut-off: the AUROC is NA, not an error.
	p = writeFile(t, dir, "reg2.csv", "filenames,preds,labels\na,55.2,60\nb,50,45\nc,61,58\n")
	rep, err := Regress(RegOptions{Pred: p})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.WriteResults(&buf)
	if row := csvRows(t, buf.Bytes())[0]; row["hf_auc"] != "NA" || row["hf_cases"] != "0" || row["hf_direction"] != "NA" {
		t.Errorf("no case below the cut-off: hf_auc %s, hf_cases %s", row["hf_auc"], row["hf_cases"])
	}
}

func TestFindSourcesOrder(t *testing.T) {
	dir := t.TempDir()
	good := "filenames,probs,labels\na,0.1,0\nb,0.9,1\n"
	for _, n := range []string{"LV.Non.Compaction", "Left.Atrial.Dilation", "Large.Pericardial.Effusion", "Lipomatous.Atrial.Wall", "Amyloid"} {
		writeFile(t, dir, n+"/t.csv", good)
	}
	src, err := FindSources(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range src {
		got = append(got, s.Target)
	}
	// The paper CSVs' order (R's sort in an English locale).
	want := "Amyloid Large.Pericardial.Effusion Left.Atrial.Dilation Lipomatous.Atrial.Wall LV.Non.Compaction"
	if strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
	one, err := FindSources(filepath.Join(dir, "Amyloid", "t.csv"), "")
	if err != nil || one[0].Target != "t" {
		t.Errorf("single file: %v %v", one, err)
	}
	if tableStem("final_test_output.table.json") != "final_test_output" {
		t.Error("tableStem")
	}
}

func TestFormatR(t *testing.T) {
	// Expected strings: R 4.2.2, write.csv(data.frame(x = c(...))).
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0.19031154324329, "0.19031154324329"},
		{1, "1"},
		{0, "0"},
		{1218, "1218"},
		{-0.5, "-0.5"},
		{9.39848155756528e-06, "9.39848155756528e-06"},
		{0.000337521383373622, "0.000337521383373622"},
		{1e15, "1e+15"},
		{123456.7890123456789, "123456.789012346"},
		{1.5e-300, "1.5e-300"},
		{0.1 + 0.2, "0.3"},
		{math.NaN(), "NA"},
		{math.Inf(1), "Inf"},
		{math.Inf(-1), "-Inf"},
	} {
		if got := FormatR(c.v); got != c.want {
			t.Errorf("FormatR(%v) = %s, want %s", c.v, got, c.want)
		}
	}
}

// TestExcludedRows: rows without a label, without a prediction, or with an
// error from cmrfm predict are left out of the statistics and counted; the
// result is the table's without them.
func TestExcludedRows(t *testing.T) {
	dir := t.TempDir()
	clean := "filenames,probs,labels,error\na,0.2,0,\nb,0.7,1,\nc,0.4,0,\nd,0.9,1,\n"
	dirty := clean + "e,0.3,,\nf,,1,\ng,0.5,NA,\nh,0.6,0,cannot read the study\n"
	want, err := Classify(ClassOptions{Pred: writeFile(t, filepath.Join(dir, "clean"), "x.csv", clean)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Classify(ClassOptions{Pred: writeFile(t, filepath.Join(dir, "dirty"), "x.csv", dirty)})
	if err != nil {
		t.Fatal(err)
	}
	w, g := want.Targets[0].Pretrained, got.Targets[0].Pretrained
	if g.N != 4 || g.AUC != w.AUC || g.Lower != w.Lower || g.Excluded != (Excluded{NoLabel: 2, NoPrediction: 2}) {
		t.Errorf("got N %d AUC %g excluded %+v; want N 4 AUC %g, 2 without a label, 2 without a prediction", g.N, g.AUC, g.Excluded, w.AUC)
	}
	rclean := "filenames,preds,labels\na,50,55\nb,30,35\nc,61,60\n"
	rdirty := rclean + "d,40,\ne,,45\n"
	rw, err := Regress(RegOptions{Pred: writeFile(t, filepath.Join(dir, "rclean"), "x.csv", rclean), Cutoff: 40})
	if err != nil {
		t.Fatal(err)
	}
	rg, err := Regress(RegOptions{Pred: writeFile(t, filepath.Join(dir, "rdirty"), "x.csv", rdirty), Cutoff: 40})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := rw.Targets[0].Pretrained, rg.Targets[0].Pretrained; b.N != 3 || b.MAE != a.MAE || b.Excluded != (Excluded{NoLabel: 1, NoPrediction: 1}) {
		t.Errorf("regression: N %d MAE %g excluded %+v; want 3, %g, 1 and 1", b.N, b.MAE, b.Excluded, a.MAE)
	}
}

// TestTooFew: a table is scorable with two labelled rows (and both classes
// for binary labels); otherwise TooFew says why.
func TestTooFew(t *testing.T) {
	tb := func(labels ...string) *Table {
		out := &Table{Columns: []string{"probs", "labels"}}
		for _, l := range labels {
			out.Rows = append(out.Rows, []string{"0.5", l})
		}
		return out
	}
	cases := []struct {
		t      *Table
		binary bool
		want   string
	}{
		{tb("1", "0"), true, ""},
		{tb("55.2", "61"), false, ""},
		{tb("1"), true, "1 labelled studies"},
		{tb("1", ""), false, "1 labelled studies"},
		{tb("1", "1", "1"), true, "one class"},
		{tb("0", "0"), true, "one class"},
		{tb("1", "1"), false, ""},
	}
	for i, c := range cases {
		got := c.t.TooFew("labels", c.binary)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("case %d: TooFew = %q, want %q", i, got, c.want)
		}
	}
}
