package umap

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Data is N points of dimension D, row-major.
type Data struct {
	N, D int
	X    []float32
}

// Row returns point i.
func (x Data) Row(i int) []float32 { return x.X[i*x.D : (i+1)*x.D : (i+1)*x.D] }

func (x Data) check() error {
	if x.N <= 0 || x.D <= 0 || len(x.X) != x.N*x.D {
		return fmt.Errorf("umap: data of %d values for %d points of dimension %d", len(x.X), x.N, x.D)
	}
	for i, v := range x.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("umap: point %d has a non-finite value", i/x.D)
		}
	}
	return nil
}

// KNN is a k-nearest-neighbour graph: the neighbours of point i are
// Index[i·K : (i+1)·K] at Euclidean distances Dist[…], nearest first, with
// the point itself first (distance 0), as umap-learn's exact search gives
// them.
type KNN struct {
	N, K  int
	Index []int32
	Dist  []float32
}

// candidate is a neighbour candidate by approximate squared distance.
type candidate struct {
	d float32
	j int32
}

// maxHeap keeps the K best candidates, the worst on top.
type maxHeap []candidate

func (h maxHeap) Len() int { return len(h) }
func (h maxHeap) Less(a, b int) bool {
	if h[a].d != h[b].d {
		return h[a].d > h[b].d
	}
	return h[a].j > h[b].j
}
func (h maxHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *maxHeap) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *maxHeap) offer(c candidate, cap int) {
	if len(*h) < cap {
		heap.Push(h, c)
		return
	}
	top := (*h)[0]
	if c.d < top.d || c.d == top.d && c.j < top.j {
		(*h)[0] = c
		heap.Fix(h, 0)
	}
}

// ExactKNN finds every point's k nearest neighbours (itself included) by
// brute force: squared distances ‖x‖² + ‖y‖² − 2x·y in float32 with an
// AVX2 kernel (when built with GOEXPERIMENT=simd) select k + 8 candidates
// per point, whose distances are then recomputed exactly in float64 to
// order them. The result does not depend on workers (0 means all CPUs).
// The cost is N²·D multiply-adds.
func ExactKNN(x Data, k, workers int) (*KNN, error) {
	if err := x.check(); err != nil {
		return nil, err
	}
	if k < 2 || k > x.N {
		return nil, fmt.Errorf("umap: %d neighbours for %d points: want 2 ≤ k ≤ points", k, x.N)
	}
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	n := x.N
	norms := make([]float32, n)
	for i := range n {
		var s float64
		for _, v := range x.Row(i) {
			s += float64(v) * float64(v)
		}
		norms[i] = float32(s)
	}
	keep := min(k+8, n)
	heaps := make([]maxHeap, n)
	const rowBlock, colBlock = 32, 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst [4][2]float32
			for {
				r0 := int(next.Add(rowBlock)) - rowBlock
				if r0 >= n {
					return
				}
				r1 := min(r0+rowBlock, n)
				for i := r0; i < r1; i++ {
					heaps[i] = make(maxHeap, 0, keep)
				}
				for c0 := 0; c0 < n; c0 += colBlock {
					c1 := min(c0+colBlock, n)
					for i := r0; i < r1; i += 4 {
						var rows [4]int
						for a := range 4 {
							rows[a] = min(i+a, r1-1) // repeat the last row: same arithmetic
						}
						a0, a1, a2, a3 := x.Row(rows[0]), x.Row(rows[1]), x.Row(rows[2]), x.Row(rows[3])
						for j := c0; j < c1; j += 2 {
							j1 := min(j+1, c1-1)
							dots4x2(a0, a1, a2, a3, x.Row(j), x.Row(j1), &dst)
							for a := range min(4, r1-i) {
								ri := rows[a]
								for b, cj := range [2]int{j, j1} {
									if b == 1 && j1 == j {
										break
									}
									d := norms[ri] + norms[cj] - 2*dst[a][b]
									heaps[ri].offer(candidate{d, int32(cj)}, keep)
								}
							}
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	out := &KNN{N: n, K: k, Index: make([]int32, n*k), Dist: make([]float32, n*k)}
	type exact struct {
		d float64
		j int32
	}
	for i := range n {
		xi := x.Row(i)
		c := make([]exact, 0, keep+1)
		c = append(c, exact{0, int32(i)})
		for _, h := range heaps[i] {
			if int(h.j) == i {
				continue
			}
			c = append(c, exact{euclid(xi, x.Row(int(h.j))), h.j})
		}
		slices.SortFunc(c[1:], func(a, b exact) int {
			if a.d != b.d {
				return cmp.Compare(a.d, b.d)
			}
			return cmp.Compare(a.j, b.j)
		})
		for j := range k {
			out.Index[i*k+j] = c[j].j
			out.Dist[i*k+j] = float32(c[j].d)
		}
	}
	return out, nil
}

// euclid is the Euclidean distance in float64.
func euclid(a, b []float32) float64 {
	var s float64
	b = b[:len(a)]
	for i, v := range a {
		d := float64(v) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
