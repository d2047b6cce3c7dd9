package mvit

import (
	"fmt"

	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/model/weights"
)

// BlockConfig is one multiscale block, in torchvision's MSBlockConfig terms.
type BlockConfig struct {
	Heads         int
	DimIn, DimOut int
	// KernelQ/StrideQ pool the queries (and, with a max pool of kernel
	// stride+1, the skip connection); all-zero means no query pooling.
	KernelQ, StrideQ [3]int
	// KernelKV/StrideKV pool keys and values; all-zero means none.
	KernelKV, StrideKV [3]int
}

// PoolsQ reports whether queries are pooled (torchvision: kernel or stride
// product > 1).
func (b BlockConfig) PoolsQ() bool { return prod(b.KernelQ) > 1 || prod(b.StrideQ) > 1 }

// PoolsKV reports whether keys and values are pooled.
func (b BlockConfig) PoolsKV() bool { return prod(b.KernelKV) > 1 || prod(b.StrideKV) > 1 }

// PoolsSkip reports whether the skip connection is max-pooled.
func (b BlockConfig) PoolsSkip() bool { return prod(b.StrideQ) > 1 }

// HeadDim is the per-head channel count.
func (b BlockConfig) HeadDim() int { return b.DimIn / b.Heads }

func prod(v [3]int) int { return v[0] * v[1] * v[2] }

func poolWindow(kernel, stride [3]int) ops.Window {
	w := ops.Window{Kernel: kernel, Stride: stride}
	for i := range 3 {
		if w.Stride[i] == 0 {
			w.Stride[i] = 1
		}
		if w.Kernel[i] == 0 {
			w.Kernel[i] = 1
		}
		w.Padding[i] = w.Kernel[i] / 2
	}
	return w
}

// QWindow is the query pooling window (stride 1 kernel 1 when unpooled).
func (b BlockConfig) QWindow() ops.Window { return poolWindow(b.KernelQ, b.StrideQ) }

// KVWindow is the key/value pooling window.
func (b BlockConfig) KVWindow() ops.Window { return poolWindow(b.KernelKV, b.StrideKV) }

// SkipWindow is the skip connection's max pool: kernel stride+1 where the
// stride exceeds 1, padding kernel/2 (pytorchvideo and torchvision agree).
func (b BlockConfig) SkipWindow() ops.Window {
	var k [3]int
	for i, s := range b.StrideQ {
		if s > 1 {
			k[i] = s + 1
		} else {
			k[i] = 1
		}
	}
	return poolWindow(k, b.StrideQ)
}

// Config is a full MViT.
type Config struct {
	Name string
	// Input clip: channels, frames, height, width.
	InChannels, Frames, Height, Width int
	// Patch embedding Conv3d.
	Patch  ops.Window
	Blocks []BlockConfig
	// MLPRatio is the MLP hidden width over the block's input width.
	MLPRatio int
	// NormEps is the epsilon of norm1, norm2 and the final norm (1e-6).
	NormEps float64
	// PoolNormEps is the epsilon of the LayerNorms after Q/K/V pooling:
	// 1e-5 in pytorchvideo 0.1.3 (nn.LayerNorm's default, the authors'
	// model), 1e-6 in torchvision.
	PoolNormEps float64
	// NumClasses > 0 adds the classification head (Linear after dropout).
	NumClasses int
	// HeadDropout is applied to the CLS features while training (0.5 in
	// both pytorchvideo and torchvision; active in the authors' fine-tuning
	// even with a frozen encoder).
	HeadDropout float64
	// Impl chooses the Conv3D/pooling implementations (ops.Auto by default).
	Impl ops.Impl
}

// Names of the presets, as used by the command line (--arch).
const (
	ArchMViTB16x4            = "mvit-b-16x4"             // pytorchvideo semantics (the authors' encoder)
	ArchMViTB16x4Torchvision = "mvit-b-16x4-torchvision" // torchvision mvit_v1_b semantics (pool-norm eps 1e-6)
)

