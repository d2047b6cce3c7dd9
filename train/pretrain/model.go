package pretrain

import (
	"fmt"
	"math"

	"github.com/cmrfm/cmrfm/model/bert"
	"github.com/cmrfm/cmrfm/model/heads"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph building reads best unqualified
	"github.com/gomlx/gomlx/ml/model"
)

// TextInput says how the k sampled sentences of a report become one text
// embedding. The paper does not say (docs/reference.md §3.7).
type TextInput string

const (
	// TextConcat joins the k sentences (in report order) into one BERT
	// input, [CLS] s₁ s₂ … s_k [SEP], cut to MaxLength: one forward per
	// study, and attention sees the sentences together (text.Sampler).
	TextConcat TextInput = "concat"
	// TextMean encodes each sentence alone ([CLS] s_j [SEP], cut to
	// SentenceLength), pools and averages the k sentence embeddings
	// (masked: reports with fewer than k sentences average what they
	// have), then projects: k forwards per study.
	TextMean TextInput = "mean"
)

// ParseTextInput checks a text input mode.
func ParseTextInput(s string) (TextInput, error) {
	switch m := TextInput(s); m {
	case TextConcat, TextMean:
		return m, nil
	}
	return "", fmt.Errorf("pretrain: text input %q: want concat or mean", s)
}

// ModelConfig is the two-tower model and its loss.
type ModelConfig struct {
	Video mvit.Config
	Text  bert.Config
	// Pooling turns BERT's hidden states into one vector (cls, pooler,
	// mean, max).
	Pooling bert.Pooling
	// TextInput: TextConcat or TextMean; Sentences (k) and SentenceLength
	// size the TextMean input.
	TextInput      TextInput
	Sentences      int
	SentenceLength int
	// MaxLength is the TextConcat input length in tokens.
	MaxLength int
	// VideoPooling is how the video tower's tokens become one vector:
	// "cls" (the encoder's output, as the authors' fine-tuning uses it) or
	// "mean" (the mean of the last block's patch tokens).
	VideoPooling string
	// ProjNorm normalises each tower's features before its projection:
	// ProjNormNone or "" (the paper) or ProjNormBatch
	// (heads.FeatureBatchNorm; training batches need at least 2 pairs).
	ProjNorm string
	// EmbedDim is the shared embedding width (512).
	EmbedDim int
	// Temperature τ of the similarities; LearnTemperature makes log(1/τ)
	// a trainable scalar initialised from it (clamped to at most log 100,
	// as CLIP does).
	Temperature      float64
	LearnTemperature bool
	// Lambda weighs video→text against text→video; Flood is the flooding
	// level b (0 disables).
	Lambda, Flood float64
}

// Validate checks the configuration.
func (c ModelConfig) Validate() error {
	if err := c.Video.Validate(); err != nil {
		return fmt.Errorf("pretrain: video tower: %w", err)
	}
	if c.Video.NumClasses != 0 {
		return fmt.Errorf("pretrain: video tower %s has a classification head; use a head-less preset", c.Video.Name)
	}
	if err := c.Text.Validate(); err != nil {
		return fmt.Errorf("pretrain: text tower: %w", err)
	}
	if _, err := bert.ParsePooling(string(c.Pooling)); err != nil {
		return fmt.Errorf("pretrain: %w", err)
	}
	if c.Pooling == bert.PoolPooler && c.Text.NoPooler {
		return fmt.Errorf("pretrain: pooling %q needs a text tower with a pooler", c.Pooling)
	}
	if _, err := ParseTextInput(string(c.TextInput)); err != nil {
		return err
	}
	if c.VideoPooling != "cls" && c.VideoPooling != "mean" {
		return fmt.Errorf("pretrain: video pooling %q: want cls or mean", c.VideoPooling)
	}
	if c.ProjNorm != "" && c.ProjNorm != ProjNormNone && c.ProjNorm != ProjNormBatch {
		return fmt.Errorf("pretrain: proj_norm %q: want %s or %s", c.ProjNorm, ProjNormNone, ProjNormBatch)
	}
	if c.Sentences <= 0 {
		return fmt.Errorf("pretrain: sentences %d: want > 0", c.Sentences)
	}
	length := c.MaxLength
	if c.TextInput == TextMean {
		length = c.SentenceLength
	}
	if length < 2 || length > c.Text.MaxPositions {
		return fmt.Errorf("pretrain: text length %d: want 2 … %d (the text tower's positions)", length, c.Text.MaxPositions)
	}
	if c.EmbedDim <= 0 {
		return fmt.Errorf("pretrain: embedding width %d: want > 0", c.EmbedDim)
	}
	if !(c.Temperature > 0) || math.IsInf(c.Temperature, 0) {
		return fmt.Errorf("pretrain: temperature %g: want > 0", c.Temperature)
	}
	if c.Lambda < 0 || c.Lambda > 1 {
		return fmt.Errorf("pretrain: lambda %g: want 0 … 1", c.Lambda)
	}
	if c.Flood < 0 {
		return fmt.Errorf("pretrain: flood level %g: want ≥ 0", c.Flood)
	}
	return nil
}

// TextShape is the shape of one batch's token ids and attention mask:
// [B, MaxLength] for TextConcat, [B, Sentences, SentenceLength] for
// TextMean.
func (c ModelConfig) TextShape(batch int) []int {
	if c.TextInput == TextMean {
		return []int{batch, c.Sentences, c.SentenceLength}
	}
	return []int{batch, c.MaxLength}
}

