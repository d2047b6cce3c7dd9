package retrieval

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// Hit is one search result: a row of the indexed set and its cosine
// similarity to the query.
type Hit struct {
	Row   int
	Score float32
}

// better orders hits: higher score first, then lower row (so equal scores
// come out in row order, deterministically).
func better(a, b Hit) bool { return a.Score > b.Score || (a.Score == b.Score && a.Row < b.Row) }

// Index is an exact cosine-similarity search over a fixed set of vectors.
//
// Every vector is normalised to unit length (a zero vector stays zero and
// scores 0), so the score of row i for a query q is the float32 dot
// product dotF32(x_i, q/‖q‖) — the same number BruteForce computes. Search
// returns exactly BruteForce's top k (same rows, same scores, same order)
// but reads a quarter of the memory: a first pass scores every row from
// int8 codes (x_i ≈ s_i·c_i, one scale per row; the query is coded in
// int16) with an error bound per row,
//
//	|x·q − s_x s_q (c_x·c_q)| ≤ ‖x̂‖‖e_q‖ + ‖e_x‖‖q‖ + γ_d‖x‖‖q‖
//
// (x̂ = s_x c_x, e_x = x − x̂, likewise for q; γ_d = (d+8)·2⁻²³ covers the
// rounding of the float32 dot product), takes L = the k-th largest lower
// bound, and rescores in float32 only the rows whose upper bound reaches
// L — which provably include every row of the exact top k, ties included.
// A set where many rows lie within the bound of the k-th score (near
// duplicates, a collapsed model) only makes the second pass longer, never
// the answer different.
//
// An Index is safe for concurrent searches.
type Index struct {
	n, d, dp int
	vecs     []float32 // n×d, unit rows
	codes    []int8    // n×dp, zero-padded
	scale    []float32 // s_i
	hatNorm  []float32 // ‖x̂_i‖
	errNorm  []float32 // ‖e_i‖ + γ_d‖x_i‖
	// Workers is the number of goroutines a search uses (default: every
	// CPU; sets smaller than 8,192 rows use one).
	Workers int
}

// codeAlign is the padding of the int8 codes (the kernels' stride).
const codeAlign = 32

// NewIndex indexes n vectors of width d (row-major). The vectors are
// copied and normalised; a NaN or infinite value is an error naming the
// row.
func NewIndex(vecs []float32, n, d int) (*Index, error) {
	if n < 0 || d <= 0 || len(vecs) != n*d {
		return nil, fmt.Errorf("retrieval: index: %d values for %d vectors of width %d", len(vecs), n, d)
	}
	dp := (d + codeAlign - 1) / codeAlign * codeAlign
	x := &Index{n: n, d: d, dp: dp, vecs: make([]float32, n*d), codes: make([]int8, n*dp),
		scale: make([]float32, n), hatNorm: make([]float32, n), errNorm: make([]float32, n)}
	var wg sync.WaitGroup
	errs := make([]error, n)
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w * n / workers; i < (w+1)*n/workers; i++ { // contiguous rows: no false sharing
				errs[i] = x.setRow(i, vecs[i*d:(i+1)*d])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return x, nil
}

// setRow normalises and codes row i.
func (x *Index) setRow(i int, v []float32) error {
	ss := 0.0
	for j, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return fmt.Errorf("retrieval: index: vector %d, value %d is %g", i, j, f)
		}
		ss += float64(f) * float64(f)
	}
	row := x.vecs[i*x.d : (i+1)*x.d]
	if ss > 0 {
		inv := 1 / math.Sqrt(ss)
		for j, f := range v {
			row[j] = float32(float64(f) * inv)
		}
	}
	s, hat, e, nrm := quantize(row, 127, x.codes[i*x.dp:i*x.dp+x.d])
	// errNorm also carries γ_d‖x‖, the float32 dot product's rounding.
	gamma := float64(x.d+8) * math.Ldexp(1, -23)
	x.scale[i], x.hatNorm[i], x.errNorm[i] = float32(s), roundUp(hat), roundUp(e+gamma*nrm)
	return nil
}