// MViTB16x4 is MViT-B 16×4 as the authors built it (pytorchvideo 0.1.3
// mvit_base_16x4, docs/reference.md §3.1): 16 blocks on 3×16×224×224, heads
// 1,2,2,4×11,8,8, widths 96→192→384→768, no classification head.
func MViTB16x4() Config {
	heads := []int{1, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 8, 8}
	in := []int{96, 192, 192, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 768, 768}
	out := []int{192, 192, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 768, 768, 768}
	kv := []int{8, 4, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1}
	c := Config{
		Name:       ArchMViTB16x4,
		InChannels: 3, Frames: 16, Height: 224, Width: 224,
		Patch:    ops.Window{Kernel: [3]int{3, 7, 7}, Stride: [3]int{2, 4, 4}, Padding: [3]int{1, 3, 3}},
		MLPRatio: 4, NormEps: 1e-6, PoolNormEps: 1e-5, HeadDropout: 0.5,
	}
	for i := range heads {
		b := BlockConfig{Heads: heads[i], DimIn: in[i], DimOut: out[i],
			KernelKV: [3]int{3, 3, 3}, StrideKV: [3]int{1, kv[i], kv[i]}}
		if i == 1 || i == 3 || i == 14 {
			b.KernelQ, b.StrideQ = [3]int{3, 3, 3}, [3]int{1, 2, 2}
		}
		c.Blocks = append(c.Blocks, b)
	}
	return c
}

// MViTB16x4Torchvision is [MViTB16x4] with torchvision's numerics (pool-norm
// eps 1e-6) and its 400-class Kinetics head when classes > 0.
func MViTB16x4Torchvision(classes int) Config {
	c := MViTB16x4()
	c.Name = ArchMViTB16x4Torchvision
	c.PoolNormEps = 1e-6
	c.NumClasses = classes
	return c
}

// Tiny is the four-block test model of testdata/gen/model/mvit (torchvision
// semantics): 3×4×32×32 input, widths 8→16→32, heads 1,2,2,4, q pooling at
// blocks 1 and 3, kv strides (1,4,4), (1,2,2), (1,1,1), (1,1,1).
func Tiny(classes int) Config {
	k3 := [3]int{3, 3, 3}
	return Config{
		Name:       ArchTiny,
		InChannels: 3, Frames: 4, Height: 32, Width: 32,
		Patch:    ops.Window{Kernel: [3]int{3, 7, 7}, Stride: [3]int{2, 4, 4}, Padding: [3]int{1, 3, 3}},
		MLPRatio: 4, NormEps: 1e-6, PoolNormEps: 1e-6, NumClasses: classes, HeadDropout: 0.5,
		Blocks: []BlockConfig{
			{Heads: 1, DimIn: 8, DimOut: 16, KernelKV: k3, StrideKV: [3]int{1, 4, 4}},
			{Heads: 2, DimIn: 16, DimOut: 16, KernelQ: k3, StrideQ: [3]int{1, 2, 2}, KernelKV: k3, StrideKV: [3]int{1, 2, 2}},
			{Heads: 2, DimIn: 16, DimOut: 32, KernelKV: k3, StrideKV: [3]int{1, 1, 1}},
			{Heads: 4, DimIn: 32, DimOut: 32, KernelQ: k3, StrideQ: [3]int{1, 2, 2}, KernelKV: k3, StrideKV: [3]int{1, 1, 1}},
		},
	}
}

// ByName returns a preset by its command-line name.
func ByName(name string) (Config, error) {
	switch name {
	case ArchMViTB16x4:
		return MViTB16x4(), nil
	case ArchMViTB16x4Torchvision:
		return MViTB16x4Torchvision(0), nil
	case ArchTiny:
		return Tiny(0), nil
	}
	return Config{}, fmt.Errorf("mvit: unknown architecture %q (want %s or %s)", name, ArchMViTB16x4, ArchMViTB16x4Torchvision)
}

// EmbedDim is the width of the patch embedding (the first block's input).
func (c Config) EmbedDim() int { return c.Blocks[0].DimIn }

// OutDim is the width of the output features.
func (c Config) OutDim() int { return c.Blocks[len(c.Blocks)-1].DimOut }

// Grid is a token grid (T, H, W).
type Grid [3]int

