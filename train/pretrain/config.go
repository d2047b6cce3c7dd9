package pretrain

import (
	"fmt"
	"strings"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/yamlconf"
	"github.com/cmrfm/cmrfm/model/bert"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/data"
)

// Config is a whole pretraining run, read from YAML in the spirit of the
// authors' LightningCLI configs (data / model / optimizer / trainer
// sections). [PaperConfig] holds the paper's hyperparameters; [TinyConfig]
// a CPU-sized variant with the same method.
type Config struct {
	// Seed seeds every random draw: model initialisation, epoch order,
	// clip choice and augmentation, sentence sampling, dropout.
	Seed uint64 `yaml:"seed"`
	// Out is the run folder (checkpoints, metrics, plots).
	Out     string        `yaml:"out"`
	Data    DataConfig    `yaml:"data"`
	Model   ModelSection  `yaml:"model"`
	Init    InitConfig    `yaml:"init"`
	Optim   train.AdamW   `yaml:"optimizer"`
	Trainer TrainerConfig `yaml:"trainer"`
}

// DataConfig selects and prepares the (clip, report) pairs.
type DataConfig struct {
	// Store is the study store root; Index its dataset index (default
	// <store>/index.csv); Reports the report index (cmrfm text index).
	Store   string `yaml:"store"`
	Index   string `yaml:"index"`
	Reports string `yaml:"reports"`
	// TrainSplit and ValSplit name the index splits ("all": every study;
	// ValSplit "": no validation).
	TrainSplit string `yaml:"train_split"`
	ValSplit   string `yaml:"val_split"`
	// Views a clip may come from.
	Views []string `yaml:"views"`
	// DropSamples and CorrectRanges are data.ClipOptions' switches.
	DropSamples   bool `yaml:"drop_samples"`
	CorrectRanges bool `yaml:"correct_ranges"`
	// MinSize, MaxSize and Crop are the transforms' sizes (264, 380, 224);
	// the frame count and crop must match the video tower's input.
	MinSize int `yaml:"min_size"`
	MaxSize int `yaml:"max_size"`
	// FlipProb is the horizontal flip probability (0.5).
	FlipProb float64 `yaml:"flip_prob"`
	// AugMix enables AugMix; AugMixInput is raw (reference) or unit.
	AugMix      bool   `yaml:"augmix"`
	AugMixInput string `yaml:"augmix_input"`
	// Sentences (k) sampled per report and step; ShuffleSentences keeps
	// the drawn order instead of report order.
	Sentences        int  `yaml:"sentences"`
	ShuffleSentences bool `yaml:"shuffle_sentences"`
	// Workers and Prefetch size the parallel loading.
	Workers  int `yaml:"workers"`
	Prefetch int `yaml:"prefetch"`
	// ShufflePairs mismatches clips and reports (a control run that must
	// stay at chance): each study is paired with another study's report,
	// by a fixed derangement of the training split (validation keeps the
	// true pairs, so it shows whether the pairing was learned).
	ShufflePairs bool `yaml:"shuffle_pairs"`
}

// ModelSection is the two-tower model in YAML form.
type ModelSection struct {
	// Video is an MViT preset (mvit-b-16x4, mvit-b-16x4-torchvision,
	// mvit-tiny); Frames and Size override its input (tiny presets only).
	Video  string `yaml:"video"`
	Frames int    `yaml:"frames"`
	Size   int    `yaml:"size"`
	// VideoPooling is cls (the encoder's output) or mean (of the last
	// block's patch tokens).
	VideoPooling string `yaml:"video_pooling"`
	// Text is a BERT preset (bert-base, bert-small); Pooling cls, pooler,
	// mean or max.
	Text    string `yaml:"text"`
	Pooling string `yaml:"pooling"`
	// TextInput concat or mean; MaxLength (concat) and SentenceLength
	// (mean) in tokens.
	TextInput      string `yaml:"text_input"`
	MaxLength      int    `yaml:"max_length"`
	SentenceLength int    `yaml:"sentence_length"`
	// FreezeEmbeddings and FreezeLayers freeze the bottom of the text
	// tower (the paper: layers 1–6; embeddings inferred).
	FreezeEmbeddings bool `yaml:"freeze_embeddings"`
	FreezeLayers     int  `yaml:"freeze_layers"`
	EmbedDim         int  `yaml:"embed_dim"`
	// ProjNorm is what stands between each encoder and its projection:
	// none (the paper) or batch (BatchNorm1d without affine, as SimCLR and
	// MoCo v3 heads; keeps towers trained from random weights from
	// collapsing to one embedding — docs/pretraining.md).
	ProjNorm string `yaml:"proj_norm"`
	// VideoHeadDropout is MViT's dropout on its output features (0.5 in
	// pytorchvideo and torchvision); TextDropout BERT's hidden and
	// attention dropout (0.1).
	VideoHeadDropout float64 `yaml:"video_head_dropout"`
	TextDropout      float64 `yaml:"text_dropout"`
	// Temperature τ, LearnTemperature, Lambda λ and Flood b of the loss.
	Temperature      float64 `yaml:"temperature"`
	LearnTemperature bool    `yaml:"learn_temperature"`
	Lambda           float64 `yaml:"lambda"`
	Flood            float64 `yaml:"flood"`
}

