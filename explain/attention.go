package explain

import (
	"fmt"
	"math"

	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/ops"
)

// Layout is the token geometry of an MViT: the input clip, the patch grid
// and, per block, the grids and pooling windows that relate the block's
// query and key tokens to its input tokens. [LayoutOf] derives it from a
// configuration, so any architecture works (MViT-B 16×4: 16 blocks, 65
// heads, query grids 8×56×56 down to 8×7×7).
type Layout struct {
	// Input is the clip (T, H, W); Patch the token grid after the patch
	// embedding.
	Input, Patch mvit.Grid
	Blocks       []BlockLayout
}

// BlockLayout is one block's geometry.
type BlockLayout struct {
	Heads int
	// In is the block's input grid, Q its query (= output) grid, KV its
	// key/value grid.
	In, Q, KV mvit.Grid
	// KV and Skip are the pooling windows of keys/values and of the
	// residual (skip) path, over the input grid; nil when not pooled.
	KVWindow, SkipWindow *ops.Window
}

// LayoutOf returns cfg's token geometry.
func LayoutOf(cfg mvit.Config) (Layout, error) {
	if err := cfg.Validate(); err != nil {
		return Layout{}, fmt.Errorf("explain: %w", err)
	}
	l := Layout{Input: mvit.Grid{cfg.Frames, cfg.Height, cfg.Width}, Patch: cfg.PatchGrid()}
	for i, s := range cfg.Shapes() {
		b := cfg.Blocks[i]
		bl := BlockLayout{Heads: b.Heads, In: s.In, Q: s.Q, KV: s.KV}
		if b.PoolsKV() {
			w := b.KVWindow()
			bl.KVWindow = &w
		}
		if b.PoolsSkip() {
			w := b.SkipWindow()
			bl.SkipWindow = &w
		}
		l.Blocks = append(l.Blocks, bl)
	}
	return l, nil
}

// Heads is the total number of attention heads (65 for MViT-B 16×4).
func (l Layout) Heads() int {
	n := 0
	for _, b := range l.Blocks {
		n += b.Heads
	}
	return n
}

// BlockAttention is one block's post-softmax attention maps for one clip,
// [Heads, Nq, Nk] row-major with the CLS token first on both axes — the
// layout of the authors' export (layer_LL in their HDF5 files) and of
// mvit.Result.Attention.
type BlockAttention struct {
	Heads, Nq, Nk int
	Data          []float32
}

// check verifies a block's maps against its layout.
func (b BlockAttention) check(i int, bl BlockLayout) error {
	if b.Heads != bl.Heads || b.Nq != bl.Q.Tokens()+1 || b.Nk != bl.KV.Tokens()+1 {
		return fmt.Errorf("explain: block %d attention is [%d, %d, %d], the architecture has [%d, %d, %d] (query grid %v, key grid %v)",
			i, b.Heads, b.Nq, b.Nk, bl.Heads, bl.Q.Tokens()+1, bl.KV.Tokens()+1, bl.Q, bl.KV)
	}
	if len(b.Data) != b.Heads*b.Nq*b.Nk {
		return fmt.Errorf("explain: block %d attention holds %d values, want %d", i, len(b.Data), b.Heads*b.Nq*b.Nk)
	}
	return nil
}

// CLSMaps returns, per head, the reference's attention map of a block: for
// every non-CLS query token, its post-softmax weight on the CLS key
// (attention[:, 1:, 0] in visualize_attentions.py), in query-grid order
// (t-major, then h, then w).
func CLSMaps(a BlockAttention) [][]float32 {
	out := make([][]float32, a.Heads)
	for h := range a.Heads {
		m := make([]float32, a.Nq-1)
		base := h * a.Nq * a.Nk
		for q := 1; q < a.Nq; q++ {
			m[q-1] = a.Data[base+q*a.Nk]
		}
		out[h] = m
	}
	return out
}

// UpsampleNearest resizes a (T, H, W) volume to out with PyTorch's
// F.interpolate(mode='nearest') rule: source index floor(dst·(in/out)),
// computed in float32 as ATen does, clamped to in−1.
func UpsampleNearest(src []float32, in, out mvit.Grid) []float32 {
	idx := make([][]int, 3)
	for d := range 3 {
		scale := float32(in[d]) / float32(out[d])
		idx[d] = make([]int, out[d])
		for o := range out[d] {
			idx[d][o] = min(int(math.Floor(float64(float32(o)*scale))), in[d]-1)
		}
	}
	dst := make([]float32, out.Tokens())
	i := 0
	for _, t := range idx[0] {
		for _, h := range idx[1] {
			row := src[(t*in[1]+h)*in[2]:]
			for _, w := range idx[2] {
				dst[i] = row[w]
				i++
			}
		}
	}
	return dst
}