// quantize codes v with one symmetric scale so that the largest |value|
// maps to limit, writing the codes into codes (int8 or int16), and
// returns the scale, the codes' reconstruction norm ‖s·c‖, the error norm
// ‖v − s·c‖ and ‖v‖ (all in float64, from the float32 values).
func quantize[T int8 | int16](v []float32, limit float64, codes []T) (scale, hat, errNorm, norm float64) {
	m := 0.0
	for _, f := range v {
		m = max(m, math.Abs(float64(f)))
	}
	if m == 0 {
		clear(codes)
		return 0, 0, 0, 0
	}
	scale = m / limit
	var hh, ee, nn float64
	for j, f := range v {
		q := math.Round(float64(f) / scale)
		q = max(-limit, min(limit, q))
		codes[j] = T(q)
		r := q * scale
		hh += r * r
		ee += (float64(f) - r) * (float64(f) - r)
		nn += float64(f) * float64(f)
	}
	return scale, math.Sqrt(hh), math.Sqrt(ee), math.Sqrt(nn)
}

// Len is the number of indexed vectors, Dim their width.
func (x *Index) Len() int { return x.n }

// Dim is the vectors' width.
func (x *Index) Dim() int { return x.d }

// Vector returns row i as indexed (normalised); do not modify it.
func (x *Index) Vector(i int) []float32 { return x.vecs[i*x.d : (i+1)*x.d] }

// SearchStats describes one search.
type SearchStats struct {
	// Candidates is the number of rows rescored in float32 (the exact
	// top k is among them).
	Candidates int
}

func (x *Index) workers() int {
	w := x.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	if x.n < 8192 {
		w = 1
	}
	return max(1, min(w, x.n))
}

// query normalises q and checks its width.
func (x *Index) query(q []float32) ([]float32, error) {
	if len(q) != x.d {
		return nil, fmt.Errorf("retrieval: search: query of width %d, the index holds width %d", len(q), x.d)
	}
	ss := 0.0
	for j, f := range q {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, fmt.Errorf("retrieval: search: query value %d is %g", j, f)
		}
		ss += float64(f) * float64(f)
	}
	out := make([]float32, x.d)
	if ss > 0 {
		inv := 1 / math.Sqrt(ss)
		for j, f := range q {
			out[j] = float32(float64(f) * inv)
		}
	}
	return out, nil
}

// BruteForce scores every row in float32 and returns the best k (all rows
// when k ≥ Len), best first: the reference Search must equal.
func (x *Index) BruteForce(q []float32, k int) ([]Hit, error) {
	qn, err := x.query(q)
	if err != nil {
		return nil, err
	}
	k = min(k, x.n)
	if k <= 0 {
		return nil, nil
	}
	w := x.workers()
	tops := make([]*topK, w)
	var wg sync.WaitGroup
	for g := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := newTopK(k)
			lo, hi := g*x.n/w, (g+1)*x.n/w
			for i := lo; i < hi; i++ {
				t.push(Hit{Row: i, Score: dotF32(x.vecs[i*x.d:(i+1)*x.d], qn)})
			}
			tops[g] = t
		}()
	}
	wg.Wait()
	return mergeTop(tops, k), nil
}

// Search returns the k rows most similar to q (all rows when k ≥ Len),
// best first, exactly as BruteForce would.
func (x *Index) Search(q []float32, k int) ([]Hit, error) {
	h, _, err := x.SearchWithStats(q, k)
	return h, err
}

