package umap

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
)

// Options are UMAP's parameters. The zero value is umap-learn's defaults
// (the reference's): 15 neighbours, min_dist 0.1, spread 1, Euclidean
// distance, spectral initialisation, 500 epochs up to 10,000 points and
// 200 above, learning rate 1, 5 negative samples per positive one,
// repulsion strength 1, two output dimensions.
type Options struct {
	// Neighbors is n_neighbors (0 means 15), the point itself included;
	// it is capped at the number of points − 1.
	Neighbors int
	// MinDist (0 means 0.1; use a tiny positive value for ~0) and Spread
	// (0 means 1) shape the embedding's membership curve.
	MinDist, Spread float64
	// Epochs of optimisation (0: 500 for ≤ 10,000 points, else 200).
	Epochs int
	// Dim is the output dimension (0 means 2).
	Dim int
	// LearningRate (0 means 1), NegativeRate (0 means 5) and Repulsion
	// (gamma; 0 means 1).
	LearningRate float64
	NegativeRate int
	Repulsion    float64
	// Init is "spectral" (default) or "random".
	Init string
	// Seed makes the result reproducible: one seed, one embedding,
	// whatever the number of workers.
	Seed uint64
	// Workers bounds parallelism (0: all CPUs).
	Workers int
	// Progress, if set, is called with the stage ("knn", "graph", "init",
	// "optimize") and, while optimising, the epochs done.
	Progress func(stage string, done, total int)
}

