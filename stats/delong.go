package stats

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// Var returns DeLong's estimate of the variance of the AUC,
//
//	S = S10/m + S01/n,  S10 = Σ_i (V10_i − AUC)² / (m−1),  S01 = Σ_j (V01_j − AUC)² / (n−1),
//
// with the placement values of Placements (pROC's var(roc, method="delong")).
// It is NaN when there is a single case or a single control.
func (r *ROC) Var() float64 {
	m, n := float64(len(r.x)), float64(len(r.y))
	s10 := sumSqDev(r.x, r.auc) / (m - 1)
	s01 := sumSqDev(r.y, r.auc) / (n - 1)
	return s10/m + s01/n
}

// CI returns DeLong's two-sided confidence interval of the AUC at the given
// level (0.95 for 95 %), clipped to [0, 1] as pROC's ci.auc does:
//
//	AUC + Φ⁻¹((1−level)/2)·√S,  AUC + Φ⁻¹((1+level)/2)·√S
//
// with S from Var. Both bounds are NaN when there is a single case or a
// single control. CI panics if level is not in (0, 1).
func (r *ROC) CI(level float64) (lo, hi float64) {
	checkLevel(level)
	if len(r.x) <= 1 || len(r.y) <= 1 {
		return math.NaN(), math.NaN()
	}
	sd := math.Sqrt(r.Var())
	// float64() keeps a*b+c from fusing, for bit-stable results on every
	// architecture (as gonum's stat does).
	lo = r.auc + float64(sd*mathext.NormalQuantile((1-level)/2))
	hi = r.auc + float64(sd*mathext.NormalQuantile(1-(1-level)/2))
	return clip01(lo), clip01(hi)
}

func clip01(v float64) float64 {
	switch {
	case v > 1:
		return 1
	case v < 0:
		return 0
	}
	return v
}

func checkLevel(level float64) {
	if !(level > 0 && level < 1) {
		panic(fmt.Sprintf("stats: confidence level %v not in (0, 1)", level))
	}
}

// Pairing chooses between DeLong's paired and unpaired comparison.
type Pairing int8

const (
	// PairAuto is pROC's rule (roc.test with paired=NULL): paired if and
	// only if the two label vectors are identical element by element.
	PairAuto Pairing = iota
	// Paired forces the paired test; Compare fails with ErrNotPaired if the
	// label vectors differ.
	Paired
	// Unpaired forces the unpaired test, even on paired data.
	Unpaired
)

// Test is the result of comparing two AUCs with DeLong's method
// (pROC's roc.test(roc1, roc2, method="delong")).
type Test struct {
	// Paired tells which test was run.
	Paired bool
	// Diff is AUC1 − AUC2.
	Diff float64
	// Statistic is Z (paired) or pROC's D, a Welch t (unpaired).
	Statistic float64
	// DF is the Welch–Satterthwaite degrees of freedom of the unpaired test,
	// NaN for the paired test.
	DF float64
	// P is the two-sided p-value: 2Φ(−|Z|) or 2·T_DF(−|D|).
	P float64
	// DiffLo and DiffHi bound the confidence interval of Diff given to
	// Compare (paired test only, as in pROC; NaN otherwise).
	DiffLo, DiffHi float64
}

// Compare tests whether two ROC curves have the same AUC, with DeLong's
// method as pROC 1.17–1.18 implements it. Each curve keeps its own
// direction. The paired test (same subjects, same labels) is
//
//	Z = (A1 − A2) / √(S1 + S2 − 2·C),  C = Σ_i (V10_1i − A1)(V10_2i − A2) / ((m−1)m) + Σ_j (V01_1j − A1)(V01_2j − A2) / ((n−1)n),
//
// with Z = 0 when both numerator and denominator are 0. The unpaired test is
//
//	D = (A1 − A2) / √(S1 + S2),  df = (S1 + S2)² / (S1²/(N1−1) + S2²/(N2−1)),
//
// with N the total number of observations of each curve, and p = 2·T_df(−|D|)
// from Student's t distribution. level is the confidence level of the
// difference's interval (paired only). Compare returns an error wrapping
// ErrNotPaired when pairing is Paired but the label vectors differ; it
// panics if level is not in (0, 1).
func Compare(r1, r2 *ROC, pairing Pairing, level float64) (Test, error) {
	checkLevel(level)
	paired := slices.Equal(r1.labels, r2.labels)
	switch pairing {
	case Paired:
		if !paired {
			return Test{}, fmt.Errorf("stats: paired DeLong test of %d and %d labels: %w", len(r1.labels), len(r2.labels), ErrNotPaired)
		}
	case Unpaired:
		paired = false
	case PairAuto:
	default:
		panic(fmt.Sprintf("stats: invalid pairing %d", pairing))
	}
	if paired {
		return pairedTest(r1, r2, level), nil
	}
	return unpairedTest(r1, r2), nil
}

func pairedTest(r1, r2 *ROC, level float64) Test {
	m, n := float64(len(r1.x)), float64(len(r1.y))
	// pROC's S = SX/m + SY/n as a 2×2 matrix, then sig² = Lᵀ S L with
	// L = (1, −1), evaluated in R's order.
	sx11 := sumSqDev(r1.x, r1.auc) / (m - 1)
	sx12 := sumCrossDev(r1.x, r1.auc, r2.x, r2.auc) / (m - 1)
	sx22 := sumSqDev(r2.x, r2.auc) / (m - 1)
	sy11 := sumSqDev(r1.y, r1.auc) / (n - 1)
	sy12 := sumCrossDev(r1.y, r1.auc, r2.y, r2.auc) / (n - 1)
	sy22 := sumSqDev(r2.y, r2.auc) / (n - 1)
	s11 := sx11/m + sy11/n
	s12 := sx12/m + sy12/n
	s22 := sx22/m + sy22/n
	sig := math.Sqrt((s11 - s12) - (s12 - s22))
	d := r1.auc - r2.auc
	z := d / sig
	if math.IsNaN(z) && d == 0 && sig == 0 {
		z = 0
	}
	q := mathext.NormalQuantile(1 - (1-level)/2)
	return Test{
		Paired:    true,
		Diff:      d,
		Statistic: z,
		DF:        math.NaN(),
		P:         math.Erfc(math.Abs(z) / math.Sqrt2), // = 2Φ(−|z|)
		DiffLo:    d - float64(q*sig),
		DiffHi:    d + float64(q*sig),
	}
}

func unpairedTest(r1, r2 *ROC) Test {
	s1, s2 := r1.Var(), r2.Var()
	n1 := float64(len(r1.x) + len(r1.y))
	n2 := float64(len(r2.x) + len(r2.y))
	d := r1.auc - r2.auc
	t := d / math.Sqrt(s1+s2)
	df := (s1 + s2) * (s1 + s2) / (float64(s1*s1)/(n1-1) + float64(s2*s2)/(n2-1))
	return Test{
		Diff:      d,
		Statistic: t,
		DF:        df,
		P:         studentTTwoSided(t, df),
		DiffLo:    math.NaN(),
		DiffHi:    math.NaN(),
	}
}