// InitConfig names the starting weights. Empty fields start from random
// initialisation (with a warning).
type InitConfig struct {
	// Video: Kinetics-400 MViT (torchvision/pytorchvideo), the authors'
	// checkpoint or a cmrfm MViT checkpoint (mvit.Resolve).
	Video string `yaml:"video"`
	// Text: PubMedBERT (HF safetensors or pytorch_model.bin).
	Text string `yaml:"text"`
	// Checkpoint: a previous cmrfm pretraining checkpoint; its model
	// weights (not its optimiser) start this run, and Video/Text are
	// ignored.
	Checkpoint string `yaml:"checkpoint"`
}

// TrainerConfig is the loop.
type TrainerConfig struct {
	Epochs int `yaml:"epochs"`
	// MaxSteps > 0 stops after that many optimiser updates.
	MaxSteps  int `yaml:"max_steps"`
	BatchSize int `yaml:"batch_size"`
	// ValEvery validates every that many updates (0: at the end of each
	// epoch); ValBatches bounds the validation batches (0: all).
	ValEvery   int `yaml:"val_every"`
	ValBatches int `yaml:"val_batches"`
	// RecallPool is the candidate pool of the recall metrics (32: the
	// batch the paper trains with; 0: the whole validation set).
	RecallPool int `yaml:"recall_pool"`
	// CheckpointEvery writes a checkpoint (checkpoints/last.safetensors
	// and a kept epoch-NNNN.safetensors) every that many epochs; the end
	// and interruptions always write last.safetensors.
	CheckpointEvery int `yaml:"checkpoint_every"`
	// LogEvery writes a metrics row every that many updates.
	LogEvery int `yaml:"log_every"`
	// Backend is the GoMLX backend ("" → $GOMLX_BACKEND → go).
	Backend string `yaml:"backend"`
	// Progress draws a progress bar on stderr.
	Progress bool `yaml:"progress"`
}

// PaperConfig returns the paper's setup (REFERENCE-SPEC §3.7): MViT-B 16×4
// and BERT-base towers, 512-d embeddings, 5 sentences per report, flooding
// b = 0.05, AdamW lr 4.8e-5 / wd 1e-6 / eps 1e-8, ×0.1 at epoch 300 of 600,
// batch 32, checkpoint every 10 epochs, BERT embeddings + layers 1–6
// frozen. τ and λ are not in the paper: 0.1 and 0.75 are ConVIRT's, whose
// code the authors' model factory derives from. Weight decay applies to
// every parameter (torch.optim.AdamW over model.parameters(), as the
// authors' fine-tuning code does; decay_policy: matrices spares biases and
// norms).
func PaperConfig() Config {
	return Config{
		Seed: 1,
		Out:  "runs/pretrain",
		Data: DataConfig{TrainSplit: "train", ValSplit: "val", Views: []string{"4CH", "2CH", "3CH", "SAX"},
			MinSize: 264, MaxSize: 380, FlipProb: 0.5, AugMix: true, AugMixInput: "raw", Sentences: 5, Workers: 2, Prefetch: 0},
		Model: ModelSection{Video: mvit.ArchMViTB16x4, VideoPooling: "cls", ProjNorm: ProjNormNone, Text: bert.ArchBertBase, Pooling: string(bert.PoolCLS),
			TextInput: string(TextConcat), MaxLength: 128, SentenceLength: 64,
			FreezeEmbeddings: true, FreezeLayers: 6, EmbedDim: 512, VideoHeadDropout: 0.5, TextDropout: 0.1,
			Temperature: 0.1, Lambda: 0.75, Flood: 0.05},
		Optim: train.AdamW{LR: 4.8e-5, WeightDecay: 1e-6, Eps: 1e-8, Betas: [2]float64{0.9, 0.999}, Decay: train.DecayAll,
			Accumulate: 1, Schedule: train.Schedule{Milestones: []int{300}, Gamma: 0.1, Interval: train.PerEpoch}},
		Trainer: TrainerConfig{Epochs: 600, BatchSize: 32, RecallPool: 32, CheckpointEvery: 10, LogEvery: 10, Progress: true},
	}
}

