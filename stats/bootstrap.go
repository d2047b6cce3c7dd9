package stats

import (
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
	// Sort the controls once (in the direction's order) and place every case
	// among them: below = controls strictly below, upto = controls below or tied.
	// A resample is then a multiset of control positions and of cases, and
	// its AUC needs only prefix sums: O(m + n) per resample, no sorting.
	sign := 1.0
	if r.dir == Greater {
		sign = -1
	}
	m, n := len(r.cases), len(r.controls)
	ctl := make([]float64, n)
	for j, v := range r.controls {
		ctl[j] = sign * v
	}
	slices.Sort(ctl)
	below := make([]int32, m)
	upto := make([]int32, m)
	for i, v := range r.cases {
		v *= sign
		l, _ := slices.BinarySearch(ctl, v)
		h := l
		for h < n && ctl[h] == v {
			h++
		}
		below[i], upto[i] = int32(l), int32(h)
	}
	cum := make([]int64, n+1)
	aucs := make([]float64, reps)
	for k := range aucs {
		clear(cum)
		for range n {
			cum[rng.IntN(n)+1]++
		}
		for j := 1; j <= n; j++ {
			cum[j] += cum[j-1]
		}
		var twice int64 // 2·Σ placements, exact
		for range m {
			i := rng.IntN(m)
			twice += cum[below[i]] + cum[upto[i]]
		}
		aucs[k] = float64(twice) / 2 / float64(m) / float64(n)
	}
	slices.Sort(aucs)
	return quantile7(aucs, (1-level)/2), quantile7(aucs, 1-(1-level)/2)
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
