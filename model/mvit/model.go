package mvit

import (
	"fmt"
	"math"
	"strings"

	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph building reads best unqualified
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/nn"
)

// Output holds the nodes Encode builds.
type Output struct {
	// Features [B, D] is the final-norm CLS token: the encoder output
	// (docs/reference.md §3.1), with head dropout applied while training.
	Features *Node
	// Logits [B, classes] when the config has a head, else nil.
	Logits *Node
	// Blocks[i] [B, 1+Nq, D_out] is block i's output (before the final norm).
	Blocks []*Node
	// Attention[i] [B, heads, Nq, Nk] is block i's post-softmax attention,
	// CLS included — the maps the paper visualises (65 heads in MViT-B).
	Attention []*Node
	// Embedded [B, 1+N, D] is the patch embedding plus positional encoding.
	Embedded *Node
}

// ParamPath is the variable path of a parameter (pytorchvideo name) under
// scope: dots become scope separators.
func ParamPath(scope *model.Scope, name string) string {
	return model.JoinPath(scope.Scope(), strings.ReplaceAll(name, ".", model.ScopeSeparator))
}

type builder struct {
	cfg   Config
	scope *model.Scope
	g     *Graph
	dtype dtypes.DType
}

// param returns the variable of a named parameter, creating it (with init)
// when the store does not hold it yet.
func (b *builder) param(name string, init model.VariableInitializer, dims ...int) *Node {
	v := b.scope.Store().VariableWithShape(ParamPath(b.scope, name), shapes.Make(b.dtype, dims...), init)
	return v.NodeValue(b.g)
}

// Initialisers for training from scratch, as torchvision's MViT: Linear
// weights N(0, 0.02²) (torchvision truncates at ±2σ), biases 0, LayerNorm
// (1, 0), positional embeddings N(0, 0.02²), convolutions PyTorch's default
// U(±1/√fan_in).
func (b *builder) linearW() model.VariableInitializer {
	return initializer.RandomNormalFn(b.scope, 0.02)
}
func (b *builder) convW(fanIn int) model.VariableInitializer {
	bound := 1 / math.Sqrt(float64(fanIn))
	return initializer.RandomUniformFn(b.scope, -bound, bound)
}

func (b *builder) dense(x *Node, name string, in, out int, act activation.Type) *Node {
	w := b.param(name+".weight", b.linearW(), out, in)
	bias := b.param(name+".bias", initializer.Zero, out)
	return nn.Dense(x, w, bias, compute.DenseLayoutOutputsInput, act)
}

func (b *builder) layerNorm(x *Node, name string, dim int, eps float64) *Node {
	gamma := b.param(name+".weight", initializer.One, dim)
	beta := b.param(name+".bias", initializer.Zero, dim)
	return nn.LayerNorm(x, []int{-1}, eps, gamma, beta, nil)
}

