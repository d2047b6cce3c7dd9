package stats

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// Bootstrap configures a bootstrap confidence interval. The zero value is
// pROC's default number of resamples with seed 0.
type Bootstrap struct {
	// Reps is the number of resamples; 0 means 2000 (pROC's boot.n).
	Reps int
	// Seed seeds the PCG generator (math/rand/v2): equal seeds give equal
	// intervals on every platform. There is no unseeded mode.
	Seed uint64
}

// BootstrapCI returns the stratified percentile bootstrap confidence
// interval of the AUC, as pROC's ci.auc(method="bootstrap",
// boot.stratified=TRUE) computes it: each resample draws m cases from the
// cases and n controls from the controls with replacement, keeps the
// curve's direction, and computes the AUC; the bounds are R's type-7
// quantiles (1−level)/2 and (1+level)/2 of the resampled AUCs. The numbers
// differ from R's, whose random streams cmrfm does not reproduce; the
// distribution is the same. BootstrapCI panics if level is not in (0, 1) or
// Reps is negative.
func (r *ROC) BootstrapCI(level float64, b Bootstrap) (lo, hi float64) {
	checkLevel(level)
	if b.Reps < 0 {
		panic("stats: negative bootstrap Reps")
	}
	reps := b.Reps
	if reps == 0 {
		reps = 2000
	}
	rng := rand.New(rand.NewPCG(b.Seed, 0x636d72666d)) // "cmrfm"
	m, n := len(r.cases), len(r.controls)
	cases := make([]float64, m)
	controls := make([]float64, n)
	work := make([]obs, m+n)
	aucs := make([]float64, reps)
	for k := range aucs {
		for i := range cases {
			cases[i] = r.cases[rng.IntN(m)]
		}
		for j := range controls {
			controls[j] = r.controls[rng.IntN(n)]
		}
		aucs[k] = mannWhitney(cases, controls, r.dir, work)
	}
	slices.Sort(aucs)
	return quantile7(aucs, (1-level)/2), quantile7(aucs, 1-(1-level)/2)
}

// mannWhitney returns the AUC of cases against controls in direction dir
// (Less or Greater), with ties counted ½; work holds len(cases)+len(controls)
// elements.
func mannWhitney(cases, controls []float64, dir Direction, work []obs) float64 {
	work = work[:0]
	for _, v := range cases {
		work = append(work, obs{v: v, isCa: true})
	}
	for _, v := range controls {
		work = append(work, obs{v: v})
	}
	slices.SortFunc(work, func(a, b obs) int { return cmp.Compare(a.v, b.v) })
	// Count, for every case, the controls strictly below it plus half the
	// tied ones (Less); for Greater, the controls strictly above it.
	var twice int64 // 2·Σ placements, exact
	below := 0
	for i := 0; i < len(work); {
		k, ca, ct := i, 0, 0
		for ; k < len(work) && work[k].v == work[i].v; k++ {
			if work[k].isCa {
				ca++
			} else {
				ct++
			}
		}
		if dir == Greater {
			above := len(controls) - below - ct
			twice += int64(ca) * int64(2*above+ct)
		} else {
			twice += int64(ca) * int64(2*below+ct)
		}
		below += ct
		i = k
	}
	return float64(twice) / 2 / float64(len(cases)) / float64(len(controls))
}

// quantile7 is R's default quantile (type 7) of sorted x at probability p.
func quantile7(x []float64, p float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	h := float64(len(x)-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(x) || x[i+1] == x[i] {
		return x[i]
	}
	f := h - lo
	return float64((1-f)*x[i]) + float64(f*x[i+1])
}