// TinyConfig is the CPU preset: the paper's loss, data pipeline and
// optimiser on mvit-tiny (4 blocks, 3×4×32×32) and bert-small (2 layers ×
// 64, the PubMedBERT vocabulary), 48 tokens, batch 16. The towers start
// from random weights, so it differs where that matters: learning rate
// 1e-3, nothing frozen, mean pooling (a random BERT's [CLS] state barely
// depends on the input), no dropout (MViT's 0.5 on a 32-wide feature
// drowns the signal).
func TinyConfig() Config {
	c := PaperConfig()
	c.Data.MinSize, c.Data.MaxSize = 36, 44
	c.Model.Video, c.Model.Text = mvit.ArchTiny, ArchBertSmall
	c.Model.MaxLength, c.Model.SentenceLength = 48, 24
	c.Model.FreezeEmbeddings, c.Model.FreezeLayers = false, 0
	c.Model.Pooling = string(bert.PoolMean)
	c.Model.VideoHeadDropout, c.Model.TextDropout = 0, 0
	c.Model.EmbedDim = 64
	c.Optim.LR = 1e-3
	c.Optim.Schedule = train.Schedule{}
	c.Trainer.Epochs = 20
	c.Trainer.BatchSize = 16
	c.Trainer.CheckpointEvery = 5
	c.Trainer.LogEvery = 1
	return c
}

// PhantomConfig is the learning-proof preset (docs/pretraining.md, "Does it
// learn?"): the tiny towers with batch-normalised projections
// (proj_norm: batch, without which towers from random weights collapse),
// one view (4CH) without AugMix, scale jitter or flip, 12 sentences per
// report in 128 tokens, 14 epochs with ×0.1 at epoch 8, validation every
// 178 updates. Made for a phantom cohort of ≈ 2,000 studies.
func PhantomConfig() Config {
	c := TinyConfig()
	c.Data.Views = []string{"4CH"}
	c.Data.AugMix = false
	c.Data.MinSize, c.Data.MaxSize, c.Data.FlipProb = 32, 32, 0
	c.Data.Sentences = 12
	c.Model.MaxLength = 128
	c.Model.ProjNorm = ProjNormBatch
	c.Optim.Schedule = train.Schedule{Gamma: 0.1, Milestones: []int{8}}
	c.Trainer.Epochs = 14
	c.Trainer.ValEvery = 178
	c.Trainer.CheckpointEvery = 0
	return c
}

// ArchBertSmall is the CPU text tower: BERT with 2 layers of width 64 (4
// heads, FFN 128) over the full 30,522-token PubMedBERT vocabulary, 128
// positions.
const ArchBertSmall = "bert-small"

// textPreset returns a BERT preset by name (bert-base, bert-small).
func textPreset(name string) (bert.Config, error) {
	if name == ArchBertSmall {
		return bert.Config{Name: ArchBertSmall, VocabSize: 30522, MaxPositions: 128, TypeVocabSize: 2,
			Hidden: 64, Layers: 2, Heads: 4, Intermediate: 128, LayerNormEps: 1e-12, HiddenDropout: 0.1, AttentionDropout: 0.1}, nil
	}
	if name == bert.ArchBertTiny {
		return bert.Config{}, fmt.Errorf("pretrain: bert-tiny has a 99-token test vocabulary; use %s or %s", ArchBertSmall, bert.ArchBertBase)
	}
	return bert.ByName(name)
}

// Preset returns a named configuration: "paper", "tiny" or "phantom".
func Preset(name string) (Config, error) {
	switch name {
	case "paper", "":
		return PaperConfig(), nil
	case "tiny":
		return TinyConfig(), nil
	case "phantom":
		return PhantomConfig(), nil
	}
	return Config{}, fmt.Errorf("pretrain: unknown preset %q (want paper, tiny or phantom)", name)
}

// LoadConfig reads YAML over base (so a file need only name what differs);
// unknown keys are an error.
func LoadConfig(path string, base Config) (Config, error) {
	c, err := yamlconf.Load(path, base)
	if err != nil {
		return Config{}, fmt.Errorf("pretrain: %w", err)
	}
	return c, nil
}

// YAML renders the configuration (--print-config).
func (c Config) YAML() (string, error) { return yamlconf.Render(c) }

