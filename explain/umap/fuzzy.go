package umap

import (
	"cmp"
	"math"
	"slices"
)

// Graph is a symmetric sparse weighted graph in CSR form: the neighbours
// of vertex i are Col[Ptr[i]:Ptr[i+1]] (ascending) with weights W.
type Graph struct {
	N   int
	Ptr []int
	Col []int32
	W   []float64
}

// NNZ is the number of stored (directed) entries.
func (g *Graph) NNZ() int { return len(g.Col) }

// SmoothKNNDist finds, for every point, ρ (the distance to its nearest
// neighbour at non-zero distance, local connectivity 1) and σ such that
//
//	Σ_{j≥1} exp(−max(0, d_ij − ρ_i)/σ_i) = log2(k)
//
// by 64 bisection steps (tolerance 1e-5), with σ at least 1e-3 × the mean
// neighbour distance — umap-learn's smooth_knn_dist (McInnes et al. 2018,
// §3.1 and Algorithm 3) with local_connectivity = bandwidth = 1.
func SmoothKNNDist(g *KNN) (sigma, rho []float64) {
	const tolerance, minScale = 1e-5, 1e-3
	n, k := g.N, g.K
	target := math.Log2(float64(k))
	sigma, rho = make([]float64, n), make([]float64, n)
	var mean float64
	for _, d := range g.Dist {
		mean += float64(d)
	}
	mean /= float64(len(g.Dist))
	for i := range n {
		d := g.Dist[i*k : (i+1)*k]
		for _, v := range d {
			if v > 0 {
				rho[i] = float64(v)
				break
			}
		}
		lo, hi, mid := 0.0, math.Inf(1), 1.0
		for range 64 {
			psum := 0.0
			for _, v := range d[1:] {
				if x := float64(v) - rho[i]; x > 0 {
					psum += math.Exp(-x / mid)
				} else {
					psum++
				}
			}
			if math.Abs(psum-target) < tolerance {
				break
			}
			if psum > target {
				hi = mid
				mid = (lo + hi) / 2
			} else {
				lo = mid
				if math.IsInf(hi, 1) {
					mid *= 2
				} else {
					mid = (lo + hi) / 2
				}
			}
		}
		sigma[i] = mid
		scale := mean
		if rho[i] > 0 {
			scale = 0
			for _, v := range d {
				scale += float64(v)
			}
			scale /= float64(k)
		}
		sigma[i] = max(sigma[i], minScale*scale)
	}
	return sigma, rho
}

// FuzzySimplicialSet is the fuzzy union of the points' local fuzzy
// simplicial sets: membership w_ij = exp(−(d_ij − ρ_i)/σ_i) (1 at or below
// ρ_i, 0 for the point itself), then w + wᵀ − w∘wᵀ (set_op_mix_ratio 1),
// zeros dropped.
func FuzzySimplicialSet(g *KNN) *Graph {
	sigma, rho := SmoothKNNDist(g)
	n, k := g.N, g.K
	type entry struct {
		i, j int32
		w    float64
	}
	directed := make([]entry, 0, n*k)
	for i := range n {
		for c := range k {
			j := g.Index[i*k+c]
			if int(j) == i || j < 0 {
				continue
			}
			d := float64(g.Dist[i*k+c]) - rho[i]
			w := 1.0
			if d > 0 && sigma[i] != 0 {
				w = math.Exp(-d / sigma[i])
			}
			if w > 0 {
				directed = append(directed, entry{int32(i), j, w})
			}
		}
	}
	// w_ij and w_ji side by side: sort all entries and their transposes by
	// (row, col) and combine.
	all := make([]entry, 0, 2*len(directed))
	for _, e := range directed {
		all = append(all, e, entry{e.j, e.i, -e.w}) // negative: a transposed value
	}
	slices.SortFunc(all, func(a, b entry) int {
		if a.i != b.i {
			return cmp.Compare(a.i, b.i)
		}
		return cmp.Compare(a.j, b.j)
	})
	out := &Graph{N: n, Ptr: make([]int, n+1)}
	for s := 0; s < len(all); {
		e := all[s]
		var w, wt float64
		for ; s < len(all) && all[s].i == e.i && all[s].j == e.j; s++ {
			if v := all[s].w; v > 0 {
				w += v
			} else {
				wt -= v
			}
		}
		v := w + wt - w*wt
		if v > 0 {
			out.Col = append(out.Col, e.j)
			out.W = append(out.W, v)
			out.Ptr[e.i+1]++
		}
	}
	for i := range n {
		out.Ptr[i+1] += out.Ptr[i]
	}
	return out
}
