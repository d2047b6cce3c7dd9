package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// naivePlacements computes DeLong's placements from the O(m·n) definition,
// an oracle independent of the sort-based implementation.
func naivePlacements(scores []float64, labels []bool, dir Direction) (auc float64, v10, v01 []float64) {
	var cases, controls []float64
	for i, s := range scores {
		if dir == Greater {
			s = -s
		}
		if labels[i] {
			cases = append(cases, s)
		} else {
			controls = append(controls, s)
		}
	}
	psi := func(x, y float64) float64 {
		switch {
		case x > y:
			return 1
		case x == y:
			return 0.5
		}
		return 0
	}
	v10 = make([]float64, len(cases))
	v01 = make([]float64, len(controls))
	for i, x := range cases {
		for j, y := range controls {
			p := psi(x, y)
			v10[i] += p
			v01[j] += p
			auc += p
		}
	}
	for i := range v10 {
		v10[i] /= float64(len(controls))
	}
	for j := range v01 {
		v01[j] /= float64(len(cases))
	}
	return auc / float64(len(cases)) / float64(len(controls)), v10, v01
}

func randomData(rng *rand.Rand, n int, prev, shift float64, decimals int) ([]float64, []bool) {
	scores := make([]float64, n)
	labels := make([]bool, n)
	scale := math.Pow(10, float64(decimals))
	for i := range scores {
		labels[i] = rng.Float64() < prev
		s := rng.NormFloat64()
		if labels[i] {
			s += shift
		}
		scores[i] = math.Round(s*scale) / scale
	}
	labels[0], labels[1] = false, true // both classes
	return scores, labels
}

func TestPlacementsMatchPairwiseDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 200; k++ {
		n := 2 + rng.IntN(80)
		scores, labels := randomData(rng, n, 0.4, rng.NormFloat64(), rng.IntN(3)) // 0–2 decimals: heavy ties
		for _, dir := range []Direction{Less, Greater} {
			r, err := NewROC(scores, labels, dir)
			if err != nil {
				t.Fatal(err)
			}
			auc, v10, v01 := naivePlacements(scores, labels, dir)
			g10, g01 := r.Placements()
			if !close(r.AUC(), auc, 1e-14) {
				t.Fatalf("case %d %v: AUC %v, pairwise %v", k, dir, r.AUC(), auc)
			}
			for i := range v10 {
				if !close(g10[i], v10[i], 1e-14) {
					t.Fatalf("case %d %v: V10[%d] %v, pairwise %v", k, dir, i, g10[i], v10[i])
				}
			}
			for j := range v01 {
				if !close(g01[j], v01[j], 1e-14) {
					t.Fatalf("case %d %v: V01[%d] %v, pairwise %v", k, dir, j, g01[j], v01[j])
				}
			}
		}
	}
}

func TestDirectionRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	scores, labels := randomData(rng, 300, 0.3, -0.8, 1)
	neg := make([]float64, len(scores))
	for i, s := range scores {
		neg[i] = -s
	}
	auto, _ := NewROC(scores, labels, Auto)
	if auto.Direction() != Greater {
		t.Fatalf("controls score higher, Auto chose %v", auto.Direction())
	}
	less, _ := NewROC(scores, labels, Less)
	gr, _ := NewROC(scores, labels, Greater)
	flipped, _ := NewROC(neg, labels, Less)
	if gr.AUC() != flipped.AUC() || gr.Var() != flipped.Var() {
		t.Errorf("Greater on s: AUC %v var %v; Less on −s: AUC %v var %v", gr.AUC(), gr.Var(), flipped.AUC(), flipped.Var())
	}
	if !close(less.AUC()+gr.AUC(), 1, 1e-15) {
		t.Errorf("AUC(<) + AUC(>) = %v, want 1", less.AUC()+gr.AUC())
	}
	// A monotone transform changes neither the AUC nor its variance.
	exp := make([]float64, len(scores))
	for i, s := range scores {
		exp[i] = math.Exp(s)
	}
	e, _ := NewROC(exp, labels, Auto)
	if e.AUC() != auto.AUC() || e.Var() != auto.Var() {
		t.Errorf("exp(s): AUC %v var %v; s: %v %v", e.AUC(), e.Var(), auto.AUC(), auto.Var())
	}
}

func TestCurveInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	scores, labels := randomData(rng, 500, 0.2, 1, 1)
	for _, dir := range []Direction{Less, Greater} {
		r, _ := NewROC(scores, labels, dir)
		pts := r.Points()
		first, last := pts[0], pts[len(pts)-1]
		if first.Sensitivity != 1 || first.Specificity != 0 || last.Sensitivity != 0 || last.Specificity != 1 {
			t.Errorf("%v: curve runs from (%v, %v) to (%v, %v)", dir, first.Sensitivity, first.Specificity, last.Sensitivity, last.Specificity)
		}
		// Trapezoidal area under the points = Mann–Whitney AUC.
		var area float64
		for i := 1; i < len(pts); i++ {
			area += (pts[i].Specificity - pts[i-1].Specificity) * (pts[i].Sensitivity + pts[i-1].Sensitivity) / 2
			if pts[i].Specificity < pts[i-1].Specificity || pts[i].Sensitivity > pts[i-1].Sensitivity {
				t.Fatalf("%v: point %d is not monotone", dir, i)
			}
			if pts[i].TP+pts[i].FN != r.NumCases() || pts[i].FP+pts[i].TN != r.NumControls() {
				t.Fatalf("%v: point %d: counts do not add up", dir, i)
			}
		}
		if !close(area, r.AUC(), 1e-13) {
			t.Errorf("%v: trapezoid %v, AUC %v", dir, area, r.AUC())
		}
		// Each threshold classifies the scores as its counts say.
		for _, p := range pts[1 : len(pts)-1] {
			tp, fp := 0, 0
			for i, s := range scores {
				pos := s >= p.Threshold
				if dir == Greater {
					pos = s <= p.Threshold
				}
				if pos && labels[i] {
					tp++
				} else if pos {
					fp++
				}
			}
			if tp != p.TP || fp != p.FP {
				t.Fatalf("%v: threshold %v: counts TP %d FP %d, point says %d %d", dir, p.Threshold, tp, fp, p.TP, p.FP)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		name   string
		scores []float64
		labels []bool
		err    error
		msg    string
	}{
		{"NaN", []float64{0.1, math.NaN(), 0.3}, []bool{false, true, true}, ErrNonFinite, "score 2"},
		{"Inf", []float64{0.1, 0.2, math.Inf(1)}, []bool{false, true, true}, ErrNonFinite, "score 3"},
		{"cases only", []float64{0.1, 0.2}, []bool{true, true}, ErrOneClass, "2 cases and 0 controls"},
		{"controls only", []float64{0.1}, []bool{false}, ErrOneClass, "0 cases and 1 controls"},
		{"empty", nil, nil, ErrOneClass, "0 cases and 0 controls"},
	} {
		_, err := NewROC(c.scores, c.labels, Auto)
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want %v mentioning %q", c.name, err, c.err, c.msg)
		}
	}
	mustPanic(t, "length mismatch", func() { NewROC([]float64{1, 2}, []bool{true}, Auto) })
	r, _ := NewROC([]float64{1, 2}, []bool{false, true}, Auto)
	mustPanic(t, "level 1", func() { r.CI(1) })
	mustPanic(t, "level NaN", func() { r.CI(math.NaN()) })
	mustPanic(t, "min sensitivity 1.5", func() { r.AtSensitivity(1.5) })
	mustPanic(t, "MAE length", func() { MAE([]float64{1}, nil) })
	if _, err := ParseDirection("up"); err == nil {
		t.Error(`ParseDirection("up"): no error`)
	}
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		v := recover()
		if v == nil {
			t.Errorf("%s: no panic", what)
		} else if s, ok := v.(string); !ok || !strings.HasPrefix(s, "stats: ") {
			t.Errorf("%s: panic %v, want a \"stats: \" message", what, v)
		}
	}()
	f()
}

func TestInputsNotModified(t *testing.T) {
	scores := []float64{0.3, 0.1, 0.2, 0.4}
	labels := []bool{true, false, false, true}
	r, _ := NewROC(scores, labels, Auto)
	if scores[0] != 0.3 || scores[1] != 0.1 || !labels[0] {
		t.Error("NewROC modified its inputs")
	}
	scores[0] = -9
	if r.AUC() != 1 || r.Points()[2].Threshold != 0.25 {
		t.Error("ROC shares memory with the caller's slice")
	}
}