// ModelConfig resolves the model section into graph configurations.
func (c Config) ModelConfig() (ModelConfig, error) {
	m := c.Model
	v, err := mvit.ByName(m.Video)
	if err != nil {
		return ModelConfig{}, fmt.Errorf("pretrain: %w", err)
	}
	if m.Frames > 0 {
		v.Frames = m.Frames
	}
	if m.Size > 0 {
		v.Height, v.Width = m.Size, m.Size
	}
	t, err := textPreset(m.Text)
	if err != nil {
		return ModelConfig{}, err
	}
	t.Freeze = bert.Freeze{Embeddings: m.FreezeEmbeddings, Layers: m.FreezeLayers}
	if m.VideoHeadDropout < 0 || m.VideoHeadDropout >= 1 || m.TextDropout < 0 || m.TextDropout >= 1 {
		return ModelConfig{}, fmt.Errorf("pretrain: dropout %g / %g: want 0 ≤ p < 1", m.VideoHeadDropout, m.TextDropout)
	}
	v.HeadDropout = m.VideoHeadDropout
	t.HiddenDropout, t.AttentionDropout = m.TextDropout, m.TextDropout
	if m.FreezeLayers < 0 || m.FreezeLayers > t.Layers {
		return ModelConfig{}, fmt.Errorf("pretrain: freeze_layers %d: the text tower has %d layers", m.FreezeLayers, t.Layers)
	}
	pool, err := bert.ParsePooling(m.Pooling)
	if err != nil {
		return ModelConfig{}, fmt.Errorf("pretrain: %w", err)
	}
	ti, err := ParseTextInput(m.TextInput)
	if err != nil {
		return ModelConfig{}, err
	}
	mc := ModelConfig{Video: v, VideoPooling: m.VideoPooling, ProjNorm: m.ProjNorm, Text: t, Pooling: pool, TextInput: ti, Sentences: c.Data.Sentences,
		SentenceLength: m.SentenceLength, MaxLength: m.MaxLength, EmbedDim: m.EmbedDim,
		Temperature: m.Temperature, LearnTemperature: m.LearnTemperature, Lambda: m.Lambda, Flood: m.Flood}
	return mc, mc.Validate()
}

// Transforms returns the train and validation transforms for the video
// tower's input size.
func (c Config) Transforms(mc ModelConfig) (train, val data.Transform, err error) {
	if mc.Video.Height != mc.Video.Width {
		return train, val, fmt.Errorf("pretrain: the transforms crop squares; video input %d×%d", mc.Video.Height, mc.Video.Width)
	}
	in, err := data.ParseAugMixInput(c.Data.AugMixInput)
	if err != nil {
		return train, val, fmt.Errorf("pretrain: %w", err)
	}
	train = data.TrainTransform()
	train.AugMix, train.AugInput = c.Data.AugMix, in
	train.MinSize, train.MaxSize, train.Crop = c.Data.MinSize, c.Data.MaxSize, mc.Video.Height
	train.FlipProb = c.Data.FlipProb
	val = data.EvalTransform()
	val.MinSize, val.MaxSize, val.Crop = c.Data.MinSize, c.Data.MinSize, mc.Video.Height
	if err := train.Validate(); err != nil {
		return train, val, fmt.Errorf("pretrain: train %w", err)
	}
	if err := val.Validate(); err != nil {
		return train, val, fmt.Errorf("pretrain: validation %w", err)
	}
	return train, val, nil
}

// ClipOptions returns the clip selection for the video tower's frames.
func (c Config) ClipOptions(mc ModelConfig) data.ClipOptions {
	o := data.ClipOptions{Frames: mc.Video.Frames, DropSamples: c.Data.DropSamples}
	if c.Data.CorrectRanges {
		o.Ranges = data.RangesCorrect
	}
	return o
}

// ViewList parses the configured views.
func (c Config) ViewList() ([]cine.View, error) {
	var out []cine.View
	for _, v := range c.Data.Views {
		switch cv := cine.View(strings.ToUpper(v)); cv {
		case cine.View4CH, cine.View3CH, cine.View2CH, cine.ViewSAX:
			out = append(out, cv)
		default:
			return nil, fmt.Errorf("pretrain: view %q: want 4CH, 3CH, 2CH or SAX", v)
		}
	}
	return out, nil
}

// Validate checks what the model and data sections cannot check alone.
func (c Config) Validate() error {
	if _, err := c.ModelConfig(); err != nil {
		return err
	}
	t := c.Trainer
	if t.BatchSize < 2 {
		return fmt.Errorf("pretrain: batch_size %d: a contrastive batch needs at least 2 pairs", t.BatchSize)
	}
	if t.Epochs <= 0 && t.MaxSteps <= 0 {
		return fmt.Errorf("pretrain: set trainer.epochs or trainer.max_steps")
	}
	if err := c.Optim.Validate(); err != nil {
		return fmt.Errorf("pretrain: optimizer: %w", err)
	}
	if c.Data.Sentences <= 0 {
		return fmt.Errorf("pretrain: data.sentences %d: want > 0", c.Data.Sentences)
	}
	if _, err := c.ViewList(); err != nil {
		return err
	}
	return nil
}
