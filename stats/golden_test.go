package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// The golden values in testdata/proc_golden.json come from R 4.2.2 with
// pROC 1.18.0 and epiR 2.0.57 (Debian 12), written by
// testdata/gen/stats/gen_proc.R (run testdata/gen/stats/gen_proc.sh).
//
// Tolerance: 1e-12 relative for every floating-point value (AUC, variance,
// CI bounds, placements, thresholds, rates, Z/D statistics, df and
// p-values); integer counts exactly. cmrfm and pROC evaluate the same
// formulas in the same order except for summation (R: 80-bit long double;
// cmrfm: compensated), so agreement is at the last few bits; 1e-12 leaves
// room for the incomplete-beta p-values only.
const goldenRel = 1e-12

// rnum is a number in the golden JSON: a JSON number, null (R's NA), or one
// of the strings "NaN", "Inf", "-Inf". NA and NaN both decode to NaN.
type rnum float64

func (r *rnum) UnmarshalJSON(b []byte) error {
	s := string(b)
	switch s {
	case "null", `"NaN"`:
		*r = rnum(math.NaN())
		return nil
	case `"Inf"`:
		*r = rnum(math.Inf(1))
		return nil
	case `"-Inf"`:
		*r = rnum(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("golden number %s: %w", s, err)
	}
	*r = rnum(v)
	return nil
}

func floats(x []rnum) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

type goldenCoords struct {
	Threshold, Sensitivity, Specificity, Accuracy, PPV, NPV rnum
	TP, FP, TN, FN                                          rnum
}

type goldenROC struct {
	Direction string
	AUC       rnum
	Var       rnum
	CI95      []rnum
	CI90      []rnum
	Points    map[string][]rnum
	Youden    []goldenCoords
	Sens90    goldenCoords
	Spec90    goldenCoords
	V10       []rnum
	V01       []rnum
}

type goldenTest struct {
	Error     string
	Method    string
	Statistic rnum
	DF        *rnum
	P         rnum
	ConfInt   []rnum `json:"conf_int"`
}

type goldenDataset struct {
	Labels    []int
	S1, S2    []rnum
	Direction string
	ROC1      goldenROC
	ROC2      goldenROC
	Paired    goldenTest
	Unpaired  goldenTest
}

type goldenBA struct {
	N                      int
	Bias, SD, Lower, Upper rnum
	BiasCI                 []rnum `json:"bias_ci"`
	LowerCI                []rnum `json:"lower_ci"`
	UpperCI                []rnum `json:"upper_ci"`
	EpiREst                rnum   `json:"epiR_est"`
	EpiRDeltaSD            rnum   `json:"epiR_delta_sd"`
}

type goldenRegression struct {
	MAE, MSE, RMSE, Pearson rnum
	BlandAltman             goldenBA `json:"bland_altman"`
	HFDirection             string   `json:"hf_direction"`
	HFCases                 int      `json:"hf_cases"`
	HFAUC                   rnum     `json:"hf_auc"`
	HFCI95                  []rnum   `json:"hf_ci95"`
}

type golden struct {
	Versions     map[string]string
	Datasets     map[string]goldenDataset
	UnpairedAuto struct {
		Flipped struct {
			Labels2 []int
			ROC2    goldenROC
			Test    goldenTest
		}
		OtherSize struct{ Test goldenTest } `json:"other_size"`
	} `json:"unpaired_auto"`
	BootstrapLargeS1 struct {
		BootN int    `json:"boot_n"`
		CI95  []rnum `json:"ci95"`
	} `json:"bootstrap_large_s1"`
	PtGrid     struct{ T, DF, P []rnum } `json:"pt_grid"`
	Regression struct {
		Truth, Pred, Baseline []rnum
		Pretrained            goldenRegression
		Kinetics              goldenRegression
		HFTest                goldenTest `json:"hf_test_baseline_minus_pretrained"`
	}
}

func loadGolden(t *testing.T) *golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "proc_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("proc_golden.json: %v", err)
	}
	if len(g.Datasets) == 0 {
		t.Fatal("proc_golden.json holds no data sets")
	}
	return &g
}

