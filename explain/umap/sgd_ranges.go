package umap

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// sgdRanges is the number of vertex ranges the parallel SGD splits a
// layout into; fixed, so the result does not depend on the workers.
const sgdRanges = 8

// optimizeRanges runs the SGD of optimize in parallel and
// deterministically: the vertices are ordered by their first initial
// coordinate and cut into sgdRanges ranges of equal size, so that most
// edges join vertices of one range. Each range is processed sequentially
// by one worker — classic SGD with move_other inside the range — while
// every vertex of another range is read from a snapshot taken at the
// epoch's start (a cross-range edge moves only its own end, with the
// attractive step doubled: the edge's other direction moves the other
// end). Writes touch only the range's own vertices, so there are no data
// races, and one seed gives one layout for any number of workers.
func optimizeRanges(ctx context.Context, y []float64, g *Graph, a, b float64, o Options, progress func(string, int, int)) error {
	n := g.N
	ne := len(g.Col)
	wmax := 0.0
	for _, w := range g.W {
		wmax = max(wmax, w)
	}
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(p, q int32) int { return cmp.Compare(y[2*p], y[2*q]) })
	rangeOf := make([]uint8, n)
	for pos, v := range order {
		rangeOf[v] = uint8(pos * sgdRanges / n)
	}
	// Edges by range, in vertex order within the range.
	edges := make([][]int32, sgdRanges)
	head := make([]int32, ne)
	for _, v := range order {
		r := rangeOf[v]
		for e := g.Ptr[v]; e < g.Ptr[v+1]; e++ {
			edges[r] = append(edges[r], int32(e))
			head[e] = v
		}
	}
	eps := make([]float64, ne)
	next := make([]float64, ne)
	epsNeg := make([]float64, ne)
	nextNeg := make([]float64, ne)
	for e, w := range g.W {
		eps[e] = wmax / w
		next[e] = eps[e]
		epsNeg[e] = eps[e] / float64(o.NegativeRate)
		nextNeg[e] = epsNeg[e]
	}
	snap := make([]float64, len(y))
	un := uint64(n)
	gamma := o.Repulsion
	workers := min(max(o.Workers, 1), sgdRanges)
	for epoch := range o.Epochs {
		if err := ctx.Err(); err != nil {
			return err
		}
		copy(snap, y)
		alpha := o.LearningRate * (1 - float64(epoch)/float64(o.Epochs))
		fe := float64(epoch)
		run := func(r int) {
			rs := splitmix(o.Seed ^ uint64(epoch)<<8 ^ uint64(r) ^ 0x5eed_0f_59d)
			own := uint8(r)
			for _, e32 := range edges[r] {
				e := int(e32)
				if next[e] > fe {
					continue
				}
				i, j := int(head[e]), int(g.Col[e])
				next[e] += eps[e]
				nneg := int((fe - nextNeg[e]) / epsNeg[e])
				nextNeg[e] += float64(nneg) * epsNeg[e]
				x0, x1 := y[2*i], y[2*i+1]
				same := rangeOf[j] == own
				var o0, o1 float64
				if same {
					o0, o1 = y[2*j], y[2*j+1]
				} else {
					o0, o1 = snap[2*j], snap[2*j+1]
				}
				d0, d1 := x0-o0, x1-o1
				if d2 := d0*d0 + d1*d1; d2 > 0 {
					pb := powFast(d2, b)
					c := -2 * a * b * pb / (d2 * (a*pb + 1))
					s0, s1 := clip(c*d0)*alpha, clip(c*d1)*alpha
					if same {
						x0, x1 = x0+s0, x1+s1
						y[2*j], y[2*j+1] = o0-s0, o1-s1
					} else {
						x0, x1 = x0+2*s0, x1+2*s1
					}
				}
				for range nneg {
					rs = splitmix(rs)
					k := int((rs >> 32) * un >> 32)
					var k0, k1 float64
					if rangeOf[k] == own {
						if k == i {
							continue
						}
						k0, k1 = y[2*k], y[2*k+1]
					} else {
						k0, k1 = snap[2*k], snap[2*k+1]
					}
					e0, e1 := x0-k0, x1-k1
					d2 := e0*e0 + e1*e1
					if d2 <= 0 {
						continue
					}
					c := 2 * gamma * b / ((0.001 + d2) * (a*powFast(d2, b) + 1))
					x0 += clip(c*e0) * alpha
					x1 += clip(c*e1) * alpha
				}
				y[2*i], y[2*i+1] = x0, x1
			}
		}
		var wg sync.WaitGroup
		ch := make(chan int, sgdRanges)
		for r := range sgdRanges {
			ch <- r
		}
		close(ch)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range ch {
					run(r)
				}
			}()
		}
		wg.Wait()
		progress("optimize", epoch+1, o.Epochs)
	}
	return nil
}
