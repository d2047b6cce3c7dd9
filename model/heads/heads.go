package heads

import (
	"fmt"
	"strings"

	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph building reads best unqualified
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/nn"
)

// Task selects the head's output.
type Task int

const (
	// Regression: prediction = Scale · logit (LVEF in percent), Huber loss.
	Regression Task = iota
	// Classification: probability = sigmoid(logit), weighted BCE.
	Classification
)

func (t Task) String() string {
	if t == Classification {
		return "classification"
	}
	return "regression"
}

// Config sizes the multi-instance head. RegressionConfig and
// ClassificationConfig return the reference's settings.
type Config struct {
	Task Task
	// InDim is the clip embedding size (512).
	InDim int
	// Hidden is the size of the two fully connected layers (256).
	Hidden int
	// AttnDim is the gated attention's inner size (128).
	AttnDim int
	// Classes is the number of outputs: 1 in the reference (one model per
	// target); more gives a multi-label head sharing the attention.
	Classes int
	// LayerNorm normalises the features before attention (the reference's
	// layernorm flag; the paper uses it for classification).
	LayerNorm    bool
	LayerNormEps float64
	// Dropout is the rate of the three dropout layers (0.25).
	Dropout float64
	// Scale multiplies the regression logit (100: LVEF in percent).
	Scale float64
	// RegressionBias is the initial bias of the regression output (0.57,
	// so the first predictions are ≈57 %).
	RegressionBias float64
}

// RegressionConfig returns the LVEF head: no LayerNorm, ×100, bias 0.57.
func RegressionConfig() Config {
	return Config{Task: Regression, InDim: 512, Hidden: 256, AttnDim: 128, Classes: 1, LayerNormEps: 1e-5,
		Dropout: 0.25, Scale: 100, RegressionBias: 0.57}
}

// ClassificationConfig returns the disease head for n labels, with
// LayerNorm (PAPER; the reference flag defaults to false).
func ClassificationConfig(n int) Config {
	return Config{Task: Classification, InDim: 512, Hidden: 256, AttnDim: 128, Classes: n, LayerNorm: true,
		LayerNormEps: 1e-5, Dropout: 0.25, Scale: 1}
}

// Validate checks the sizes.
func (c Config) Validate() error {
	if c.InDim <= 0 || c.Hidden <= 0 || c.AttnDim <= 0 || c.Classes <= 0 {
		return fmt.Errorf("heads: sizes must be positive: %+v", c)
	}
	if c.Dropout < 0 || c.Dropout >= 1 {
		return fmt.Errorf("heads: dropout %g outside [0, 1)", c.Dropout)
	}
	return nil
}

// LightningPrefix is the prefix of the MIL head's keys in the authors'
// fine-tuned Lightning checkpoints (docs/reference.md §3.3); the projection's
// keys there are ProjectionLightningPrefix + "weight"/"bias".
const (
	LightningPrefix           = "classifier_head."
	ProjectionLightningPrefix = "model.video_proj."
)

// Specs lists the head's parameters with the reference's names (without
// LightningPrefix) and PyTorch shapes ([out, in] for Linear weights).
func (c Config) Specs() []weights.Spec {
	var s []weights.Spec
	add := func(name string, shape ...int) { s = append(s, weights.Spec{Name: name, Shape: shape}) }
	lin := func(name string, in, out int) {
		add(name+".weight", out, in)
		add(name+".bias", out)
	}
	lin("attention_net.0", c.InDim, c.Hidden)
	lin("attention_net.3", c.Hidden, c.Hidden)
	if c.LayerNorm {
		add("attention_net.6.layernorm.weight", c.Hidden)
		add("attention_net.6.layernorm.bias", c.Hidden)
	}
	lin("attention_net.6.attention_a.0", c.Hidden, c.AttnDim)
	lin("attention_net.6.attention_b.0", c.Hidden, c.AttnDim)
	lin("attention_net.6.attention_c", c.AttnDim, 1)
	lin("classifier_head.fc.0", c.Hidden, c.Classes)
	return s
}

// NumParams returns the number of parameters (263,298 for the reference
// regression head; 263,810 with LayerNorm).
func (c Config) NumParams() int {
	n := 0
	for _, s := range c.Specs() {
		n += weights.NumElements(s.Shape)
	}
	return n
}

// ParamPath is the variable path of a parameter (reference name) under
// scope: dots become scope separators.
func ParamPath(scope *model.Scope, name string) string {
	return model.JoinPath(scope.Scope(), strings.ReplaceAll(name, ".", model.ScopeSeparator))
}

