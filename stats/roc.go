package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Errors returned for data that a procedure cannot use. They are wrapped with
// the position of the offending value; test with errors.Is.
var (
	// ErrNonFinite reports a NaN or ±Inf score or measurement.
	ErrNonFinite = errors.New("value is not finite")
	// ErrOneClass reports labels that hold cases only or controls only.
	ErrOneClass = errors.New("labels hold a single class")
	// ErrNotPaired reports a paired comparison of two ROC curves whose label
	// vectors differ.
	ErrNotPaired = errors.New("label vectors differ, the ROC curves are not paired")
)

// Direction says which side of a threshold is called positive, in pROC's
// notation (roc(direction=...)).
type Direction int8

const (
	// Auto chooses Less when median(controls) ≤ median(cases) and Greater
	// otherwise: pROC's default, and the rule behind the paper's tables. It
	// does not guarantee AUC ≥ 0.5.
	Auto Direction = iota
	// Less ("<"): controls score lower than cases; a score s is positive at
	// threshold t when s ≥ t.
	Less
	// Greater (">"): controls score higher than cases; a score s is positive
	// at threshold t when s ≤ t. Equivalent to negating the scores.
	Greater
)

// String returns "auto", "<" or ">".
func (d Direction) String() string {
	switch d {
	case Auto:
		return "auto"
	case Less:
		return "<"
	case Greater:
		return ">"
	}
	return fmt.Sprintf("Direction(%d)", int8(d))
}

// ParseDirection parses "auto", "<" or ">".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "auto", "":
		return Auto, nil
	case "<":
		return Less, nil
	case ">":
		return Greater, nil
	}
	return Auto, fmt.Errorf("stats: direction %q: want auto, < or >", s)
}

// ROC is the empirical ROC curve of one binary classifier on one data set,
// pROC's roc object. It is immutable; build it with NewROC.
type ROC struct {
	dir      Direction
	labels   []bool    // input order, true = case
	cases    []float64 // case scores, input order
	controls []float64 // control scores, input order

	// The curve in pROC's order (coords(roc, "all")): specificity increasing,
	// sensitivity decreasing.
	thresholds []float64
	tp, fp     []int

	auc float64
	// DeLong placement values (structural components): x[i] = V10 of case i,
	// y[j] = V01 of control j, both in input order.
	x, y []float64
}

// NewROC builds the ROC curve of scores against labels (true = case,
// false = control) with pROC's rules: thresholds halfway between consecutive
// distinct scores plus −Inf and +Inf, and the AUC by Mann–Whitney with ties
// counted ½,
//
//	AUC = 1/(m·n) Σ_i Σ_j [ψ(x_i, y_j)],  ψ = 1 if the case is ranked above the control, ½ if tied, 0 otherwise,
//
// where x are the m case scores, y the n control scores, and "above" is
// x > y for Less and x < y for Greater. dir may be Auto (pROC's median rule).
//
// NewROC panics if the slices differ in length. It returns an error wrapping
// ErrNonFinite for a NaN or infinite score (pROC drops NAs and refuses
// infinities; cmrfm refuses both) and ErrOneClass when only one class is
// present. It runs in O(N log N) for N scores and copies its inputs.
func NewROC(scores []float64, labels []bool, dir Direction) (*ROC, error) {
	if len(scores) != len(labels) {
		panic(fmt.Sprintf("stats: %d scores but %d labels", len(scores), len(labels)))
	}
	if dir != Auto && dir != Less && dir != Greater {
		panic(fmt.Sprintf("stats: invalid %v", dir))
	}
	r := &ROC{labels: slices.Clone(labels)}
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("stats: score %d is %v: %w", i+1, s, ErrNonFinite)
		}
		if labels[i] {
			r.cases = append(r.cases, s)
		} else {
			r.controls = append(r.controls, s)
		}
	}
	if len(r.cases) == 0 || len(r.controls) == 0 {
		return nil, fmt.Errorf("stats: %d cases and %d controls: %w", len(r.cases), len(r.controls), ErrOneClass)
	}
	all := r.sorted()
	if dir == Auto {
		dir = Less
		if sortedMedian(all, false, len(r.controls)) > sortedMedian(all, true, len(r.cases)) {
			dir = Greater
		}
	}
	r.dir = dir
	r.build(all)
	return r, nil
}

// obs is one score with its class and its index within its class.
type obs struct {
	v    float64
	isCa bool
	idx  int32
}