// Tokens is T·H·W (without the CLS token).
func (g Grid) Tokens() int { return g[0] * g[1] * g[2] }

// PatchGrid is the token grid after the patch embedding.
func (c Config) PatchGrid() Grid {
	return Grid(c.Patch.OutDims(c.Frames, c.Height, c.Width))
}

// BlockShape describes the tensors of one block for a given config.
type BlockShape struct {
	In, Q, KV Grid // input, query (= output) and key/value grids
}

// AttentionDims returns heads, Nq and Nk (CLS included) of a block's maps.
func (s BlockShape) AttentionDims(b BlockConfig) (heads, nq, nk int) {
	return b.Heads, s.Q.Tokens() + 1, s.KV.Tokens() + 1
}

// Shapes returns every block's grids.
func (c Config) Shapes() []BlockShape {
	g := c.PatchGrid()
	out := make([]BlockShape, len(c.Blocks))
	for i, b := range c.Blocks {
		s := BlockShape{In: g, Q: g, KV: g}
		if b.PoolsQ() {
			s.Q = Grid(b.QWindow().OutDims(g[0], g[1], g[2]))
		}
		if b.PoolsKV() {
			s.KV = Grid(b.KVWindow().OutDims(g[0], g[1], g[2]))
		}
		if b.PoolsSkip() {
			if sk := Grid(b.SkipWindow().OutDims(g[0], g[1], g[2])); sk != s.Q {
				// Cannot happen for kernel 3 / stride 2 pooling, but a custom
				// config could make the skip and query grids disagree.
				s.Q = Grid{-1, -1, -1}
			}
		}
		out[i] = s
		g = s.Q
	}
	return out
}

// Validate checks the configuration for consistency.
func (c Config) Validate() error {
	if len(c.Blocks) == 0 {
		return fmt.Errorf("mvit %s: no blocks", c.Name)
	}
	if c.InChannels <= 0 || c.Frames <= 0 || c.Height <= 0 || c.Width <= 0 {
		return fmt.Errorf("mvit %s: bad input size %d×%d×%d×%d", c.Name, c.InChannels, c.Frames, c.Height, c.Width)
	}
	if c.MLPRatio <= 0 || c.NormEps <= 0 || c.PoolNormEps <= 0 {
		return fmt.Errorf("mvit %s: MLPRatio, NormEps and PoolNormEps must be positive", c.Name)
	}
	g := c.PatchGrid()
	if g[0] <= 0 || g[1] <= 0 || g[2] <= 0 {
		return fmt.Errorf("mvit %s: patch embedding leaves no tokens (%v)", c.Name, g)
	}
	for i, b := range c.Blocks {
		if b.Heads <= 0 || b.DimIn <= 0 || b.DimOut <= 0 || b.DimIn%b.Heads != 0 {
			return fmt.Errorf("mvit %s: block %d: %d heads cannot split width %d", c.Name, i, b.Heads, b.DimIn)
		}
		if i > 0 && c.Blocks[i-1].DimOut != b.DimIn {
			return fmt.Errorf("mvit %s: block %d takes width %d but block %d gives %d", c.Name, i, b.DimIn, i-1, c.Blocks[i-1].DimOut)
		}
	}
	for i, s := range c.Shapes() {
		for _, gg := range []Grid{s.Q, s.KV} {
			if gg[0] <= 0 || gg[1] <= 0 || gg[2] <= 0 {
				return fmt.Errorf("mvit %s: block %d: pooling of grid %v is invalid (%v)", c.Name, i, s.In, gg)
			}
		}
	}
	return nil
}