// windowCells lists, per output cell of a pooling window over grid in, the
// input cells (flat indices) its window covers, padding excluded.
func windowCells(w ops.Window, in, out mvit.Grid) [][]int {
	cells := make([][]int, 0, out.Tokens())
	var rng [3][2]int
	for t := range out[0] {
		for h := range out[1] {
			for x := range out[2] {
				p := [3]int{t, h, x}
				for d := range 3 {
					lo := p[d]*w.Stride[d] - w.Padding[d]
					rng[d] = [2]int{max(lo, 0), min(lo+w.Kernel[d], in[d])}
				}
				var c []int
				for a := rng[0][0]; a < rng[0][1]; a++ {
					for b := rng[1][0]; b < rng[1][1]; b++ {
						for e := rng[2][0]; e < rng[2][1]; e++ {
							c = append(c, (a*in[1]+b)*in[2]+e)
						}
					}
				}
				cells = append(cells, c)
			}
		}
	}
	return cells
}

// Rollout computes attention rollout (Abnar & Zuidema 2020, "Quantifying
// attention flow in transformers") for the CLS output token, adapted to
// MViT's pooled attention. Each block's token-to-token flow is
//
//	M = ½·Ā·P_kv + ½·P_skip
//
// with Ā the head-averaged attention [Nq, Nk], P_kv [Nk, N_in] spreading
// each pooled key evenly over the input tokens its pooling window covers
// (padding excluded) and P_skip [Nq, N_in] doing the same for the residual
// path's max-pool window (the identity where the block does not pool); the
// CLS token maps to itself. Every M is row-stochastic, so the product of
// the blocks' M, read from the last block's CLS query, is a distribution
// over the patch embedding's tokens and the input CLS token. Rollout
// returns the patch tokens' part in patch-grid order (the CLS share is left
// out); it is computed as a vector–matrix chain, never forming a product
// of full matrices.
func Rollout(l Layout, blocks []BlockAttention) ([]float32, error) {
	if len(blocks) != len(l.Blocks) {
		return nil, fmt.Errorf("explain: rollout: %d blocks of attention for %d blocks", len(blocks), len(l.Blocks))
	}
	for i, b := range blocks {
		if err := b.check(i, l.Blocks[i]); err != nil {
			return nil, err
		}
	}
	last := l.Blocks[len(l.Blocks)-1]
	v := make([]float64, last.Q.Tokens()+1)
	v[0] = 1
	for i := len(blocks) - 1; i >= 0; i-- {
		a, bl := blocks[i], l.Blocks[i]
		// u = v·Ā
		u := make([]float64, a.Nk)
		inv := 1 / float64(a.Heads)
		for h := range a.Heads {
			for q := range a.Nq {
				if v[q] == 0 {
					continue
				}
				wq := v[q] * inv
				row := a.Data[(h*a.Nq+q)*a.Nk : (h*a.Nq+q+1)*a.Nk]
				for k, x := range row {
					u[k] += wq * float64(x)
				}
			}
		}
		w := make([]float64, bl.In.Tokens()+1)
		spread(w, u, bl.KVWindow, bl.In, bl.KV)
		spread(w, v, bl.SkipWindow, bl.In, bl.Q)
		for j := range w {
			w[j] *= 0.5
		}
		v = w
	}
	out := make([]float32, len(v)-1)
	for i := range out {
		out[i] = float32(v[i+1])
	}
	return out, nil
}

// spread adds src (CLS first, then tokens of grid from) onto dst (CLS
// first, then tokens of grid in), each token's mass divided evenly over
// the input cells of its pooling window (identity without a window).
func spread(dst, src []float64, w *ops.Window, in, from mvit.Grid) {
	dst[0] += src[0]
	if w == nil {
		for i, x := range src[1:] {
			dst[i+1] += x
		}
		return
	}
	for k, cells := range windowCells(*w, in, from) {
		if x := src[k+1]; x != 0 && len(cells) > 0 {
			share := x / float64(len(cells))
			for _, c := range cells {
				dst[c+1] += share
			}
		}
	}
}