// close reports whether got equals want to rel relative error; NaN equals
// NaN and infinities must match exactly.
func close(got, want, rel float64) bool {
	switch {
	case math.IsNaN(want) || math.IsNaN(got):
		return math.IsNaN(want) && math.IsNaN(got)
	case got == want:
		return true
	case math.IsInf(want, 0) || math.IsInf(got, 0):
		return false
	}
	return math.Abs(got-want) <= rel*math.Max(math.Abs(got), math.Abs(want))
}

func checkClose(t *testing.T, what string, got, want float64) {
	t.Helper()
	if !close(got, want, goldenRel) {
		t.Errorf("%s = %.17g, pROC %.17g (rel. diff %.2g)", what, got, want, math.Abs(got-want)/math.Abs(want))
	}
}

func checkSlice(t *testing.T, what string, got []float64, want []rnum) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, pROC %d", what, len(got), len(want))
		return
	}
	bad := 0
	for i := range got {
		if !close(got[i], float64(want[i]), goldenRel) {
			if bad < 5 {
				t.Errorf("%s[%d] = %.17g, pROC %.17g", what, i, got[i], float64(want[i]))
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

func checkCoords(t *testing.T, what string, got Coords, want goldenCoords) {
	t.Helper()
	checkClose(t, what+".threshold", got.Threshold, float64(want.Threshold))
	checkClose(t, what+".sensitivity", got.Sensitivity, float64(want.Sensitivity))
	checkClose(t, what+".specificity", got.Specificity, float64(want.Specificity))
	checkClose(t, what+".accuracy", got.Accuracy, float64(want.Accuracy))
	checkClose(t, what+".ppv", got.PPV, float64(want.PPV))
	checkClose(t, what+".npv", got.NPV, float64(want.NPV))
	// pROC derives counts as se·ncases, so they carry rounding (61.00000000000001).
	for _, c := range []struct {
		name string
		got  int
		want rnum
	}{{"tp", got.TP, want.TP}, {"fp", got.FP, want.FP}, {"tn", got.TN, want.TN}, {"fn", got.FN, want.FN}} {
		if float64(c.got) != math.Round(float64(c.want)) {
			t.Errorf("%s.%s = %d, pROC %v", what, c.name, c.got, float64(c.want))
		}
	}
}

func labelsOf(y []int) []bool {
	out := make([]bool, len(y))
	for i, v := range y {
		out[i] = v == 1
	}
	return out
}

func mustROC(t *testing.T, scores []float64, labels []bool, dir string) *ROC {
	t.Helper()
	d, err := ParseDirection(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewROC(scores, labels, d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkROC(t *testing.T, r *ROC, want goldenROC) {
	t.Helper()
	if got := r.Direction().String(); got != want.Direction {
		t.Errorf("direction %s, pROC %s", got, want.Direction)
	}
	checkClose(t, "auc", r.AUC(), float64(want.AUC))
	checkClose(t, "var", r.Var(), float64(want.Var))
	lo, hi := r.CI(0.95)
	checkSlice(t, "ci95", []float64{lo, hi}, want.CI95)
	lo, hi = r.CI(0.90)
	checkSlice(t, "ci90", []float64{lo, hi}, want.CI90)

	pts := r.Points()
	col := func(f func(Coords) float64) []float64 {
		out := make([]float64, len(pts))
		for i, p := range pts {
			out[i] = f(p)
		}
		return out
	}
	checkSlice(t, "points.threshold", col(func(c Coords) float64 { return c.Threshold }), want.Points["threshold"])
	round := func(x []rnum) []rnum {
		out := make([]rnum, len(x))
		for i, v := range x {
			out[i] = rnum(math.Round(float64(v)))
		}
		return out
	}
	checkSlice(t, "points.tp", col(func(c Coords) float64 { return float64(c.TP) }), round(want.Points["tp"]))
	checkSlice(t, "points.fp", col(func(c Coords) float64 { return float64(c.FP) }), round(want.Points["fp"]))
	if _, ok := want.Points["sensitivity"]; ok {
		checkSlice(t, "points.sensitivity", col(func(c Coords) float64 { return c.Sensitivity }), want.Points["sensitivity"])
		checkSlice(t, "points.specificity", col(func(c Coords) float64 { return c.Specificity }), want.Points["specificity"])
		checkSlice(t, "points.accuracy", col(func(c Coords) float64 { return c.Accuracy }), want.Points["accuracy"])
		checkSlice(t, "points.ppv", col(func(c Coords) float64 { return c.PPV }), want.Points["ppv"])
		checkSlice(t, "points.npv", col(func(c Coords) float64 { return c.NPV }), want.Points["npv"])
		checkSlice(t, "points.tn", col(func(c Coords) float64 { return float64(c.TN) }), round(want.Points["tn"]))
		checkSlice(t, "points.fn", col(func(c Coords) float64 { return float64(c.FN) }), round(want.Points["fn"]))
	}

	yd := r.Youden()
	if len(yd) != len(want.Youden) {
		t.Errorf("Youden: %d points, pROC %d", len(yd), len(want.Youden))
	} else {
		for i := range yd {
			checkCoords(t, fmt.Sprintf("youden[%d]", i), yd[i], want.Youden[i])
		}
	}
	checkCoords(t, "sens90", r.AtSensitivity(0.9), want.Sens90)
	checkCoords(t, "spec90", r.AtSpecificity(0.9), want.Spec90)
	if want.V10 != nil {
		v10, v01 := r.Placements()
		checkSlice(t, "V10", v10, want.V10)
		checkSlice(t, "V01", v01, want.V01)
	}
}

func checkTest(t *testing.T, got Test, want goldenTest, paired bool) {
	t.Helper()
	if want.Error != "" {
		// pROC stops with an error where the statistic is undefined
		// (a single case: 0/0 variances); cmrfm answers NaN.
		if !math.IsNaN(got.Statistic) || !math.IsNaN(got.P) {
			t.Errorf("pROC fails (%s); got statistic %v, p %v, want NaN", want.Error, got.Statistic, got.P)
		}
		return
	}
	if got.Paired != paired {
		t.Errorf("paired = %v, want %v (%s)", got.Paired, paired, want.Method)
	}
	checkClose(t, "statistic", got.Statistic, float64(want.Statistic))
	checkClose(t, "p", got.P, float64(want.P))
	if want.DF != nil {
		checkClose(t, "df", got.DF, float64(*want.DF))
	} else if !math.IsNaN(got.DF) {
		t.Errorf("df = %v for a paired test, want NaN", got.DF)
	}
	if want.ConfInt != nil {
		checkSlice(t, "conf_int", []float64{got.DiffLo, got.DiffHi}, want.ConfInt)
	}
}

func TestGoldenPROC(t *testing.T) {
	g := loadGolden(t)
	t.Logf("golden values from R %s, pROC %s", g.Versions["R"], g.Versions["pROC"])
	names := make([]string, 0, len(g.Datasets))
	for name := range g.Datasets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		d := g.Datasets[name]
		t.Run(name, func(t *testing.T) {
			y := labelsOf(d.Labels)
			r1 := mustROC(t, floats(d.S1), y, d.Direction)
			r2 := mustROC(t, floats(d.S2), y, d.Direction)
			t.Run("roc1", func(t *testing.T) { checkROC(t, r1, d.ROC1) })
			t.Run("roc2", func(t *testing.T) { checkROC(t, r2, d.ROC2) })
			t.Run("paired", func(t *testing.T) {
				got, err := Compare(r1, r2, PairAuto, 0.95)
				if err != nil {
					t.Fatal(err)
				}
				checkTest(t, got, d.Paired, true)
			})
			t.Run("unpaired", func(t *testing.T) {
				got, err := Compare(r1, r2, Unpaired, 0.95)
				if err != nil {
					t.Fatal(err)
				}
				checkTest(t, got, d.Unpaired, false)
			})
		})
	}
}

func TestGoldenUnpairedAuto(t *testing.T) {
	g := loadGolden(t)
	large := g.Datasets["large"]
	ra := mustROC(t, floats(large.S1), labelsOf(large.Labels), "auto")
	rb := mustROC(t, floats(large.S2), labelsOf(g.UnpairedAuto.Flipped.Labels2), "auto")
	checkROC(t, rb, g.UnpairedAuto.Flipped.ROC2)
	// One flipped label makes pROC (and Compare with PairAuto) unpaired.
	got, err := Compare(rb, ra, PairAuto, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	checkTest(t, got, g.UnpairedAuto.Flipped.Test, false)
	if _, err := Compare(rb, ra, Paired, 0.95); err == nil {
		t.Error("forced paired test of different label vectors: no error")
	}

	ties := g.Datasets["ties40"]
	rc := mustROC(t, floats(ties.S2), labelsOf(ties.Labels), "auto")
	got, err = Compare(ra, rc, PairAuto, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	checkTest(t, got, g.UnpairedAuto.OtherSize.Test, false)
}

func TestGoldenRegression(t *testing.T) {
	g := loadGolden(t)
	truth := floats(g.Regression.Truth)
	for _, c := range []struct {
		name string
		pred []rnum
		want goldenRegression
	}{
		{"pretrained", g.Regression.Pred, g.Regression.Pretrained},
		{"kinetics", g.Regression.Baseline, g.Regression.Kinetics},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := floats(c.pred)
			checkClose(t, "MAE", MAE(p, truth), float64(c.want.MAE))
			checkClose(t, "MSE", MSE(p, truth), float64(c.want.MSE))
			checkClose(t, "RMSE", RMSE(p, truth), float64(c.want.RMSE))
			checkClose(t, "Pearson", Pearson(p, truth), float64(c.want.Pearson))
			ba := NewBlandAltman(p, truth)
			w := c.want.BlandAltman
			if ba.N != w.N {
				t.Errorf("N = %d, want %d", ba.N, w.N)
			}
			checkClose(t, "bias", ba.Bias, float64(w.Bias))
			checkClose(t, "bias (epiR)", ba.Bias, float64(w.EpiREst))
			checkClose(t, "SD", ba.SD, float64(w.SD))
			checkClose(t, "SD (epiR)", ba.SD, float64(w.EpiRDeltaSD))
			checkClose(t, "lower LoA", ba.Lower, float64(w.Lower))
			checkClose(t, "upper LoA", ba.Upper, float64(w.Upper))
			checkSlice(t, "bias CI", ba.BiasCI[:], w.BiasCI)
			checkSlice(t, "lower LoA CI", ba.LowerCI[:], w.LowerCI)
			checkSlice(t, "upper LoA CI", ba.UpperCI[:], w.UpperCI)

			hf, err := NewROC(p, BelowCutoff(truth, 40), Auto)
			if err != nil {
				t.Fatal(err)
			}
			if hf.Direction().String() != c.want.HFDirection || hf.NumCases() != c.want.HFCases {
				t.Errorf("HF ROC: direction %v with %d cases, pROC %s with %d", hf.Direction(), hf.NumCases(), c.want.HFDirection, c.want.HFCases)
			}
			checkClose(t, "HF AUC", hf.AUC(), float64(c.want.HFAUC))
			lo, hi := hf.CI(0.95)
			checkSlice(t, "HF CI", []float64{lo, hi}, c.want.HFCI95)
		})
	}
	hfP, _ := NewROC(floats(g.Regression.Pred), BelowCutoff(truth, 40), Auto)
	hfB, _ := NewROC(floats(g.Regression.Baseline), BelowCutoff(truth, 40), Auto)
	got, err := Compare(hfB, hfP, PairAuto, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	checkTest(t, got, g.Regression.HFTest, true)
}

func TestGoldenStudentT(t *testing.T) {
	g := loadGolden(t)
	for i := range g.PtGrid.T {
		tv, df := float64(g.PtGrid.T[i]), float64(g.PtGrid.DF[i])
		checkClose(t, fmt.Sprintf("2*pt(-%v, %v)", tv, df), studentTTwoSided(tv, df), float64(g.PtGrid.P[i]))
		checkClose(t, fmt.Sprintf("2*pt(%v, %v)", -tv, df), studentTTwoSided(-tv, df), float64(g.PtGrid.P[i]))
	}
}
