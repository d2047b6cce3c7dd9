package umap

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Components labels the connected components of g (0, 1, … in order of
// their lowest vertex) and returns their count.
func Components(g *Graph) (labels []int, n int) {
	labels = make([]int, g.N)
	for i := range labels {
		labels[i] = -1
	}
	stack := []int{}
	for s := range g.N {
		if labels[s] >= 0 {
			continue
		}
		labels[s] = n
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, c := range g.Col[g.Ptr[v]:g.Ptr[v+1]] {
				if labels[c] < 0 {
					labels[c] = n
					stack = append(stack, int(c))
				}
			}
		}
		n++
	}
	return labels, n
}

// subgraph returns g restricted to the given vertices (ascending).
func subgraph(g *Graph, verts []int) *Graph {
	pos := make(map[int32]int32, len(verts))
	for i, v := range verts {
		pos[int32(v)] = int32(i)
	}
	s := &Graph{N: len(verts), Ptr: make([]int, len(verts)+1)}
	for i, v := range verts {
		for e := g.Ptr[v]; e < g.Ptr[v+1]; e++ {
			if j, ok := pos[g.Col[e]]; ok {
				s.Col = append(s.Col, j)
				s.W = append(s.W, g.W[e])
			}
		}
		s.Ptr[i+1] = len(s.Col)
	}
	return s
}

// SpectralEmbedding returns the dim eigenvectors of the normalised graph
// Laplacian L = I − D^−½ W D^−½ with the smallest eigenvalues after the
// trivial one (umap-learn's spectral_layout; Belkin & Niyogi's Laplacian
// eigenmaps), for a connected graph. It runs Lanczos with full
// reorthogonalisation on D^−½ W D^−½ with the trivial eigenvector D^½·1
// projected out, from a seeded start vector, until the wanted Ritz pairs'
// residuals fall below 1e-4 (umap-learn's eigsh tolerance) or the basis
// reaches 400 vectors. Columns are [n][dim], each signed so that its
// largest-magnitude entry is positive.
func SpectralEmbedding(g *Graph, dim int, seed uint64) ([][]float64, error) {
	n := g.N
	if n <= dim+1 {
		return nil, fmt.Errorf("umap: spectral embedding of %d points in %d dimensions", n, dim)
	}
	deg := make([]float64, n)
	for i := range n {
		for e := g.Ptr[i]; e < g.Ptr[i+1]; e++ {
			deg[i] += g.W[e]
		}
		if deg[i] <= 0 {
			return nil, fmt.Errorf("umap: vertex %d has no edges", i)
		}
	}
	isq := make([]float64, n)
	u0 := make([]float64, n) // trivial eigenvector D^½·1, normalised
	for i, d := range deg {
		isq[i] = 1 / math.Sqrt(d)
		u0[i] = math.Sqrt(d)
	}
	normalize(u0)
	matvec := func(dst, v []float64) {
		for i := range n {
			s := 0.0
			for e := g.Ptr[i]; e < g.Ptr[i+1]; e++ {
				j := g.Col[e]
				s += g.W[e] * isq[j] * v[j]
			}
			dst[i] = isq[i] * s
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x1a9c705))
	start := make([]float64, n)
	for i := range start {
		start[i] = rng.Float64() - 0.5
	}
	maxM := n - 1
	m := min(maxM, max(4*dim+20, int(math.Sqrt(float64(n)))))
	for {
		vecs, vals, res, err := lanczos(matvec, start, u0, m, dim)
		if err != nil {
			return nil, err
		}
		converged := true
		for _, r := range res {
			if r > 1e-4 {
				converged = false
			}
		}
		if converged || m >= maxM || m >= 400 {
			_ = vals
			out := make([][]float64, n)
			for i := range out {
				out[i] = make([]float64, dim)
				for c := range dim {
					out[i][c] = vecs[c][i]
				}
			}
			return out, nil
		}
		m = min(maxM, 400, 2*m)
	}
}

func normalize(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	s = math.Sqrt(s)
	if s > 0 {
		for i := range v {
			v[i] /= s
		}
	}
	return s
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

// lanczos runs m steps of Lanczos with full reorthogonalisation (against
// the basis and the deflated vector u0) and returns the k largest Ritz
// pairs, eigenvalues descending, with each pair's residual norm.
func lanczos(matvec func(dst, v []float64), start, u0 []float64, m, k int) (vecs [][]float64, vals, res []float64, err error) {
	n := len(start)
	q := slices.Clone(start)
	orth := func(v []float64, basis [][]float64) {
		for pass := 0; pass < 2; pass++ {
			c := dot(v, u0)
			for i := range v {
				v[i] -= c * u0[i]
			}
			for _, b := range basis {
				c := dot(v, b)
				for i := range v {
					v[i] -= c * b[i]
				}
			}
		}
	}
	orth(q, nil)
	if normalize(q) == 0 {
		return nil, nil, nil, fmt.Errorf("umap: Lanczos start vector vanished")
	}
	basis := [][]float64{q}
	var alpha, beta []float64
	w := make([]float64, n)
	for j := 0; j < m; j++ {
		matvec(w, basis[j])
		a := dot(w, basis[j])
		alpha = append(alpha, a)
		orth(w, basis)
		b := normalize(w)
		if j == m-1 || b < 1e-12 {
			beta = append(beta, b)
			break
		}
		beta = append(beta, b)
		basis = append(basis, slices.Clone(w))
	}
	steps := len(alpha)
	T := mat.NewSymDense(steps, nil)
	for i := range steps {
		T.SetSym(i, i, alpha[i])
		if i+1 < steps {
			T.SetSym(i, i+1, beta[i])
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(T, true) {
		return nil, nil, nil, fmt.Errorf("umap: Lanczos: tridiagonal eigendecomposition failed")
	}
	ev := eig.Values(nil) // ascending
	var Z mat.Dense
	eig.VectorsTo(&Z)
	k = min(k, steps)
	last := beta[steps-1]
	for c := range k {
		col := steps - 1 - c
		v := make([]float64, n)
		for s := range steps {
			z := Z.At(s, col)
			for i := range v {
				v[i] += z * basis[s][i]
			}
		}
		normalize(v)
		// Sign convention: largest-magnitude entry positive.
		big := 0
		for i := range v {
			if math.Abs(v[i]) > math.Abs(v[big]) {
				big = i
			}
		}
		if v[big] < 0 {
			for i := range v {
				v[i] = -v[i]
			}
		}
		vecs = append(vecs, v)
		vals = append(vals, ev[col])
		res = append(res, math.Abs(last*Z.At(steps-1, col)))
	}
	return vecs, vals, res, nil
}