// Specs lists every parameter (pytorchvideo 0.1.3 names) with its shape.
func (c Config) Specs() []weights.Spec {
	var s []weights.Spec
	add := func(name string, shape ...int) { s = append(s, weights.Spec{Name: name, Shape: shape}) }
	d0 := c.EmbedDim()
	g := c.PatchGrid()
	k := c.Patch.Kernel
	add("patch_embed.patch_model.weight", d0, c.InChannels, k[0], k[1], k[2])
	add("patch_embed.patch_model.bias", d0)
	add("cls_positional_encoding.cls_token", 1, 1, d0)
	add("cls_positional_encoding.pos_embed_spatial", 1, g[1]*g[2], d0)
	add("cls_positional_encoding.pos_embed_temporal", 1, g[0], d0)
	add("cls_positional_encoding.pos_embed_class", 1, 1, d0)
	for i, b := range c.Blocks {
		p := fmt.Sprintf("blocks.%d.", i)
		d, hd, hidden := b.DimIn, b.HeadDim(), c.MLPRatio*b.DimIn
		add(p+"norm1.weight", d)
		add(p+"norm1.bias", d)
		for _, n := range []string{"q", "k", "v", "proj"} {
			add(p+"attn."+n+".weight", d, d)
			add(p+"attn."+n+".bias", d)
		}
		pools := []string{}
		if b.PoolsQ() {
			pools = append(pools, "q")
		}
		if b.PoolsKV() {
			pools = append(pools, "k", "v")
		}
		for _, n := range pools {
			w := b.KVWindow()
			if n == "q" {
				w = b.QWindow()
			}
			add(p+"attn.pool_"+n+".weight", hd, 1, w.Kernel[0], w.Kernel[1], w.Kernel[2])
			add(p+"attn.norm_"+n+".weight", hd)
			add(p+"attn.norm_"+n+".bias", hd)
		}
		add(p+"norm2.weight", d)
		add(p+"norm2.bias", d)
		add(p+"mlp.fc1.weight", hidden, d)
		add(p+"mlp.fc1.bias", hidden)
		add(p+"mlp.fc2.weight", b.DimOut, hidden)
		add(p+"mlp.fc2.bias", b.DimOut)
		if b.DimIn != b.DimOut {
			add(p+"proj.weight", b.DimOut, d)
			add(p+"proj.bias", b.DimOut)
		}
	}
	add("norm_embed.weight", c.OutDim())
	add("norm_embed.bias", c.OutDim())
	if c.NumClasses > 0 {
		add("head.proj.weight", c.NumClasses, c.OutDim())
		add("head.proj.bias", c.NumClasses)
	}
	return s
}

// NumParameters counts the parameters of the configuration.
func (c Config) NumParameters() int {
	n := 0
	for _, s := range c.Specs() {
		n += weights.NumElements(s.Shape)
	}
	return n
}

// MultiplyAdds estimates the multiply-accumulate count of one forward pass
// on one clip (matmuls, convolutions and the attention products; the
// element-wise work is ignored). FLOPs ≈ 2 × this.
func (c Config) MultiplyAdds() int64 {
	var n int64
	g := c.PatchGrid()
	k := c.Patch.Kernel
	n += int64(g.Tokens()) * int64(c.EmbedDim()*c.InChannels*k[0]*k[1]*k[2])
	for i, s := range c.Shapes() {
		b := c.Blocks[i]
		N, Nq, Nk := int64(s.In.Tokens()+1), int64(s.Q.Tokens()+1), int64(s.KV.Tokens()+1)
		d := int64(b.DimIn)
		n += 3 * N * d * d                  // q, k, v
		n += 2 * Nq * Nk * d                // q·kᵀ and attn·v over all heads
		n += Nq * d * d                     // proj
		n += Nq * d * int64(c.MLPRatio) * d // fc1
		n += Nq * int64(c.MLPRatio) * d * int64(b.DimOut)
		if b.DimIn != b.DimOut {
			n += Nq * d * int64(b.DimOut)
		}
		hd := int64(b.HeadDim()) * int64(b.Heads)
		if b.PoolsQ() {
			n += int64(s.Q.Tokens()) * hd * int64(prod(b.QWindow().Kernel))
		}
		if b.PoolsKV() {
			n += 2 * int64(s.KV.Tokens()) * hd * int64(prod(b.KVWindow().Kernel))
		}
	}
	return n
}

// ArchTiny names the [Tiny] test model (no head) on the command line.
const ArchTiny = "mvit-tiny"

// Archs lists the preset names [ByName] accepts.
func Archs() []string { return []string{ArchMViTB16x4, ArchMViTB16x4Torchvision, ArchTiny} }