func (o Options) withDefaults(n int) Options {
	if o.Neighbors == 0 {
		o.Neighbors = 15
	}
	o.Neighbors = min(o.Neighbors, n-1)
	if o.MinDist == 0 {
		o.MinDist = 0.1
	}
	if o.Spread == 0 {
		o.Spread = 1
	}
	if o.Epochs == 0 {
		o.Epochs = 500
		if n > 10000 {
			o.Epochs = 200
		}
	}
	if o.Dim == 0 {
		o.Dim = 2
	}
	if o.LearningRate == 0 {
		o.LearningRate = 1
	}
	if o.NegativeRate == 0 {
		o.NegativeRate = 5
	}
	if o.Repulsion == 0 {
		o.Repulsion = 1
	}
	if o.Init == "" {
		o.Init = "spectral"
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	return o
}

// Result is an embedding and what produced it.
type Result struct {
	// Embedding is N × Dim, row-major.
	Embedding []float64
	N, Dim    int
	// A and B are the fitted curve parameters; Epochs the epochs run.
	A, B   float64
	Epochs int
	// KNN and Graph are the neighbour graph and the fuzzy simplicial set
	// (before pruning to the epochs' resolution).
	KNN   *KNN
	Graph *Graph
	// Components counts the graph's connected components; Init says how
	// the layout started ("spectral", "spectral, N components", "random").
	Components int
	Init       string
}

// Point returns point i of the embedding.
func (r *Result) Point(i int) []float64 { return r.Embedding[i*r.Dim : (i+1)*r.Dim] }

// Fit embeds x with UMAP (McInnes, Healy & Melville 2018): the exact
// k-nearest-neighbour graph, its fuzzy simplicial set, a spectral
// initialisation and stochastic gradient descent with negative sampling
// on the fuzzy set cross-entropy.
//
// The optimisation is umap-learn's optimize_layout_euclidean (edge
// sampling in proportion to membership, 5 negative samples per positive
// one, gradients clipped to ±4, linearly decaying learning rate, both ends
// of an edge moving). umap-learn runs it sequentially when seeded; for 2-D
// layouts it runs here on Workers cores over 8 fixed vertex ranges (see
// optimizeRanges), deterministic all the same, with the same layouts'
// quality as the sequential run (docs/explain.md); other dimensions run
// sequentially.
func Fit(ctx context.Context, x Data, o Options) (*Result, error) {
	if err := x.check(); err != nil {
		return nil, err
	}
	if x.N < 4 {
		return nil, fmt.Errorf("umap: %d points: need at least 4", x.N)
	}
	o = o.withDefaults(x.N)
	if o.Dim < 1 || o.Neighbors < 2 || o.NegativeRate < 0 || o.LearningRate < 0 || o.Epochs < 1 {
		return nil, fmt.Errorf("umap: invalid options %+v", o)
	}
	a, b, err := FindAB(o.Spread, o.MinDist)
	if err != nil {
		return nil, err
	}
	progress := func(stage string, done, total int) {
		if o.Progress != nil {
			o.Progress(stage, done, total)
		}
	}
	progress("knn", 0, 1)
	knn, err := ExactKNN(x, o.Neighbors, o.Workers)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	progress("graph", 0, 1)
	g := FuzzySimplicialSet(knn)
	pruned := prune(g, o.Epochs)
	res := &Result{N: x.N, Dim: o.Dim, A: a, B: b, Epochs: o.Epochs, KNN: knn, Graph: g}
	progress("init", 0, 1)
	rng := rand.New(rand.NewPCG(o.Seed, 0x0de1a7))
	var y []float64
	switch o.Init {
	case "random":
		y = make([]float64, x.N*o.Dim)
		for i := range y {
			y[i] = rng.Float64()*20 - 10
		}
		res.Init = "random"
	case "spectral":
		if y, res.Components, err = spectralInit(x, pruned, o.Dim, o.Seed, rng); err != nil {
			return nil, err
		}
		res.Init = "spectral"
		if res.Components > 1 {
			res.Init = fmt.Sprintf("spectral, %d components", res.Components)
		}
	default:
		return nil, fmt.Errorf("umap: init %q: want spectral or random", o.Init)
	}
	opt := optimize
	if o.Dim == 2 {
		opt = optimizeRanges
	}
	if err := opt(ctx, y, pruned, a, b, o, progress); err != nil {
		return nil, err
	}
	res.Embedding = y
	return res, nil
}

// prune drops edges whose membership is below max/epochs (they would
// never be sampled), as umap-learn does before optimising.
func prune(g *Graph, epochs int) *Graph {
	wmax := 0.0
	for _, w := range g.W {
		wmax = max(wmax, w)
	}
	cut := wmax / float64(epochs)
	out := &Graph{N: g.N, Ptr: make([]int, g.N+1)}
	for i := range g.N {
		for e := g.Ptr[i]; e < g.Ptr[i+1]; e++ {
			if g.W[e] >= cut {
				out.Col = append(out.Col, g.Col[e])
				out.W = append(out.W, g.W[e])
			}
		}
		out.Ptr[i+1] = len(out.Col)
	}
	return out
}

// spectralInit lays out each connected component spectrally (umap-learn's
// spectral_layout / multi_component_layout), scales the layout to a
// maximum absolute coordinate of 10, adds N(0, 1e-4²) noise and rescales
// every dimension to [0, 10].
func spectralInit(x Data, g *Graph, dim int, seed uint64, rng *rand.Rand) ([]float64, int, error) {
	n := x.N
	labels, nc := Components(g)
	y := make([]float64, n*dim)
	if nc == 1 {
		e, err := SpectralEmbedding(g, dim, seed)
		if err != nil {
			return nil, nc, err
		}
		for i := range n {
			copy(y[i*dim:], e[i])
		}
	} else {
		meta := componentCentres(x, labels, nc, dim, seed)
		members := make([][]int, nc)
		for i, l := range labels {
			members[l] = append(members[l], i)
		}
		for c, verts := range members {
			// Half the distance to the nearest other centre.
			r := math.Inf(1)
			for d := range nc {
				if d != c {
					s := 0.0
					for k := range dim {
						v := meta[c][k] - meta[d][k]
						s += v * v
					}
					if s > 0 {
						r = min(r, math.Sqrt(s))
					}
				}
			}
			if math.IsInf(r, 1) {
				r = 1
			}
			r /= 2
			var e [][]float64
			if len(verts) >= 2*dim && len(verts) > dim+1 {
				e, _ = SpectralEmbedding(subgraph(g, verts), dim, seed+uint64(c))
			}
			if e == nil {
				for _, v := range verts {
					for k := range dim {
						y[v*dim+k] = rng.Float64()*2*r - r + meta[c][k]
					}
				}
				continue
			}
			m := 0.0
			for _, row := range e {
				for _, v := range row {
					m = max(m, math.Abs(v))
				}
			}
			for i, v := range verts {
				for k := range dim {
					y[v*dim+k] = e[i][k]*r/m + meta[c][k]
				}
			}
		}
	}
	m := 0.0
	for _, v := range y {
		m = max(m, math.Abs(v))
	}
	for i := range y {
		y[i] = y[i]*10/m + rng.NormFloat64()*1e-4
	}
	for k := range dim {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range n {
			lo, hi = min(lo, y[i*dim+k]), max(hi, y[i*dim+k])
		}
		for i := range n {
			y[i*dim+k] = 10 * (y[i*dim+k] - lo) / (hi - lo)
		}
	}
	return y, nc, nil
}

// componentCentres places the components: at ±unit vectors when there
// are at most 2·dim of them (umap-learn), else at the principal
// components of their centroids in the data, scaled to a maximum of 1
// (umap-learn uses a spectral embedding of the centroids' affinities).
func componentCentres(x Data, labels []int, nc, dim int, seed uint64) [][]float64 {
	meta := make([][]float64, nc)
	if nc <= 2*dim {
		k := (nc + 1) / 2
		for c := range nc {
			meta[c] = make([]float64, dim)
			if c < k {
				meta[c][c] = 1
			} else {
				meta[c][c-k] = -1
			}
		}
		return meta
	}
	cent := make([][]float64, nc)
	count := make([]int, nc)
	for c := range cent {
		cent[c] = make([]float64, x.D)
	}
	for i, l := range labels {
		for k, v := range x.Row(i) {
			cent[l][k] += float64(v)
		}
		count[l]++
	}
	for c := range cent {
		for k := range cent[c] {
			cent[c][k] /= float64(count[c])
		}
	}
	return pcaRows(cent, dim, seed)
}

// optimize runs the SGD epochs in place on y: umap-learn's
// optimize_layout_euclidean, sequential, with move_other (both ends of a
// sampled edge move; every undirected edge is stored in both directions).
func optimize(ctx context.Context, y []float64, g *Graph, a, b float64, o Options, progress func(string, int, int)) error {
	n, dim := g.N, o.Dim
	ne := len(g.Col)
	wmax := 0.0
	for _, w := range g.W {
		wmax = max(wmax, w)
	}
	head := make([]int32, ne)
	for i := range n {
		for e := g.Ptr[i]; e < g.Ptr[i+1]; e++ {
			head[e] = int32(i)
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
	gamma := o.Repulsion
	rs := splitmix(o.Seed ^ 0x5eed_0f_59d)
	un := uint64(n)
	for epoch := range o.Epochs {
		if err := ctx.Err(); err != nil {
			return err
		}
		alpha := o.LearningRate * (1 - float64(epoch)/float64(o.Epochs))
		fe := float64(epoch)
		for e := range ne {
			if next[e] > fe {
				continue
			}
			i, j := int(head[e]), int(g.Col[e])
			next[e] += eps[e]
			nneg := int((fe - nextNeg[e]) / epsNeg[e])
			nextNeg[e] += float64(nneg) * epsNeg[e]
			if dim == 2 {
				rs = sgd2(y, i, j, nneg, rs, un, a, b, gamma, alpha)
				continue
			}
			cur := y[i*dim : (i+1)*dim]
			other := y[j*dim : (j+1)*dim]
			d2 := 0.0
			for k := range dim {
				t := cur[k] - other[k]
				d2 += t * t
			}
			if d2 > 0 {
				pb := powFast(d2, b)
				c := -2 * a * b * pb / (d2 * (a*pb + 1))
				for k := range dim {
					step := clip(c*(cur[k]-other[k])) * alpha
					cur[k] += step
					other[k] -= step
				}
			}
			for range nneg {
				rs = splitmix(rs)
				kk := int((rs >> 32) * un >> 32)
				other := y[kk*dim : (kk+1)*dim]
				d2 := 0.0
				for k := range dim {
					t := cur[k] - other[k]
					d2 += t * t
				}
				if d2 <= 0 {
					continue
				}
				c := 2 * gamma * b / ((0.001 + d2) * (a*powFast(d2, b) + 1))
				for k := range dim {
					cur[k] += clip(c*(cur[k]-other[k])) * alpha
				}
			}
		}
		progress("optimize", epoch+1, o.Epochs)
	}
	return nil
}

func clip(v float64) float64 { return max(-4, min(4, v)) }

// sgd2 is one sampled edge i→j of a 2-D layout (the common case, written
// out): the attractive move of both ends, then nneg negative samples
// moving i. It returns the generator state.
func sgd2(y []float64, i, j, nneg int, rs, n uint64, a, b, gamma, alpha float64) uint64 {
	x0, x1 := y[2*i], y[2*i+1]
	o0, o1 := y[2*j], y[2*j+1]
	d0, d1 := x0-o0, x1-o1
	if d2 := d0*d0 + d1*d1; d2 > 0 {
		pb := powFast(d2, b)
		c := -2 * a * b * pb / (d2 * (a*pb + 1))
		s0, s1 := clip(c*d0)*alpha, clip(c*d1)*alpha
		x0, x1 = x0+s0, x1+s1
		y[2*j], y[2*j+1] = o0-s0, o1-s1
	}
	for range nneg {
		rs = splitmix(rs)
		k := int((rs >> 32) * n >> 32)
		e0, e1 := x0-y[2*k], x1-y[2*k+1]
		d2 := e0*e0 + e1*e1
		if d2 <= 0 {
			continue
		}
		c := 2 * gamma * b / ((0.001 + d2) * (a*powFast(d2, b) + 1))
		x0 += clip(c*e0) * alpha
		x1 += clip(c*e1) * alpha
	}
	y[2*i], y[2*i+1] = x0, x1
	return rs
}

// splitmix is one step of SplitMix64 (a counter-based generator: a
// deterministic stream per vertex and epoch).
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	z := x
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
