package bert

import (
	"fmt"

	"github.com/cmrfm/cmrfm/model/weights"
)

// Config is a BERT architecture plus the training-time switches that shape
// the graph (dropout, freezing).
type Config struct {
	Name string
	// VocabSize, MaxPositions and TypeVocabSize size the three embedding
	// tables (HF vocab_size, max_position_embeddings, type_vocab_size).
	VocabSize, MaxPositions, TypeVocabSize int
	// Hidden is the model width, Layers the number of encoder layers, Heads
	// the attention heads per layer, Intermediate the FFN width.
	Hidden, Layers, Heads, Intermediate int
	// LayerNormEps is every LayerNorm's epsilon (1e-12 in BERT; GoMLX's own
	// default, 1e-3, would be wrong).
	LayerNormEps float64
	// HiddenDropout is applied, while training, to the embeddings and to the
	// attention-output and FFN-output projections before their residual
	// additions (HF hidden_dropout_prob); AttentionDropout to the attention
	// probabilities (attention_probs_dropout_prob). 0 disables.
	HiddenDropout, AttentionDropout float64
	// PadTokenID is the word-embedding row that receives no gradient (HF
	// nn.Embedding(padding_idx=pad_token_id), 0 in BERT vocabularies); -1
	// disables that rule.
	PadTokenID int
	// NoPooler drops the tanh pooler (HF add_pooling_layer=False).
	NoPooler bool
	// Freeze selects the frozen bottom of the network.
	Freeze Freeze
}

// Freeze names the parameters that do not train. Frozen variables are
// created non-trainable (GoMLX optimisers then give them neither an update
// nor optimiser state). With the embeddings frozen, the graph also stops
// the gradient at the output of the last frozen stage, so no backward work
// is done below it; with trainable embeddings under frozen layers the
// gradient flows through those layers to the embeddings.
type Freeze struct {
	// Embeddings freezes the three embedding tables and their LayerNorm.
	Embeddings bool
	// Layers freezes encoder layers 0 … Layers-1 (the paper's "layers 1–6"
	// is Layers = 6).
	Layers int
}

// PaperFreeze is the paper's text-encoder freezing (docs/reference.md §3.7):
// layers 1–6 frozen. The embeddings are frozen as well, as in ConVIRT, the
// code base the authors' model factory derives from (the pre-training code
// is unreleased, so this part is an inference).
func PaperFreeze() Freeze { return Freeze{Embeddings: true, Layers: 6} }

// Names of the presets, as used by the command line (--arch).
const (
	ArchBertBase = "bert-base" // BERT-base uncased / PubMedBERT
	ArchBertTiny = "bert-tiny" // the test configuration of testdata/gen/model/bert
)

// BertBase is BERT-base (uncased; PubMedBERT has the same shape with its own
// 30,522-token vocabulary): 12 layers, width 768, 12 heads, FFN 3072, 512
// positions, 2 token types, dropout 0.1.
func BertBase() Config {
	return Config{
		Name:      ArchBertBase,
		VocabSize: 30522, MaxPositions: 512, TypeVocabSize: 2,
		Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072,
		LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1,
	}
}

// Tiny is the test model of testdata/gen/model/bert (bert_ref.TINY): vocabulary
// 99, width 32, 2 layers, 4 heads, FFN 37, 40 positions. The odd sizes make
// a transposed weight fail loudly.
func Tiny() Config {
	return Config{
		Name:      ArchBertTiny,
		VocabSize: 99, MaxPositions: 40, TypeVocabSize: 2,
		Hidden: 32, Layers: 2, Heads: 4, Intermediate: 37,
		LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1,
	}
}

// Archs lists the preset names.
func Archs() []string { return []string{ArchBertBase, ArchBertTiny} }

// ByName returns a preset by its command-line name.
func ByName(name string) (Config, error) {
	switch name {
	case ArchBertBase:
		return BertBase(), nil
	case ArchBertTiny:
		return Tiny(), nil
	}
	return Config{}, fmt.Errorf("bert: unknown architecture %q (want %s or %s)", name, ArchBertBase, ArchBertTiny)
}

// HeadDim is the per-head width.
func (c Config) HeadDim() int { return c.Hidden / c.Heads }