// Encode builds the MViT on a clip batch x [B, C, T, H, W] (float32, already
// normalised), reading and creating variables under scope.
func Encode(scope *model.Scope, cfg Config, x *Node) *Output {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	want := []int{x.Shape().Dimensions[0], cfg.InChannels, cfg.Frames, cfg.Height, cfg.Width}
	if x.Rank() != 5 || !equalInts(x.Shape().Dimensions, want) {
		panic(fmt.Sprintf("mvit.Encode(%s): input %s, want [B, %d, %d, %d, %d]", cfg.Name, x.Shape(), cfg.InChannels, cfg.Frames, cfg.Height, cfg.Width))
	}
	b := &builder{cfg: cfg, scope: scope, g: x.Graph(), dtype: x.DType()}
	out := &Output{}
	h := b.embed(x)
	out.Embedded = h
	for i, bc := range cfg.Blocks {
		var attn *Node
		h, attn = b.block(i, bc, cfg.Shapes()[i], h)
		out.Blocks = append(out.Blocks, h)
		out.Attention = append(out.Attention, attn)
	}
	h = b.layerNorm(h, "norm_embed", cfg.OutDim(), cfg.NormEps)
	feat := Squeeze(Slice(h, AxisRange(), AxisElem(0), AxisRange()), 1)
	feat = layers.DropoutStatic(scope, feat, cfg.HeadDropout)
	out.Features = feat
	if cfg.NumClasses > 0 {
		out.Logits = b.dense(feat, "head.proj", cfg.OutDim(), cfg.NumClasses, activation.TypeNone)
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// embed: Conv3D patch embedding, CLS token and positional encodings.
func (b *builder) embed(x *Node) *Node {
	c := b.cfg
	d := c.EmbedDim()
	k := c.Patch.Kernel
	fanIn := c.InChannels * k[0] * k[1] * k[2]
	w := b.param("patch_embed.patch_model.weight", b.convW(fanIn), d, c.InChannels, k[0], k[1], k[2])
	bias := b.param("patch_embed.patch_model.bias", b.convW(fanIn), d)
	y := ops.Conv3D(x, w, bias, c.Patch, c.Impl) // [B, T', H', W', D]
	batch := x.Shape().Dimensions[0]
	g := c.PatchGrid()
	tokens := Reshape(y, batch, g.Tokens(), d)

	pe := b.linearW()
	cls := b.param("cls_positional_encoding.cls_token", pe, 1, 1, d)
	spatial := b.param("cls_positional_encoding.pos_embed_spatial", pe, 1, g[1]*g[2], d)
	temporal := b.param("cls_positional_encoding.pos_embed_temporal", pe, 1, g[0], d)
	classPos := b.param("cls_positional_encoding.pos_embed_class", pe, 1, 1, d)
	// pos[t·HW + s] = spatial[s] + temporal[t]; the CLS token gets classPos.
	pos := Add(Reshape(spatial, 1, 1, g[1]*g[2], d), Reshape(temporal, 1, g[0], 1, d))
	pos = Concatenate([]*Node{classPos, Reshape(pos, 1, g.Tokens(), d)}, 1)
	h := Concatenate([]*Node{BroadcastToDims(cls, batch, 1, d), tokens}, 1)
	return Add(h, pos)
}

// splitCLS separates the CLS token (index 0 of axis) from the grid tokens.
func splitCLS(x *Node, axis int) (cls, rest *Node) {
	return SliceAxis(x, axis, AxisRange(0, 1)), SliceAxis(x, axis, AxisRangeToEnd(1))
}

// pool applies depthwise pooling and per-head LayerNorm to a projection
// given as its CLS token cls [B, 1, d] and its grid tokens in channels-first
// layout rest [d, B, T, H, W] (d = heads·hd, head-major channels). It returns
// the pooled tensor in attention layout [B·heads, 1+N', hd]; the CLS token
// bypasses the pooling. scale multiplies the result (folded into the norm's
// affine step).
func (b *builder) pool(cls, rest *Node, which, prefix string, heads int, w ops.Window, scale float64) *Node {
	d := rest.Shape().Dimensions[0]
	hd := d / heads
	k := w.Kernel
	kernel := b.param(prefix+"attn.pool_"+which+".weight", b.convW(k[0]*k[1]*k[2]), hd, 1, k[0], k[1], k[2])
	pooled := ops.DepthwiseConv3DHeads(rest, kernel, heads, w, b.cfg.Impl) // [B·heads, N', hd]
	y := Concatenate([]*Node{toHeads(cls, heads), pooled}, 1)
	name := prefix + "attn.norm_" + which
	gamma := b.param(name+".weight", initializer.One, hd)
	beta := b.param(name+".bias", initializer.Zero, hd)
	if scale != 1 {
		gamma, beta = MulScalar(gamma, scale), MulScalar(beta, scale)
	}
	return nn.LayerNorm(y, []int{-1}, b.cfg.PoolNormEps, gamma, beta, nil)
}

// toHeads turns [B, N, heads·hd] into [B·heads, N, hd].
func toHeads(x *Node, heads int) *Node {
	dims := x.Shape().Dimensions
	batch, n, d := dims[0], dims[1], dims[2]
	if heads == 1 {
		return Reshape(x, batch, n, d)
	}
	x = TransposeAllAxes(Reshape(x, batch, n, heads, d/heads), 0, 2, 1, 3)
	return Reshape(x, batch*heads, n, d/heads)
}

// fromHeads is the inverse of toHeads.
func fromHeads(x *Node, batch, heads int) *Node {
	dims := x.Shape().Dimensions
	n, hd := dims[1], dims[2]
	if heads == 1 {
		return Reshape(x, batch, n, hd)
	}
	x = TransposeAllAxes(Reshape(x, batch, heads, n, hd), 0, 2, 1, 3)
	return Reshape(x, batch, n, heads*hd)
}

// attention returns softmax(q·kᵀ)·v and the attention maps for q [BH, Nq,
// hd] (already scaled), k and v [BH, Nk, hd].
func attention(q, k, v *Node) (out, attn *Node) {
	scores := DotGeneral(q, []int{2}, []int{0}, k, []int{2}, []int{0}) // [BH, Nq, Nk]
	attn = Softmax(scores, -1)
	return DotGeneral(attn, []int{2}, []int{0}, v, []int{1}, []int{0}), attn // [BH, Nq, hd]
}

// block is one MultiScaleBlock; it returns the output and the attention
// maps [B, heads, Nq, Nk].
func (b *builder) block(i int, bc BlockConfig, s BlockShape, x *Node) (*Node, *Node) {
	p := fmt.Sprintf("blocks.%d.", i)
	dims := x.Shape().Dimensions
	batch, d := dims[0], dims[2]
	heads, hd := bc.Heads, bc.HeadDim()

	xn := b.layerNorm(x, p+"norm1", d, b.cfg.NormEps)
	// The CLS token bypasses the pooling: split it off once, before the
	// projections. The grid tokens of a pooled projection are computed
	// channels-first, Wx as [d, B·N] (the matmul's native transposed layout,
	// with the bias as an extra input column), which is the layout the
	// pooling works in.
	var xnCLS, xnAug *Node
	if bc.PoolsQ() || bc.PoolsKV() {
		var rest *Node
		xnCLS, rest = splitCLS(xn, 1)
		ones := Ones(b.g, shapes.Make(b.dtype, batch, s.In.Tokens(), 1))
		xnAug = Reshape(Concatenate([]*Node{rest, ones}, 2), batch*s.In.Tokens(), d+1)
	}
	// proj returns a q/k/v projection: whole [B, N, d], or split as the CLS
	// token [B, 1, d] and the channels-first grid [d, B, T, H, W].
	proj := func(m string, split bool, scale float64) (whole, cls, rest *Node) {
		w := b.param(p+"attn."+m+".weight", b.linearW(), d, d)
		bias := b.param(p+"attn."+m+".bias", initializer.Zero, d)
		if scale != 1 {
			w, bias = MulScalar(w, scale), MulScalar(bias, scale)
		}
		if split {
			wAug := Concatenate([]*Node{w, Reshape(bias, d, 1)}, 1) // [d, d+1]
			rest = DotGeneral(wAug, []int{1}, nil, xnAug, []int{1}, nil)
			rest = Reshape(rest, d, batch, s.In[0], s.In[1], s.In[2])
			return nil, nn.Dense(xnCLS, w, bias, compute.DenseLayoutOutputsInput), rest
		}
		return nn.Dense(xn, w, bias, compute.DenseLayoutOutputsInput), nil, nil
	}
	// q, k and v in attention layout [B·heads, N, hd], pooled where
	// configured; the 1/√hd attention scale is folded into q's last affine
	// step (projection or pooling norm).
	scale := 1 / math.Sqrt(float64(hd))
	var q, k, v *Node
	if bc.PoolsKV() {
		_, kc, kr := proj("k", true, 1)
		_, vc, vr := proj("v", true, 1)
		k = b.pool(kc, kr, "k", p, heads, bc.KVWindow(), 1)
		v = b.pool(vc, vr, "v", p, heads, bc.KVWindow(), 1)
	} else {
		kw, _, _ := proj("k", false, 1)
		vw, _, _ := proj("v", false, 1)
		k, v = toHeads(kw, heads), toHeads(vw, heads)
	}
	if bc.PoolsQ() {
		_, qc, qr := proj("q", true, 1)
		q = b.pool(qc, qr, "q", p, heads, bc.QWindow(), scale)
	} else {
		qw, _, _ := proj("q", false, scale)
		q = toHeads(qw, heads)
	}
	o, attn := attention(q, k, v)
	nq := o.Shape().Dimensions[1]
	attn = Reshape(attn, batch, heads, nq, attn.Shape().Dimensions[2])
	o = b.dense(fromHeads(o, batch, heads), p+"attn.proj", d, d, activation.TypeNone)

	skip := x
	if bc.PoolsSkip() {
		cls, rest := splitCLS(x, 1)
		rest = ops.MaxPool3D(Reshape(rest, batch, s.In[0], s.In[1], s.In[2], d), bc.SkipWindow(), b.cfg.Impl)
		skip = Concatenate([]*Node{cls, Reshape(rest, batch, s.Q.Tokens(), d)}, 1)
	}
	x = Add(skip, o)
	xn2 := b.layerNorm(x, p+"norm2", d, b.cfg.NormEps)
	hidden := b.cfg.MLPRatio * d
	mlp := b.dense(xn2, p+"mlp.fc1", d, hidden, activation.TypeGelu)
	mlp = b.dense(mlp, p+"mlp.fc2", hidden, bc.DimOut, activation.TypeNone)
	if bc.DimIn != bc.DimOut {
		x = b.dense(xn2, p+"proj", d, bc.DimOut, activation.TypeNone)
	}
	return Add(x, mlp), attn
}