// Projection normalisations (ModelConfig.ProjNorm).
const (
	ProjNormNone  = "none"
	ProjNormBatch = "batch"
)

// Scope names of the model's parts under the store's root, chosen so that
// a checkpoint's keys read like the authors' Lightning keys
// (model.video_encoder.*, model.video_proj.*; docs/reference.md §3.8).
const (
	ScopeModel        = "model"
	ScopeVideoEncoder = "video_encoder"
	ScopeVideoProj    = "video_proj"
	ScopeTextEncoder  = "text_encoder"
	ScopeTextProj     = "text_proj"
	VarLogitScale     = "logit_scale" // log(1/τ), a scalar under model/
	// ScopeProjNorm holds a projection's batch-norm running statistics
	// (model/video_proj/norm/running_mean, …).
	ScopeProjNorm = "norm"
)

// MaxLogitScale caps a learnable 1/τ at 100 (CLIP's clamp).
const MaxLogitScale = 100.0

// Towers are the model's scopes.
type Towers struct {
	Root, VideoEncoder, VideoProj, TextEncoder, TextProj *model.Scope
}

// NewTowers returns the scopes of the model under store's root.
func NewTowers(store *model.Store) Towers {
	root := store.RootScope().In(ScopeModel)
	return Towers{Root: root, VideoEncoder: root.In(ScopeVideoEncoder), VideoProj: root.In(ScopeVideoProj),
		TextEncoder: root.In(ScopeTextEncoder), TextProj: root.In(ScopeTextProj)}
}

// Embeddings are the nodes of one forward pass.
type Embeddings struct {
	// Video and Text are [B, EmbedDim], L2-normalised.
	Video, Text *Node
	// LogScale is log(1/τ) (a constant or the clamped variable).
	LogScale *Node
}

// Embed builds both towers: clips [B, C, T, H, W] float32 (normalised as
// the transforms leave them), ids and mask of TextShape(B) (int32; mask 1
// for real tokens). For TextMean, sentence slots whose mask is all zero
// (reports with fewer than k sentences) are left out of the average.
func Embed(t Towers, cfg ModelConfig, clips, ids, mask *Node) *Embeddings {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	b := clips.Shape().Dimensions[0]
	vo := mvit.Encode(t.VideoEncoder, cfg.Video, clips)
	vf := vo.Features
	if cfg.VideoPooling == "mean" {
		last := vo.Blocks[len(vo.Blocks)-1] // [B, 1+N, D]
		n := last.Shape().Dimensions[1]
		vf = ReduceMean(Slice(last, AxisRange(), AxisRange(1, n), AxisRange()), 1)
	}
	if cfg.ProjNorm == ProjNormBatch {
		vf = heads.FeatureBatchNorm(t.VideoProj, ScopeProjNorm, vf)
	}
	v := heads.Project(t.VideoProj, vf, cfg.EmbedDim)

	var tf *Node
	switch cfg.TextInput {
	case TextConcat:
		o := bert.Encode(t.TextEncoder, cfg.Text, ids, nil, mask)
		tf = o.Pool(cfg.Pooling)
	case TextMean:
		k, l := cfg.Sentences, cfg.SentenceLength
		o := bert.Encode(t.TextEncoder, cfg.Text, Reshape(ids, b*k, l), nil, Reshape(mask, b*k, l))
		per := Reshape(o.Pool(cfg.Pooling), b, k, cfg.Text.Hidden)
		// A sentence slot is present when its first mask entry ([CLS]) is 1.
		present := ConvertDType(Slice(mask, AxisRange(), AxisRange(), AxisElem(0)), dtypes.Float32) // [B, k, 1]
		// Empty slots pool to NaN (mean) or the lowest float (max): select
		// zero there before the weighted sum so nothing leaks.
		realB := BroadcastToDims(GreaterThan(present, ZerosLike(present)), b, k, cfg.Text.Hidden)
		per = Where(realB, per, ZerosLike(per))
		tf = Div(ReduceSum(per, 1), Max(ReduceSum(present, 1), OnesLike(ReduceSum(present, 1))))
	}
	if cfg.ProjNorm == ProjNormBatch {
		tf = heads.FeatureBatchNorm(t.TextProj, ScopeProjNorm, tf)
	}
	u := heads.Project(t.TextProj, tf, cfg.EmbedDim)

	g := clips.Graph()
	init := math.Log(1 / cfg.Temperature)
	var ls *Node
	if cfg.LearnTemperature {
		vr := t.Root.Store().VariableWithValue(model.JoinPath(t.Root.Scope(), VarLogitScale), float32(init))
		ls = MinScalar(vr.NodeValue(g), math.Log(MaxLogitScale))
	} else {
		ls = Scalar(g, dtypes.Float32, init)
	}
	return &Embeddings{Video: v, Text: u, LogScale: ls}
}

// Loss builds the towers and the contrastive loss of a batch.
func Loss(t Towers, cfg ModelConfig, clips, ids, mask *Node) (*Embeddings, *LossOutput) {
	e := Embed(t, cfg, clips, ids, mask)
	return e, ContrastiveLoss(e.Video, e.Text, e.LogScale, cfg.Lambda, cfg.Flood)
}

// ClipShape is the float32 shape of a batch of clips.
func (c ModelConfig) ClipShape(batch int) shapes.Shape { return mvit.InputShape(c.Video, batch) }