// Validate checks the configuration for consistency.
func (c Config) Validate() error {
	switch {
	case c.VocabSize <= 0 || c.MaxPositions <= 0 || c.TypeVocabSize <= 0:
		return fmt.Errorf("bert %s: embedding sizes must be positive (vocab %d, positions %d, types %d)", c.Name, c.VocabSize, c.MaxPositions, c.TypeVocabSize)
	case c.Hidden <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.Intermediate <= 0:
		return fmt.Errorf("bert %s: hidden %d, layers %d, heads %d and intermediate %d must be positive", c.Name, c.Hidden, c.Layers, c.Heads, c.Intermediate)
	case c.Hidden%c.Heads != 0:
		return fmt.Errorf("bert %s: %d heads cannot split width %d", c.Name, c.Heads, c.Hidden)
	case c.LayerNormEps <= 0:
		return fmt.Errorf("bert %s: LayerNormEps must be positive", c.Name)
	case c.HiddenDropout < 0 || c.HiddenDropout >= 1 || c.AttentionDropout < 0 || c.AttentionDropout >= 1:
		return fmt.Errorf("bert %s: dropout rates must be in [0, 1)", c.Name)
	case c.PadTokenID < -1 || c.PadTokenID >= c.VocabSize:
		return fmt.Errorf("bert %s: pad token id %d outside the vocabulary", c.Name, c.PadTokenID)
	case c.Freeze.Layers < 0 || c.Freeze.Layers > c.Layers:
		return fmt.Errorf("bert %s: cannot freeze %d of %d layers", c.Name, c.Freeze.Layers, c.Layers)
	}
	return nil
}

// Specs lists every parameter with its Hugging Face BertModel name and
// shape (Linear weights [out, in], as PyTorch stores them).
func (c Config) Specs() []weights.Spec {
	var s []weights.Spec
	add := func(name string, shape ...int) { s = append(s, weights.Spec{Name: name, Shape: shape}) }
	h := c.Hidden
	add("embeddings.word_embeddings.weight", c.VocabSize, h)
	add("embeddings.position_embeddings.weight", c.MaxPositions, h)
	add("embeddings.token_type_embeddings.weight", c.TypeVocabSize, h)
	add("embeddings.LayerNorm.weight", h)
	add("embeddings.LayerNorm.bias", h)
	for i := range c.Layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		for _, n := range []string{"query", "key", "value"} {
			add(p+"attention.self."+n+".weight", h, h)
			add(p+"attention.self."+n+".bias", h)
		}
		add(p+"attention.output.dense.weight", h, h)
		add(p+"attention.output.dense.bias", h)
		add(p+"attention.output.LayerNorm.weight", h)
		add(p+"attention.output.LayerNorm.bias", h)
		add(p+"intermediate.dense.weight", c.Intermediate, h)
		add(p+"intermediate.dense.bias", c.Intermediate)
		add(p+"output.dense.weight", h, c.Intermediate)
		add(p+"output.dense.bias", h)
		add(p+"output.LayerNorm.weight", h)
		add(p+"output.LayerNorm.bias", h)
	}
	if !c.NoPooler {
		add("pooler.dense.weight", h, h)
		add("pooler.dense.bias", h)
	}
	return s
}

// NumParameters counts the parameters (109,482,240 for bert-base).
func (c Config) NumParameters() int {
	n := 0
	for _, s := range c.Specs() {
		n += weights.NumElements(s.Shape)
	}
	return n
}

// MultiplyAdds is the multiply-accumulate count of one forward pass over a
// batch of `batch` sequences of `seq` tokens: the projections, the FFN, the
// two attention products and the pooler (element-wise work ignored).
// FLOPs ≈ 2 × this.
func (c Config) MultiplyAdds(batch, seq int) int64 {
	tokens := int64(batch) * int64(seq)
	h, f := int64(c.Hidden), int64(c.Intermediate)
	perLayer := tokens*(4*h*h+2*h*f) + 2*int64(batch)*int64(seq)*int64(seq)*h
	n := int64(c.Layers) * perLayer
	if !c.NoPooler {
		n += int64(batch) * h * h
	}
	return n
}