// sorted returns every score with its class, in increasing score order.
func (r *ROC) sorted() []obs {
	all := make([]obs, 0, len(r.cases)+len(r.controls))
	for i, v := range r.cases {
		all = append(all, obs{v, true, int32(i)})
	}
	for j, v := range r.controls {
		all = append(all, obs{v, false, int32(j)})
	}
	// Scores are finite, so < is a strict weak order (no NaN).
	slices.SortFunc(all, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	return all
}

// sortedMedian returns R's median of the scores of one class (cases when
// isCase) from the sorted scores; count is the size of that class.
func sortedMedian(all []obs, isCase bool, count int) float64 {
	h := count / 2 // 0-based index of the upper middle value
	k := -1
	var prev float64
	for _, o := range all {
		if o.isCa != isCase {
			continue
		}
		k++
		if k == h {
			if count%2 == 1 {
				return o.v
			}
			return mid(prev, o.v)
		}
		prev = o.v
	}
	panic("stats: internal error: class count")
}

// build computes the placements, the AUC and the curve from the sorted scores.
func (r *ROC) build(all []obs) {
	m, n := len(r.cases), len(r.controls)

	// Groups of tied scores in increasing score order, with their class counts.
	type group struct {
		v          float64
		cases, ctl int
	}
	groups := make([]group, 0, len(all))
	for i := 0; i < len(all); {
		g := group{v: all[i].v}
		k := i
		for ; k < len(all) && all[k].v == g.v; k++ {
			if all[k].isCa {
				g.cases++
			} else {
				g.ctl++
			}
		}
		groups = append(groups, g)
		i = k
	}

	// Placement values (Sun and Xu 2014; pROC's delongPlacementsCpp): walking
	// the groups from the control side, a case's unnormalised placement is the
	// number of controls ranked below it plus half the tied ones, and a
	// control's is the number of cases ranked below it plus half the tied
	// ones. For Greater the walk runs from the highest score down, which is
	// pROC's negation of the scores.
	xy := make([]float64, len(all)) // by position in all
	pos := make([]int, len(groups)) // start of each group in all
	for gi, p := 1, groups[0].cases+groups[0].ctl; gi < len(groups); gi++ {
		pos[gi] = p
		p += groups[gi].cases + groups[gi].ctl
	}
	order := func(yield func(int) bool) {
		if r.dir == Greater {
			for gi := len(groups) - 1; gi >= 0; gi-- {
				if !yield(gi) {
					return
				}
			}
			return
		}
		for gi := range groups {
			if !yield(gi) {
				return
			}
		}
	}
	casesBelow, ctlBelow := 0, 0
	for gi := range order {
		g := groups[gi]
		for k := pos[gi]; k < pos[gi]+g.cases+g.ctl; k++ {
			if all[k].isCa {
				xy[k] = float64(ctlBelow) + float64(g.ctl)/2.0
			} else {
				xy[k] = float64(casesBelow) + float64(g.cases)/2.0
			}
		}
		casesBelow += g.cases
		ctlBelow += g.ctl
	}
	r.x = make([]float64, m)
	r.y = make([]float64, n)
	caseXY := make([]float64, m)
	for k, o := range all {
		if o.isCa {
			caseXY[o.idx] = xy[k]
			r.x[o.idx] = xy[k] / float64(n)
		} else {
			r.y[o.idx] = 1.0 - xy[k]/float64(m)
		}
	}
	// The sum of half-integers is exact, so the AUC does not depend on the
	// summation order; dividing by m, then n, is pROC's order.
	var sum float64
	for _, v := range caseXY {
		sum += v
	}
	r.auc = sum / float64(m) / float64(n)

	// The curve. Thresholds in increasing order: −Inf, midpoints, +Inf
	// (pROC's roc.utils.thresholds, including its guards against overflow
	// and against a midpoint that rounds onto one of its two neighbours).
	k := len(groups)
	thr := make([]float64, k+1)
	thr[0], thr[k] = math.Inf(-1), math.Inf(1)
	for i := 1; i < k; i++ {
		lo, hi := groups[i-1].v, groups[i].v
		t := (lo + hi) / 2
		if math.Abs(t) > 1e100 {
			t = lo/2 + hi/2
		}
		switch {
		case r.dir == Less && t == lo:
			t = hi
		case r.dir == Greater && t == hi:
			t = lo
		}
		thr[i] = t
	}
	// Point i (threshold thr[i]) counts the groups 0..i-1 as below it.
	tp := make([]int, k+1)
	fp := make([]int, k+1)
	ca, ct := 0, 0
	for i := 0; i <= k; i++ {
		if i > 0 {
			ca += groups[i-1].cases
			ct += groups[i-1].ctl
		}
		if r.dir == Less { // positive above the threshold
			tp[i], fp[i] = m-ca, n-ct
		} else { // positive below the threshold
			tp[i], fp[i] = ca, ct
		}
	}
	if r.dir == Greater { // pROC order: specificity increasing
		slices.Reverse(thr)
		slices.Reverse(tp)
		slices.Reverse(fp)
	}
	r.thresholds, r.tp, r.fp = thr, tp, fp
}

// Direction returns the direction in use (Less or Greater, never Auto).
func (r *ROC) Direction() Direction { return r.dir }

// AUC returns the area under the empirical ROC curve.
func (r *ROC) AUC() float64 { return r.auc }

// NumCases returns m, the number of cases (positives).
func (r *ROC) NumCases() int { return len(r.cases) }

// NumControls returns n, the number of controls (negatives).
func (r *ROC) NumControls() int { return len(r.controls) }

// Labels returns the labels in input order (a copy).
func (r *ROC) Labels() []bool { return slices.Clone(r.labels) }

// Placements returns DeLong's structural components, in input order within
// each class: for case i, V10_i = (rank_all(x_i) − rank_cases(x_i))/n, the
// fraction of controls ranked below it (ties ½); for control j,
// V01_j = 1 − (rank_all(y_j) − rank_controls(y_j))/m, the fraction of cases
// ranked above it. Ranks are midranks. Both average to the AUC.
func (r *ROC) Placements() (v10, v01 []float64) {
	return slices.Clone(r.x), slices.Clone(r.y)
}

// mid is R's mean of two values, as median uses it for an even count.
func mid(a, b float64) float64 {
	if m := (a + b) / 2; !math.IsInf(m, 0) {
		return m
	}
	return a/2 + b/2
}