// Output holds the nodes MIL builds. B is the batch of bags, N the padded
// bag size.
type Output struct {
	// Logits [B, Classes]: the output layer's values.
	Logits *Node
	// Prediction [B, Classes]: Scale·Logits (regression) or
	// sigmoid(Logits) (classification).
	Prediction *Node
	// Attention [B, N]: softmax of the raw scores over each bag's real
	// instances (0 on padding) — the per-view weights the paper plots.
	Attention *Node
	// Scores [B, N]: the raw attention scores A (before the softmax).
	Scores *Node
	// Hidden1 [B, N, Hidden] after the first Linear+ReLU(+dropout);
	// Features [B, N, Hidden] the (layer-normed) features that are pooled.
	Hidden1, Features *Node
	// Pooled [B, Hidden]: the attention-pooled study embedding M.
	Pooled *Node
}

type builder struct {
	cfg   Config
	scope *model.Scope
	g     *Graph
	dtype dtypes.DType
}

func (b *builder) param(name string, init model.VariableInitializer, dims ...int) *Node {
	v := b.scope.Store().VariableWithShape(ParamPath(b.scope, name), shapes.Make(b.dtype, dims...), init)
	return v.NodeValue(b.g)
}

// dense is torch's Linear: weight [out, in] (xavier_normal_), bias (zeros
// unless bias ≠ 0).
func (b *builder) dense(x *Node, name string, in, out int, bias float64) *Node {
	w := b.param(name+".weight", initializer.XavierNormalFn(b.scope), out, in)
	var binit model.VariableInitializer = initializer.Zero
	if bias != 0 {
		binit = func(g *Graph, s shapes.Shape) *Node { return AddScalar(Zeros(g, s), bias) }
	}
	bv := b.param(name+".bias", binit, out)
	return nn.Dense(x, w, bv, compute.DenseLayoutOutputsInput)
}

// MIL builds the multi-instance gated-attention head on a batch of padded
// bags: h [B, N, InDim] clip embeddings, mask [B, N] (1 for real instances,
// 0 for padding; every bag needs at least one real instance). Variables are
// read or created under scope. Dropout is active when the store is in
// training mode for the graph.
func MIL(scope *model.Scope, cfg Config, h, mask *Node) *Output {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	dims := h.Shape().Dimensions
	if h.Rank() != 3 || dims[2] != cfg.InDim {
		panic(fmt.Sprintf("heads.MIL: embeddings %s, want [B, N, %d]", h.Shape(), cfg.InDim))
	}
	if mask.Rank() != 2 || mask.Shape().Dimensions[0] != dims[0] || mask.Shape().Dimensions[1] != dims[1] {
		panic(fmt.Sprintf("heads.MIL: mask %s, want [%d, %d]", mask.Shape(), dims[0], dims[1]))
	}
	b := &builder{cfg: cfg, scope: scope, g: h.Graph(), dtype: h.DType()}
	out := &Output{}
	x := relu(b.dense(h, "attention_net.0", cfg.InDim, cfg.Hidden, 0))
	x = layers.DropoutStatic(scope, x, cfg.Dropout)
	out.Hidden1 = x
	x = relu(b.dense(x, "attention_net.3", cfg.Hidden, cfg.Hidden, 0))
	x = layers.DropoutStatic(scope, x, cfg.Dropout)
	if cfg.LayerNorm {
		gamma := b.param("attention_net.6.layernorm.weight", initializer.One, cfg.Hidden)
		beta := b.param("attention_net.6.layernorm.bias", initializer.Zero, cfg.Hidden)
		x = nn.LayerNorm(x, []int{-1}, cfg.LayerNormEps, gamma, beta, nil)
	}
	out.Features = x
	a := Tanh(b.dense(x, "attention_net.6.attention_a.0", cfg.Hidden, cfg.AttnDim, 0))
	g := Sigmoid(b.dense(x, "attention_net.6.attention_b.0", cfg.Hidden, cfg.AttnDim, 0))
	scores := b.dense(Mul(a, g), "attention_net.6.attention_c", cfg.AttnDim, 1, 0) // [B, N, 1]
	scores = Squeeze(scores, -1)
	out.Scores = scores
	isReal := GreaterThan(ConvertDType(mask, b.dtype), ScalarZero(b.g, b.dtype))
	masked := Where(isReal, scores, BroadcastToShape(Infinity(b.g, b.dtype, -1), scores.Shape()))
	attn := Softmax(masked, -1)
	attn = Where(isReal, attn, ZerosLike(attn)) // exact zeros on padding
	out.Attention = attn
	pooled := Einsum("bn,bnh->bh", attn, x)
	out.Pooled = pooled
	m := layers.DropoutStatic(scope, pooled, cfg.Dropout)
	bias := 0.0
	if cfg.Task == Regression {
		bias = cfg.RegressionBias
	}
	logits := b.dense(m, "classifier_head.fc.0", cfg.Hidden, cfg.Classes, bias)
	out.Logits = logits
	if cfg.Task == Regression {
		out.Prediction = MulScalar(logits, cfg.Scale)
	} else {
		out.Prediction = Sigmoid(logits)
	}
	return out
}