// SearchWithStats is Search that also says how many rows were rescored.
func (x *Index) SearchWithStats(q []float32, k int) ([]Hit, SearchStats, error) {
	qn, err := x.query(q)
	if err != nil {
		return nil, SearchStats{}, err
	}
	k = min(k, x.n)
	if k <= 0 {
		return nil, SearchStats{}, nil
	}
	// The query in int16 codes: as fine as the int32 sums allow
	// (dp·127·limit < 2³¹).
	limit := math.Min(32767, math.Floor(float64(math.MaxInt32)/(127*float64(x.dp))))
	qc := make([]int16, x.dp)
	sq, _, qerr, qnorm := quantize(qn, limit, qc[:x.d])
	sqf, qerrf, qnormf := float32(sq), roundUp(qerr), roundUp(qnorm)

	// Pass 1, per worker: score every row from the codes, bound it, keep
	// the k largest lower bounds, and keep as candidates the rows whose
	// upper bound reaches the worker's running k-th lower bound (never
	// above the final L, so no row of the top k is dropped).
	w := x.workers()
	type cand struct {
		row int
		ub  float32
	}
	lows := make([]*topK, w)
	cands := make([][]cand, w)
	var wg sync.WaitGroup
	for g := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := newTopK(k)
			var cs []cand
			thr := float32(math.Inf(-1))
			lo, hi := g*x.n/w, (g+1)*x.n/w
			codes, dp := x.codes, x.dp
			for i := lo; i < hi; i++ {
				dot := dotI8(codes[i*dp:(i+1)*dp], qc)
				a := x.scale[i] * sqf * float32(dot)
				b := x.hatNorm[i]*qerrf + x.errNorm[i]*qnormf
				m := (abs32(a) + b) * 2e-6 // every float32 rounding above, with room to spare
				u, l := a+b+m, a-b-m
				if u < thr {
					continue
				}
				cs = append(cs, cand{i, u})
				if l > thr || len(t.h) < k {
					t.push(Hit{Row: i, Score: l})
					if len(t.h) == k {
						thr = t.h[0].Score
					}
				}
			}
			lows[g], cands[g] = t, cs
		}()
	}
	wg.Wait()
	low := mergeTop(lows, k)
	L := low[len(low)-1].Score

	// Pass 2: rescore in float32 the candidates whose bound reaches L.
	tops := make([]*topK, w)
	counts := make([]int, w)
	for g := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := newTopK(k)
			for _, c := range cands[g] {
				if c.ub >= L {
					counts[g]++
					t.push(Hit{Row: c.row, Score: dotF32(x.vecs[c.row*x.d:(c.row+1)*x.d], qn)})
				}
			}
			tops[g] = t
		}()
	}
	wg.Wait()
	st := SearchStats{}
	for _, c := range counts {
		st.Candidates += c
	}
	return mergeTop(tops, k), st, nil
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// roundDown and roundUp round a float64 bound to a float32 on its safe
// side.
func roundDown(v float64) float32 {
	f := float32(v)
	if float64(f) > v {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

func roundUp(v float64) float32 {
	f := float32(v)
	if float64(f) < v {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}

// topK keeps the k best hits seen (a min-heap on better: the worst kept
// hit at the root).
type topK struct {
	k int
	h []Hit
}

func newTopK(k int) *topK { return &topK{k: k, h: make([]Hit, 0, k)} }

func (t *topK) push(x Hit) {
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		i := len(t.h) - 1
		for i > 0 {
			p := (i - 1) / 2
			if !better(t.h[p], t.h[i]) {
				break
			}
			t.h[p], t.h[i] = t.h[i], t.h[p]
			i = p
		}
		return
	}
	if !better(x, t.h[0]) {
		return
	}
	t.h[0] = x
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(t.h) && better(t.h[m], t.h[l]) {
			m = l
		}
		if r < len(t.h) && better(t.h[m], t.h[r]) {
			m = r
		}
		if m == i {
			return
		}
		t.h[m], t.h[i] = t.h[i], t.h[m]
		i = m
	}
}

// mergeTop returns the best k of several heaps, best first.
func mergeTop(ts []*topK, k int) []Hit {
	var all []Hit
	for _, t := range ts {
		all = append(all, t.h...)
	}
	slices.SortFunc(all, func(a, b Hit) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	return all[:min(k, len(all))]
}
