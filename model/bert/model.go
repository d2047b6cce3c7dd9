package bert

import (
	"fmt"
	"math"
	"strings"

	"github.com/cmrfm/cmrfm/model/weights"
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

// Output holds the nodes [Encode] builds.
type Output struct {
	// Hidden[0] [B, L, H] is the embedding output; Hidden[i] is layer i's
	// output (HF output_hidden_states). Hidden[len-1] is the last hidden
	// state.
	Hidden []*Node
	// Last [B, L, H] is the last hidden state (HF last_hidden_state).
	Last *Node
	// Pooled [B, H] is tanh(W·Last[:, 0] + b) (HF pooler_output), nil
	// without a pooler.
	Pooled *Node
	// Mask [B, L] is the attention mask as float32 (1 real, 0 padding).
	Mask *Node
}

// VariablePath is the path of the GoMLX variable that holds the parameter
// with Hugging Face name hfName under scope. Dots become scope separators;
// the weight of a Linear layer is stored transposed as "kernel" [in, out].
func VariablePath(scope *model.Scope, hfName string) string {
	return weights.VariablePath(scope, variableName(hfName))
}

// variableName maps an HF parameter name to the variable name (dots kept).
func variableName(hfName string) string {
	if isLinearWeight(hfName) {
		return strings.TrimSuffix(hfName, "weight") + "kernel"
	}
	return hfName
}

// isLinearWeight reports whether an HF parameter is an nn.Linear weight
// ([out, in]), which cmrfm stores transposed.
func isLinearWeight(hfName string) bool {
	if !strings.HasSuffix(hfName, ".weight") {
		return false
	}
	m := strings.TrimSuffix(hfName, ".weight")
	return strings.HasSuffix(m, ".query") || strings.HasSuffix(m, ".key") || strings.HasSuffix(m, ".value") || strings.HasSuffix(m, ".dense")
}

type builder struct {
	cfg   Config
	scope *model.Scope
	g     *Graph
	dtype dtypes.DType
}

// param returns the variable of the parameter with HF name hfName and HF
// shape dims, creating it with init when the store does not hold it yet.
// Frozen parameters are (re)marked non-trainable.
func (b *builder) param(hfName string, frozen bool, init model.VariableInitializer, dims ...int) *Node {
	if isLinearWeight(hfName) {
		dims = []int{dims[1], dims[0]}
	}
	v := b.scope.Store().VariableWithShape(VariablePath(b.scope, hfName), shapes.Make(b.dtype, dims...), init)
	v.SetTrainable(!frozen)
	return v.NodeValue(b.g)
}

// Initialisers for training from scratch, as HF BertPreTrainedModel:
// Linear and Embedding N(0, 0.02²) (HF's initializer_range), biases 0,
// LayerNorm (1, 0). HF also zeroes the padding row of the word embeddings;
// from-scratch BERT training is not a cmrfm use case, so that detail is
// left out.
func (b *builder) normalInit() model.VariableInitializer {
	return initializer.RandomNormalFn(b.scope, 0.02)
}

// dense is an nn.Linear: x·kernel + bias with kernel [in, out].
func (b *builder) dense(x *Node, name string, frozen bool, in, out int, act activation.Type) *Node {
	w := b.param(name+".weight", frozen, b.normalInit(), out, in)
	bias := b.param(name+".bias", frozen, initializer.Zero, out)
	return nn.Dense(x, w, bias, compute.DenseLayoutInputOutputs, act)
}

func (b *builder) layerNorm(x *Node, name string, frozen bool) *Node {
	h := b.cfg.Hidden
	gamma := b.param(name+".weight", frozen, initializer.One, h)
	beta := b.param(name+".bias", frozen, initializer.Zero, h)
	return nn.LayerNorm(x, []int{-1}, b.cfg.LayerNormEps, gamma, beta, nil)
}

func (b *builder) dropout(x *Node, rate float64) *Node {
	return layers.DropoutStatic(b.scope, x, rate)
}

// Encode builds BERT on token ids [B, L] (any integer dtype), reading and
// creating variables under scope. tokenTypes [B, L] may be nil (all type
// 0, as HF does when token_type_ids is omitted); mask [B, L] (1 for real
// tokens, 0 for padding; any numeric or boolean dtype) may be nil (no
// padding). Shapes must be static; L ≤ cfg.MaxPositions.
//
// The graph panics on a bad configuration or bad input shapes (GoMLX's
// convention while building); [Encoder] turns that into errors.
func Encode(scope *model.Scope, cfg Config, ids, tokenTypes, mask *Node) *Output {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if ids.Rank() != 2 || !ids.DType().IsInt() {
		panic(fmt.Sprintf("bert.Encode(%s): input ids %s, want an integer [batch, seq]", cfg.Name, ids.Shape()))
	}
	batch, seq := ids.Shape().Dimensions[0], ids.Shape().Dimensions[1]
	if seq > cfg.MaxPositions {
		panic(fmt.Sprintf("bert.Encode(%s): sequence length %d exceeds max_position_embeddings %d", cfg.Name, seq, cfg.MaxPositions))
	}
	for name, n := range map[string]*Node{"token types": tokenTypes, "mask": mask} {
		if n != nil && (n.Rank() != 2 || n.Shape().Dimensions[0] != batch || n.Shape().Dimensions[1] != seq) {
			panic(fmt.Sprintf("bert.Encode(%s): %s %s, want [%d, %d] like the ids", cfg.Name, name, n.Shape(), batch, seq))
		}
	}
	g := ids.Graph()
	b := &builder{cfg: cfg, scope: scope, g: g, dtype: dtypes.Float32}
	out := &Output{}

	var maskF *Node
	if mask != nil {
		maskF = ConvertDType(mask, dtypes.Float32)
	} else {
		maskF = Ones(g, shapes.Make(dtypes.Float32, batch, seq))
	}
	out.Mask = maskF
	// HF's extended attention mask: (1 − mask)·finfo(float32).min, added to
	// the scores of every head and query.
	// It is broadcast once to [heads·B, L, L] (head-major, as the attention
	// lays out its batch) here, so that every layer adds it without
	// broadcasting (much faster on the pure-Go backend).
	ext := MulScalar(OneMinus(maskF), -math.MaxFloat32)
	ext = BroadcastToDims(Reshape(ext, 1, batch, 1, seq), cfg.Heads, batch, seq, seq)
	ext = Reshape(ext, cfg.Heads*batch, seq, seq)

	// With the embeddings frozen, nothing below the last frozen stage
	// trains, so the gradient stops there (no backward work below it). With
	// trainable embeddings under frozen layers, it must flow through them.
	stopAt := -2 // no stop
	if cfg.Freeze.Embeddings {
		stopAt = cfg.Freeze.Layers - 1 // -1: after the embeddings
	}
	h := b.embeddings(ids, tokenTypes)
	if stopAt == -1 {
		h = StopGradient(h)
	}
	out.Hidden = append(out.Hidden, h)
	for i := range cfg.Layers {
		h = b.layer(i, h, ext)
		if i == stopAt {
			h = StopGradient(h)
		}
		out.Hidden = append(out.Hidden, h)
	}
	out.Last = h
	if !cfg.NoPooler {
		cls := Reshape(Slice(h, AxisRange(), AxisElem(0), AxisRange()), batch, cfg.Hidden)
		out.Pooled = b.dense(cls, "pooler.dense", false, cfg.Hidden, cfg.Hidden, activation.TypeTanh)
	}
	return out
}

// embeddings: word + token type + position, LayerNorm, dropout.
func (b *builder) embeddings(ids, tokenTypes *Node) *Node {
	c := b.cfg
	frozen := c.Freeze.Embeddings
	batch, seq := ids.Shape().Dimensions[0], ids.Shape().Dimensions[1]
	word := b.param("embeddings.word_embeddings.weight", frozen, b.normalInit(), c.VocabSize, c.Hidden)
	pos := b.param("embeddings.position_embeddings.weight", frozen, b.normalInit(), c.MaxPositions, c.Hidden)
	types := b.param("embeddings.token_type_embeddings.weight", frozen, b.normalInit(), c.TypeVocabSize, c.Hidden)

	e := Gather(word, InsertAxes(ids, -1)) // [B, L, H]
	if c.PadTokenID >= 0 && !frozen {
		// nn.Embedding(padding_idx): the padding row gets no gradient.
		isPad := InsertAxes(Equal(ids, Scalar(b.g, ids.DType(), c.PadTokenID)), -1)
		e = Where(BroadcastToDims(isPad, batch, seq, c.Hidden), StopGradient(e), e)
	}
	var te *Node
	if tokenTypes == nil {
		te = Reshape(Slice(types, AxisElem(0), AxisRange()), 1, 1, c.Hidden)
	} else {
		te = Gather(types, InsertAxes(tokenTypes, -1))
	}
	e = Add(e, te)
	pe := Reshape(Slice(pos, AxisRange(0, seq), AxisRange()), 1, seq, c.Hidden)
	e = Add(e, pe)
	e = b.layerNorm(e, "embeddings.LayerNorm", frozen)
	e.AssertDims(batch, seq, c.Hidden)
	return b.dropout(e, c.HiddenDropout)
}

// layer is one BertLayer (post-LN): self-attention, then the FFN. ext is
// the additive mask broadcast to [heads·B, L, L].
//
// q, k and v come from one fused product (one pass over x).
func (b *builder) layer(i int, x, ext *Node) *Node {
	c := b.cfg
	p := fmt.Sprintf("encoder.layer.%d.", i)
	frozen := i < c.Freeze.Layers
	batch, seq, h := x.Shape().Dimensions[0], x.Shape().Dimensions[1], c.Hidden
	nh, hd := c.Heads, c.HeadDim()

	// HF divides the scores by √hd; scaling the query projection instead is
	// the same product (bit for bit when √hd is a power of 2, as bert-base's
	// 8), and cheaper than scaling the scores.
	scale := 1 / math.Sqrt(float64(hd))
	var kernels, biases []*Node
	for _, n := range []string{"query", "key", "value"} {
		name := p + "attention.self." + n
		w := b.param(name+".weight", frozen, b.normalInit(), h, h)
		bias := b.param(name+".bias", frozen, initializer.Zero, h)
		if n == "query" {
			w, bias = MulScalar(w, scale), MulScalar(bias, scale)
		}
		kernels, biases = append(kernels, w), append(biases, bias)
	}
	qkv := nn.Dense(x, Concatenate(kernels, 1), Concatenate(biases, 0), compute.DenseLayoutInputOutputs) // [B, L, 3H]
	// Heads to the batch axis, head-major: [heads·B, L, hd] for q, k and v.
	heads := func(j int) *Node {
		t := Reshape(Slice(qkv, AxisRange(), AxisRange(), AxisRange(j*h, (j+1)*h)), batch, seq, nh, hd)
		return Reshape(TransposeAllAxes(t, 2, 0, 1, 3), nh*batch, seq, hd)
	}
	q, k, v := heads(0), heads(1), heads(2)

	scores := DotGeneral(q, []int{2}, []int{0}, k, []int{2}, []int{0}) // [heads·B, L, L]
	scores = Add(scores, ext)
	probs := Softmax(scores, -1)
	probs = b.dropout(probs, c.AttentionDropout)
	ctx := DotGeneral(probs, []int{2}, []int{0}, v, []int{1}, []int{0}) // [heads·B, L, hd]
	// Back to [B, L, H] with feature index head·hd + e, as HF's context layer.
	ctx = Reshape(TransposeAllAxes(Reshape(ctx, nh, batch, seq, hd), 1, 2, 0, 3), batch, seq, h)

	a := b.dense(ctx, p+"attention.output.dense", frozen, h, h, activation.TypeNone)
	a = b.layerNorm(Add(b.dropout(a, c.HiddenDropout), x), p+"attention.output.LayerNorm", frozen)

	f := b.dense(a, p+"intermediate.dense", frozen, h, c.Intermediate, activation.TypeGelu)
	f = b.dense(f, p+"output.dense", frozen, c.Intermediate, h, activation.TypeNone)
	out := b.layerNorm(Add(b.dropout(f, c.HiddenDropout), a), p+"output.LayerNorm", frozen)
	out.AssertDims(batch, seq, h)
	return out
}