func relu(x *Node) *Node { return Max(x, ZerosLike(x)) }

// ProjectionSpecs lists the projection's parameters (names under its
// scope; in the Lightning checkpoint they follow
// ProjectionLightningPrefix).
func ProjectionSpecs(in, out int) []weights.Spec {
	return []weights.Spec{{Name: "weight", Shape: []int{out, in}}, {Name: "bias", Shape: []int{out}}}
}

// Project is the encoder's projection: Linear(in → out) (PyTorch's default
// initialisation, U(±1/√in)) followed by F.normalize: x / max(‖x‖₂, 1e-12)
// on the last axis.
func Project(scope *model.Scope, x *Node, out int) *Node {
	in := x.Shape().Dimensions[x.Rank()-1]
	g := x.Graph()
	bound := 1 / sqrt(float64(in))
	b := &builder{scope: scope, g: g, dtype: x.DType()}
	w := b.param("weight", initializer.RandomUniformFn(scope, -bound, bound), out, in)
	bias := b.param("bias", initializer.RandomUniformFn(scope, -bound, bound), out)
	y := nn.Dense(x, w, bias, compute.DenseLayoutOutputsInput)
	return L2Normalize12(y)
}

// L2Normalize12 is torch.nn.functional.normalize(x, dim=-1, eps=1e-12).
func L2Normalize12(x *Node) *Node {
	norm := Sqrt(ReduceAndKeep(Square(x), ReduceSum, -1))
	return Div(x, Max(norm, Scalar(x.Graph(), x.DType(), 1e-12)))
}

// LoadInto sets (or creates) the head's variables under scope from a set
// keyed by reference names (strip LightningPrefix from checkpoint keys
// first, e.g. with weights.Set.WithPrefix).
func LoadInto(scope *model.Scope, cfg Config, set *weights.Set) error {
	return loadSpecs(scope, cfg.Specs(), set)
}

// LoadProjection sets the projection's variables from a set with keys
// "weight" and "bias".
//
// A projection trained behind a FeatureBatchNorm (pretraining with
// proj_norm: batch) carries norm.running_mean and norm.running_var; they are
// folded into the Linear layer (FoldFeatureBatchNorm), so the loaded
// projection computes what the pretrained one computed in evaluation mode.
func LoadProjection(scope *model.Scope, in, out int, set *weights.Set) error {
	if _, ok := set.Tensors[projNormMean]; ok {
		folded, err := FoldFeatureBatchNorm(set, "norm")
		if err != nil {
			return err
		}
		set = folded
	}
	return loadSpecs(scope, ProjectionSpecs(in, out), set)
}

const projNormMean = "norm." + RunningMean

func loadSpecs(scope *model.Scope, specs []weights.Spec, set *weights.Set) error {
	if err := weights.Check(specs, set); err != nil {
		return fmt.Errorf("heads: %w", err)
	}
	for _, s := range specs {
		t, err := weights.ToTensorF32(set.Tensors[s.Name])
		if err != nil {
			return fmt.Errorf("heads: %w", err)
		}
		path := ParamPath(scope, s.Name)
		if v := scope.Store().GetVariable(path); v != nil {
			if err := v.SetValue(t); err != nil {
				return fmt.Errorf("heads: %s: %w", s.Name, err)
			}
			continue
		}
		if _, err := scope.Store().CreateVariable(path, t); err != nil {
			return fmt.Errorf("heads: %s: %w", s.Name, err)
		}
	}
	return nil
}

// SaveFrom reads the head's variables back into a set keyed by reference
// names.
func SaveFrom(scope *model.Scope, cfg Config) (*weights.Set, error) {
	out := weights.NewSet()
	for _, s := range cfg.Specs() {
		v := scope.Store().GetVariable(ParamPath(scope, s.Name))
		if v == nil {
			return nil, fmt.Errorf("heads: variable %s does not exist", s.Name)
		}
		val, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("heads: %s: %w", s.Name, err)
		}
		t, err := weights.FromTensor(s.Name, val)
		if err != nil {
			return nil, err
		}
		out.Add(t)
	}
	return out, nil
}