func TestBootstrap(t *testing.T) {
	g := loadGolden(t)
	large := g.Datasets["large"]
	r := mustROC(t, floats(large.S1), labelsOf(large.Labels), "auto")
	b := Bootstrap{Seed: 42}
	lo, hi := r.BootstrapCI(0.95, b)
	lo2, hi2 := r.BootstrapCI(0.95, b)
	if lo != lo2 || hi != hi2 {
		t.Fatalf("same seed, different intervals: [%v, %v] and [%v, %v]", lo, hi, lo2, hi2)
	}
	if l3, h3 := r.BootstrapCI(0.95, Bootstrap{Seed: 43}); l3 == lo && h3 == hi {
		t.Error("seeds 42 and 43 give identical intervals")
	}
	if !(lo < r.AUC() && r.AUC() < hi) {
		t.Errorf("AUC %v outside its bootstrap interval [%v, %v]", r.AUC(), lo, hi)
	}
	// pROC's interval on the same data (its own random stream, 2000
	// resamples). The Monte-Carlo error of a 2.5 % quantile from 2000
	// resamples is about 0.003 here; 0.01 allows three such errors.
	want := g.BootstrapLargeS1.CI95
	if math.Abs(lo-float64(want[0])) > 0.01 || math.Abs(hi-float64(want[1])) > 0.01 {
		t.Errorf("bootstrap [%v, %v], pROC [%v, %v]", lo, hi, float64(want[0]), float64(want[1]))
	}
	// And near DeLong's interval, which estimates the same variance.
	dlo, dhi := r.CI(0.95)
	if math.Abs(lo-dlo) > 0.015 || math.Abs(hi-dhi) > 0.015 {
		t.Errorf("bootstrap [%v, %v], DeLong [%v, %v]", lo, hi, dlo, dhi)
	}
	// The resampled AUCs centre on the AUC: their median (a 2 % interval
	// around it) lies within 0.005.
	if l, h := r.BootstrapCI(0.02, b); math.Abs(l-r.AUC()) > 0.005 || math.Abs(h-r.AUC()) > 0.005 {
		t.Errorf("central 2 %% of bootstrap AUCs [%v, %v], AUC %v", l, h, r.AUC())
	}
	// Resampled AUCs equal the Mann–Whitney AUC: with every draw identical
	// to the data (one case, one control) the interval is the AUC itself.
	// Every resample of these data has the same AUC, so the interval is
	// that AUC: strict order, all ties, perfect separation with '>'.
	for _, c := range []struct {
		scores []float64
		labels []bool
		want   float64
	}{
		{[]float64{0.2, 0.7}, []bool{false, true}, 1},
		{[]float64{3, 3, 3, 3, 3}, []bool{false, true, false, true, true}, 0.5},
		{[]float64{9, 8, 7, 3, 2, 1}, []bool{false, false, false, true, true, true}, 1},
	} {
		r, _ := NewROC(c.scores, c.labels, Auto)
		if l, h := r.BootstrapCI(0.9, Bootstrap{Reps: 50}); l != c.want || h != c.want {
			t.Errorf("%v: bootstrap [%v, %v], want [%v, %v]", c.scores, l, h, c.want, c.want)
		}
	}
}

func TestQuantile7(t *testing.T) {
	// R: quantile(c(1, 2, 4, 8, 16), c(0, 0.1, 0.5, 0.975, 1)) = 1, 1.4, 4, 15.2, 16.
	x := []float64{1, 2, 4, 8, 16}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {0.1, 1.4}, {0.5, 4}, {0.975, 15.2}, {1, 16}} {
		if got := quantile7(x, c.p); !close(got, c.want, 1e-15) {
			t.Errorf("quantile7(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestLnBeta(t *testing.T) {
	// Values from mpmath (50 digits): log(beta(a, b)).
	for _, c := range []struct{ a, b, want float64 }{
		{0.5, 0.5, 1.1447298858494002}, // ln π
		{1122.55, 0.5, -2.9392027844915557},
		{25000, 0.5, -4.4909456090004691},
		{20, 30, -33.968820791977383},
	} {
		if got := lnBeta(c.a, c.b); !close(got, c.want, 1e-14) {
			t.Errorf("lnBeta(%v, %v) = %.17g, want %.17g", c.a, c.b, got, c.want)
		}
	}
}
