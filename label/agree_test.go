package label

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestStatsMatchReferences checks Cohen's κ against scikit-learn's
// cohen_kappa_score and the Wilson intervals against R's
// prop.test(correct = FALSE) on the tables of
// testdata/gen/label/agree_golden.py.
func TestStatsMatchReferences(t *testing.T) {
	f, err := os.Open("testdata/agree_golden.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	num := func(s string) float64 {
		if s == "NA" || s == "nan" {
			return math.NaN()
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	same := func(what string, got, want float64) {
		t.Helper()
		if math.IsNaN(want) != math.IsNaN(got) || !math.IsNaN(want) && math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	for i, r := range rows[1:] {
		c := make([]int, 4)
		for k := range c {
			c[k], _ = strconv.Atoi(r[k])
		}
		tp, fp, fn, tn := c[0], c[1], c[2], c[3]
		name := "table " + strings.Join(r[:4], ",") + " (row " + strconv.Itoa(i+2) + ")"
		same(name+" kappa", CohenKappa(tp, fp, fn, tn), num(r[4]))
		_, lo, hi := Proportion(tp, tp+fn)
		same(name+" sensitivity lo", lo, num(r[5]))
		same(name+" sensitivity hi", hi, num(r[6]))
		_, lo, hi = Proportion(tn, tn+fp)
		same(name+" specificity lo", lo, num(r[7]))
		same(name+" specificity hi", hi, num(r[8]))
	}
}

// TestAgreeCounts builds a table by hand: keys missing on either side,
// failed cells, uncertain answers under each mapping, and the disagreeing
// keys.
func TestAgreeCounts(t *testing.T) {
	pred, err := readTable(strings.NewReader(`study_key,status,error,dcm,dcm_evidence
a,ok,,present,x
b,ok,,absent,
c,ok,,uncertain,y
d,failed,boom,,
e,ok,,present,z
f,ok,,absent,
`), "pred", "")
	if err != nil {
		t.Fatal(err)
	}
	truth, err := readTable(strings.NewReader("study_key,dcm\na,1\nb,1\nc,1\nd,0\ne,0\ng,1\n"), "truth", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		unc            string
		n, tp, fp, fn  int
		tn             int
		disagree       string
		predUncertain  int
		predMiss, tMis int
	}{
		{"drop", 3, 1, 1, 1, 0, "b e", 1, 2, 1},
		{"1", 4, 2, 1, 1, 0, "b e", 1, 2, 1},
		{"0", 4, 1, 1, 2, 0, "b c e", 1, 2, 1},
	} {
		as, err := Agree(pred, truth, AgreeOptions{Uncertain: tc.unc})
		if err != nil {
			t.Fatal(err)
		}
		a := as[0]
		if a.N != tc.n || a.TP != tc.tp || a.FP != tc.fp || a.FN != tc.fn || a.TN != tc.tn || strings.Join(a.Disagree, " ") != tc.disagree ||
			a.PredUncertain != tc.predUncertain || a.PredMissing != tc.predMiss || a.TruthMissing != tc.tMis {
			t.Errorf("uncertain=%s: got %+v", tc.unc, a)
		}
	}
	if _, err := Agree(pred, truth, AgreeOptions{Labels: []string{"hcm"}}); err == nil || !strings.Contains(err.Error(), `no column "hcm"`) {
		t.Errorf("unknown label: %v", err)
	}
	bad, _ := readTable(strings.NewReader("study_key,dcm\na,maybe-not\n"), "bad", "")
	if _, err := Agree(pred, bad, AgreeOptions{}); err == nil || !strings.Contains(err.Error(), "maybe-not") {
		t.Errorf("bad truth cell: %v", err)
	}
}
