package umap

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// sortedNeighbours returns, for point i, every other point ordered by
// distance (ties by index) under dist.
func sortedNeighbours(n, i int, dist func(i, j int) float64) []int32 {
	type dj struct {
		d float64
		j int32
	}
	all := make([]dj, 0, n-1)
	for j := range n {
		if j != i {
			all = append(all, dj{dist(i, j), int32(j)})
		}
	}
	slices.SortFunc(all, func(a, b dj) int {
		if a.d != b.d {
			return cmp.Compare(a.d, b.d)
		}
		return cmp.Compare(a.j, b.j)
	})
	out := make([]int32, len(all))
	for r, x := range all {
		out[r] = x.j
	}
	return out
}

// Trustworthiness is sklearn.manifold.trustworthiness with the Euclidean
// metric: how far the k nearest neighbours of each point in the
// embedding y (n × dim) are from being its nearest neighbours in x,
//
//	T(k) = 1 − 2/(n·k·(2n − 3k − 1)) · Σ_i Σ_{j ∈ U_i(k)} (r(i, j) − k)
//
// where U_i(k) are the embedding's k nearest neighbours of i that are not
// among its k nearest in x and r(i, j) is j's rank among i's neighbours in
// x (1 = nearest). 1 is perfect. It needs k < n/2 and costs O(n² log n).
func Trustworthiness(x Data, y []float64, dim, k int) (float64, error) {
	n := x.N
	if len(y) != n*dim {
		return 0, fmt.Errorf("umap: embedding of %d values for %d points × %d", len(y), n, dim)
	}
	if k < 1 || k >= n/2 {
		return 0, fmt.Errorf("umap: trustworthiness needs 1 ≤ k < n/2 (k %d, n %d)", k, n)
	}
	dx := func(i, j int) float64 { return euclid(x.Row(i), x.Row(j)) }
	dy := func(i, j int) float64 {
		s := 0.0
		for d := range dim {
			t := y[i*dim+d] - y[j*dim+d]
			s += t * t
		}
		return s
	}
	sums := make([]float64, n)
	parallel(n, func(i int) {
		inX := sortedNeighbours(n, i, dx)
		rank := make([]int, n)
		for r, j := range inX {
			rank[j] = r + 1
		}
		s := 0.0
		for _, j := range sortedNeighbours(n, i, dy)[:k] {
			if r := rank[j] - k; r > 0 {
				s += float64(r)
			}
		}
		sums[i] = s
	})
	t := 0.0
	for _, s := range sums {
		t += s
	}
	fn, fk := float64(n), float64(k)
	return 1 - t*(2/(fn*fk*(2*fn-3*fk-1))), nil
}

// KNNAccuracy is the leave-one-out accuracy of a k-nearest-neighbour
// majority vote in the embedding (ties go to the smallest label, as in
// sklearn's KNeighborsClassifier): how well labels separate in 2-D.
func KNNAccuracy(y []float64, dim int, labels []string, k int) (float64, error) {
	n := len(labels)
	if len(y) != n*dim || k < 1 || k >= n {
		return 0, fmt.Errorf("umap: k-NN accuracy of %d points, %d values, k %d", n, len(y), k)
	}
	dy := func(i, j int) float64 {
		s := 0.0
		for d := range dim {
			t := y[i*dim+d] - y[j*dim+d]
			s += t * t
		}
		return s
	}
	ok := make([]bool, n)
	parallel(n, func(i int) {
		votes := map[string]int{}
		for _, j := range sortedNeighbours(n, i, dy)[:k] {
			votes[labels[j]]++
		}
		best, bestN := "", 0
		for l, v := range votes {
			if v > bestN || v == bestN && l < best {
				best, bestN = l, v
			}
		}
		ok[i] = best == labels[i]
	})
	c := 0
	for _, b := range ok {
		if b {
			c++
		}
	}
	return float64(c) / float64(n), nil
}

func parallel(n int, f func(i int)) {
	w := runtime.NumCPU()
	var wg sync.WaitGroup
	ch := make(chan int, w)
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				f(i)
			}
		}()
	}
	for i := range n {
		ch <- i
	}
	close(ch)
	wg.Wait()
}

// pcaRows projects rows onto their dim principal components, scaled so the
// largest absolute coordinate is 1 (zeros when the rows do not vary).
func pcaRows(rows [][]float64, dim int, _ uint64) [][]float64 {
	n, d := len(rows), len(rows[0])
	m := mat.NewDense(n, d, nil)
	for i, r := range rows {
		for j, v := range r {
			m.Set(i, j, v)
		}
	}
	for j := range d {
		s := 0.0
		for i := range n {
			s += m.At(i, j)
		}
		s /= float64(n)
		for i := range n {
			m.Set(i, j, m.At(i, j)-s)
		}
	}
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, dim)
	}
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDThin) {
		return out
	}
	var u mat.Dense
	svd.UTo(&u)
	vals := svd.Values(nil)
	big := 0.0
	for i := range n {
		for c := range min(dim, len(vals)) {
			out[i][c] = u.At(i, c) * vals[c]
			big = max(big, math.Abs(out[i][c]))
		}
	}
	if big > 0 {
		for i := range out {
			for c := range out[i] {
				out[i][c] /= big
			}
		}
	}
	return out
}
