package finetune

import (
	"fmt"
	"math"
	"strings"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/yamlconf"
	"github.com/cmrfm/cmrfm/model/heads"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/data"
)

// Mode says what trains (REFERENCE-SPEC §3.4).
type Mode string

const (
	// ModeLinear: encoder and projection frozen; only the head trains.
	ModeLinear Mode = "linear"
	// ModeFinetune: encoder frozen; projection and head train (the
	// paper's "fine-tuning").
	ModeFinetune Mode = "finetune"
	// ModeTransfer: everything trains (the paper's "transfer learning").
	ModeTransfer Mode = "transfer"
)

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeLinear, ModeFinetune, ModeTransfer:
		return m, nil
	}
	return "", fmt.Errorf("finetune: mode %q: want linear, finetune or transfer", s)
}

// Task names.
const (
	TaskRegression     = "regression"
	TaskClassification = "classification"
)

// Config is one fine-tuning run, read from YAML with the sections of the
// authors' LightningCLI configs (data / model / optimizer / trainer).
// RegressionConfig and ClassificationConfig hold the paper's settings;
// TinyConfig a CPU-sized variant.
type Config struct {
	// Seed seeds everything random: initialisation, epoch order, clip and
	// augmentation draws, the data fraction, dropout.
	Seed uint64 `yaml:"seed"`
	// Out is the run folder (checkpoints, metrics, plots, predictions).
	Out string `yaml:"out"`
	// Task is regression (LVEF, Huber loss) or classification (diseases,
	// weighted BCE, one sigmoid per target).
	Task string `yaml:"task"`
	// Mode is linear, finetune or transfer.
	Mode    string        `yaml:"mode"`
	Data    DataConfig    `yaml:"data"`
	Model   ModelConfig   `yaml:"model"`
	Init    InitConfig    `yaml:"init"`
	Optim   train.AdamW   `yaml:"optimizer"`
	Trainer TrainerConfig `yaml:"trainer"`
}

// DataConfig selects the studies and builds their bags.
type DataConfig struct {
	// Store is the study store root; Index the dataset index (default
	// <store>/index.csv).
	Store string `yaml:"store"`
	Index string `yaml:"index"`
	// Targets are the label columns: one for regression (lvef), one or
	// more for classification (a multi-label head).
	Targets []string `yaml:"targets"`
	// Splits of the index.
	TrainSplit string `yaml:"train_split"`
	ValSplit   string `yaml:"val_split"`
	TestSplit  string `yaml:"test_split"`
	// Views that enter a bag.
	Views []string `yaml:"views"`
	// SAX selects SAX slices: every-other (the reference's regression
	// drop_samples), all (classification) or random-fraction with
	// SAXFraction (the paper's "random 50 %").
	SAX         string  `yaml:"sax"`
	SAXFraction float64 `yaml:"sax_fraction"`
	// DropSamples is the reference's drop_samples (trim + discard clips
	// shorter than the frame count).
	DropSamples bool `yaml:"drop_samples"`
	// CorrectRanges cuts clips at the true slice boundaries instead of the
	// reference's off-by-one ranges.
	CorrectRanges bool `yaml:"correct_ranges"`
	// KeepSingleSliceSAX keeps a one-slice SAX (the reference drops it).
	KeepSingleSliceSAX bool `yaml:"keep_single_slice_sax"`
	// MinSize, MaxSize: the short-side scale range of the transforms
	// (264, 380); the crop is the encoder's input size.
	MinSize int `yaml:"min_size"`
	MaxSize int `yaml:"max_size"`
	// Normalize is reference — the authors' (x − 0.45)/0.225/255 on the
	// stored intensities, which leaves inputs in [0, 4.4] for uint8 stores
	// — or centred: (x/255 − 0.45)/0.225, the ImageNet-style normalisation
	// pytorchvideo intends (inputs in [−2, 2.4]).
	Normalize string `yaml:"normalize"`
	// NoAugment trains on the evaluation transform (no random scale, crop,
	// flip or AugMix): each epoch sees the same clips.
	NoAugment bool `yaml:"no_augment"`
	// AugMix in training; AugMixInput raw (reference) or unit.
	AugMix      bool   `yaml:"augmix"`
	AugMixInput string `yaml:"augmix_input"`
	// Fraction of the training patients used (the data-efficiency
	// experiments), drawn with FractionSeed.
	Fraction     float64 `yaml:"fraction"`
	FractionSeed uint64  `yaml:"fraction_seed"`
	// PosWeight is ratio (negatives/positives, the paper) or reference
	// (1/prevalence, the authors' code), computed on the whole train split.
	PosWeight string `yaml:"pos_weight"`
	// Workers and Prefetch size the parallel loading.
	Workers  int `yaml:"workers"`
	Prefetch int `yaml:"prefetch"`
}

// ModelConfig is the network.
type ModelConfig struct {
	// Video is the MViT preset; Frames and Size override its input (tiny
	// presets).
	Video  string `yaml:"video"`
	Frames int    `yaml:"frames"`
	Size   int    `yaml:"size"`
	// VideoHeadDropout is MViT's dropout on its features (0.5), active in
	// training even with a frozen encoder, as in the reference.
	VideoHeadDropout float64 `yaml:"video_head_dropout"`
	// EmbedDim is the projection's width (512); Hidden and AttnDim size
	// the MIL head (256, 128); HeadDropout its three dropouts (0.25).
	EmbedDim    int     `yaml:"embed_dim"`
	Hidden      int     `yaml:"hidden"`
	AttnDim     int     `yaml:"attn_dim"`
	HeadDropout float64 `yaml:"head_dropout"`
	// HuberDelta is the δ of the regression loss in percentage points (1,
	// the reference's nn.HuberLoss()).
	HuberDelta float64 `yaml:"huber_delta"`
	// LayerNorm normalises the MIL features (the paper, classification).
	LayerNorm bool `yaml:"layernorm"`
	// ReferenceOptimizer reproduces the authors' bug: the optimiser holds
	// only the encoder and projection, so the MIL head never trains.
	ReferenceOptimizer bool `yaml:"reference_optimizer"`
}

// InitConfig names the starting weights.
type InitConfig struct {
	// Weights: a cmrfm pretraining (or fine-tuning) checkpoint, the
	// authors' Lightning checkpoint (cmr_c0.1), Kinetics-400 MViT weights
	// (torchvision or pytorchvideo: the paper's baseline) or a cmrfm MViT
	// checkpoint. Empty: random initialisation (a warning).
	Weights string `yaml:"weights"`
	// Kinetics is the Kinetics-400 file the authors' encoder started from,
	// needed with AuthorsBugCompatible.
	Kinetics string `yaml:"kinetics"`
	// AuthorsBugCompatible keeps the positional embeddings at their
	// Kinetics values when loading the authors' checkpoint, as their
	// loader does (REFERENCE-SPEC §3.8).
	AuthorsBugCompatible bool `yaml:"authors_bug_compatible"`
}

// TrainerConfig is the loop.
type TrainerConfig struct {
	// Epochs and MaxSteps (optimiser updates) bound the run.
	Epochs   int `yaml:"epochs"`
	MaxSteps int `yaml:"max_steps"`
	// BatchSize is the number of bags per micro-batch (1: the reference).
	BatchSize int `yaml:"batch_size"`
	// Pad pads every batch to MaxInstances bags slots and
	// BatchSize·MaxInstances clips (static shapes for XLA); otherwise each
	// batch has its exact size (fast on the Go backend).
	Pad          bool `yaml:"pad"`
	MaxInstances int  `yaml:"max_instances"`
	// LogEvery writes a metrics row every that many updates; ValEvery
	// validates every that many updates (0: each epoch); ValStudies
	// bounds the validation studies (0: all; the reference's
	// limit_val_batches); CheckpointEvery saves every that many updates.
	LogEvery        int `yaml:"log_every"`
	ValEvery        int `yaml:"val_every"`
	ValStudies      int `yaml:"val_studies"`
	CheckpointEvery int `yaml:"checkpoint_every"`
	// Backend is the GoMLX backend ("" → $GOMLX_BACKEND → go).
	Backend string `yaml:"backend"`
	// Progress draws a progress bar on a terminal.
	Progress bool `yaml:"progress"`
}

// RegressionConfig is the paper's LVEF fine-tuning (REFERENCE-SPEC
// §2.3–2.7, §3.2–3.6): MViT-B 16×4 encoder frozen, projection and MIL head
// trained with Huber (δ = 1) on 100·logit, one bag per batch with every
// long-axis view and a seeded random half of the SAX slices (the paper;
// sax: every-other is the authors' deterministic choice), AdamW lr 1e-4 /
// wd 0.01,
// StepLR(4, ×0.1) per epoch as the W&B sweep, up to 100,000 updates,
// checkpoint every 500, validation every 1,000 on at most 400 studies.
func RegressionConfig() Config {
	o := train.DefaultAdamW()
	o.Schedule = train.Schedule{Gamma: 0.1, StepSize: 4}
	return Config{
		Seed: 1, Out: "runs/finetune-lvef", Task: TaskRegression, Mode: string(ModeFinetune),
		Data: DataConfig{Targets: []string{"lvef"}, TrainSplit: "train", ValSplit: "val", TestSplit: "test",
			Views: []string{"4CH", "2CH", "3CH", "SAX"}, SAX: data.SAXRandomFraction.String(), SAXFraction: 0.5, DropSamples: true,
			MinSize: 264, MaxSize: 380, AugMix: true, AugMixInput: "raw", Fraction: 1, FractionSeed: 42,
			PosWeight: "ratio", Workers: 2},
		Model: ModelConfig{Video: mvit.ArchMViTB16x4, VideoHeadDropout: 0.5, EmbedDim: 512, Hidden: 256, AttnDim: 128,
			HeadDropout: 0.25, HuberDelta: 1},
		Optim: o,
		Trainer: TrainerConfig{Epochs: 100, MaxSteps: 100000, BatchSize: 1, MaxInstances: 32, LogEvery: 50,
			ValEvery: 1000, ValStudies: 400, CheckpointEvery: 500, Progress: true},
	}
}

// ClassificationConfig is the paper's disease classification: every SAX
// slice (drop_samples off), LayerNorm in the head, one sigmoid per target
// with weighted BCE (pos_weight = negatives/positives on the train split),
// AdamW wd 5e-4, 24 epochs, validation each epoch.
func ClassificationConfig(targets ...string) Config {
	c := RegressionConfig()
	c.Out = "runs/finetune-diseases"
	c.Task = TaskClassification
	c.Data.Targets = targets
	c.Data.SAX, c.Data.DropSamples = data.SAXAll.String(), false
	c.Model.LayerNorm = true
	c.Optim.WeightDecay = 5e-4
	c.Trainer.Epochs, c.Trainer.MaxSteps, c.Trainer.ValEvery, c.Trainer.ValStudies = 24, 0, 0, 0
	return c
}

// TinyConfig turns c into the CPU preset: mvit-tiny (4 blocks) on 4
// frames of 32×32 (short side scaled to 36–44 first), a 64-d projection
// and a 32/16 head, everything trained from random weights (transfer) with
// the paper's lr 1e-4 (1e-3 collapses the encoder's features to a
// constant within a few epochs: docs/finetune.md), no AugMix or dropout,
// validation each epoch.
func TinyConfig(c Config) Config {
	c.Mode = string(ModeTransfer)
	c.Data.MinSize, c.Data.MaxSize = 36, 44
	c.Data.AugMix = false
	c.Model.Video, c.Model.Frames, c.Model.Size = mvit.ArchTiny, 4, 32
	c.Model.VideoHeadDropout, c.Model.HeadDropout = 0, 0
	c.Model.EmbedDim, c.Model.Hidden, c.Model.AttnDim = 64, 32, 16
	c.Optim.LR = 1e-4
	c.Optim.Schedule = train.Schedule{}
	c.Trainer.Epochs, c.Trainer.MaxSteps = 30, 0
	c.Trainer.LogEvery, c.Trainer.ValEvery, c.Trainer.ValStudies, c.Trainer.CheckpointEvery = 1, 0, 0, 0
	return c
}

// PhantomConfig turns c into the preset of the phantom-cohort learning
// proof (docs/finetune.md): the tiny preset with the image zoomed onto the
// heart (short side scaled to 64 before the 32×32 centre crop: the
// phantom's heart fills the middle half of the field of view), the true
// slice ranges, no augmentation, batches of 8 studies, 40 epochs (30 for
// classification), and
// LayerNorm in the head for regression too (the paper uses it for
// classification only; without it the tiny LVEF model stays at the
// median for the whole budget).
func PhantomConfig(c Config) Config {
	c = TinyConfig(c)
	c.Data.MinSize, c.Data.MaxSize = 64, 64
	c.Data.NoAugment = true
	c.Data.CorrectRanges = true
	c.Model.LayerNorm = true
	c.Trainer.BatchSize = 8
	c.Trainer.Epochs = 40
	if c.Task == TaskClassification {
		c.Trainer.Epochs = 30 // every SAX slice: ~1.6× the clips of a regression bag
	}
	return c
}

// Preset returns a named configuration: lvef, diseases (targets dcm, hcm
// of the phantom cohort), tiny-lvef, tiny-diseases, phantom-lvef or
// phantom-diseases.
func Preset(name string) (Config, error) {
	switch name {
	case "lvef", "":
		return RegressionConfig(), nil
	case "diseases":
		return ClassificationConfig("dcm", "hcm"), nil
	case "tiny-lvef":
		return TinyConfig(RegressionConfig()), nil
	case "tiny-diseases":
		return TinyConfig(ClassificationConfig("dcm", "hcm")), nil
	case "phantom-lvef":
		return PhantomConfig(RegressionConfig()), nil
	case "phantom-diseases":
		return PhantomConfig(ClassificationConfig("dcm", "hcm")), nil
	}
	return Config{}, fmt.Errorf("finetune: unknown preset %q (want lvef, diseases, tiny-lvef, tiny-diseases, phantom-lvef or phantom-diseases)", name)
}

// LoadConfig reads YAML over base (a file names only what differs);
// unknown keys are an error.
func LoadConfig(path string, base Config) (Config, error) {
	c, err := yamlconf.Load(path, base)
	if err != nil {
		return Config{}, fmt.Errorf("finetune: %w", err)
	}
	return c, nil
}

// ParseConfig reads YAML text over base.
func ParseConfig(b []byte, base Config) (Config, error) {
	c, err := yamlconf.Parse(b, base)
	if err != nil {
		return Config{}, fmt.Errorf("finetune: config: %w", err)
	}
	return c, nil
}

// YAML renders the configuration.
func (c Config) YAML() (string, error) { return yamlconf.Render(c) }

// Net resolves the model section into graph configurations.
func (c Config) Net() (NetConfig, error) {
	m := c.Model
	v, err := mvit.ByName(m.Video)
	if err != nil {
		return NetConfig{}, fmt.Errorf("finetune: %w", err)
	}
	if m.Frames > 0 {
		v.Frames = m.Frames
	}
	if m.Size > 0 {
		v.Height, v.Width = m.Size, m.Size
	}
	if m.VideoHeadDropout < 0 || m.VideoHeadDropout >= 1 {
		return NetConfig{}, fmt.Errorf("finetune: video_head_dropout %g: want 0 ≤ p < 1", m.VideoHeadDropout)
	}
	v.HeadDropout = m.VideoHeadDropout
	mode, err := ParseMode(c.Mode)
	if err != nil {
		return NetConfig{}, err
	}
	var h heads.Config
	switch c.Task {
	case TaskRegression:
		if len(c.Data.Targets) != 1 {
			return NetConfig{}, fmt.Errorf("finetune: regression needs one target column, have %v", c.Data.Targets)
		}
		h = heads.RegressionConfig()
	case TaskClassification:
		if len(c.Data.Targets) == 0 {
			return NetConfig{}, fmt.Errorf("finetune: classification needs at least one target column")
		}
		h = heads.ClassificationConfig(len(c.Data.Targets))
	default:
		return NetConfig{}, fmt.Errorf("finetune: task %q: want %s or %s", c.Task, TaskRegression, TaskClassification)
	}
	h.InDim, h.Hidden, h.AttnDim, h.Dropout, h.LayerNorm = m.EmbedDim, m.Hidden, m.AttnDim, m.HeadDropout, m.LayerNorm
	if err := h.Validate(); err != nil {
		return NetConfig{}, fmt.Errorf("finetune: %w", err)
	}
	n := NetConfig{Video: v, EmbedDim: m.EmbedDim, Head: h, Mode: mode, HuberDelta: m.HuberDelta, ReferenceOptimizer: m.ReferenceOptimizer}
	return n, n.Validate()
}

// Bag returns the bag selection.
func (c Config) Bag(frames int) (data.BagOptions, error) {
	sax, err := data.ParseSAXSelect(c.Data.SAX)
	if err != nil {
		return data.BagOptions{}, fmt.Errorf("finetune: %w", err)
	}
	views, err := c.ViewList()
	if err != nil {
		return data.BagOptions{}, err
	}
	o := data.BagOptions{Clip: data.ClipOptions{Frames: frames, DropSamples: c.Data.DropSamples}, Views: views, SAX: sax,
		SAXFraction: c.Data.SAXFraction, KeepSingleSliceSAX: c.Data.KeepSingleSliceSAX}
	if c.Data.CorrectRanges {
		o.Clip.Ranges = data.RangesCorrect
	}
	return o, nil
}

// ViewList parses the configured views.
func (c Config) ViewList() ([]cine.View, error) {
	var out []cine.View
	for _, v := range c.Data.Views {
		switch cv := cine.View(strings.ToUpper(v)); cv {
		case cine.View4CH, cine.View3CH, cine.View2CH, cine.ViewSAX:
			out = append(out, cv)
		default:
			return nil, fmt.Errorf("finetune: view %q: want 4CH, 3CH, 2CH or SAX", v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("finetune: no views selected")
	}
	return out, nil
}

// Transforms returns the train and evaluation transforms for the
// encoder's input size.
func (c Config) Transforms(n NetConfig) (trainT, evalT data.Transform, err error) {
	if n.Video.Height != n.Video.Width {
		return trainT, evalT, fmt.Errorf("finetune: the transforms crop squares; encoder input %d×%d", n.Video.Height, n.Video.Width)
	}
	in, err := data.ParseAugMixInput(c.Data.AugMixInput)
	if err != nil {
		return trainT, evalT, fmt.Errorf("finetune: %w", err)
	}
	trainT = data.TrainTransform()
	trainT.AugMix, trainT.AugInput = c.Data.AugMix, in
	trainT.MinSize, trainT.MaxSize, trainT.Crop = c.Data.MinSize, c.Data.MaxSize, n.Video.Height
	evalT = data.EvalTransform()
	evalT.MinSize, evalT.MaxSize, evalT.Crop = c.Data.MinSize, c.Data.MinSize, n.Video.Height
	switch c.Data.Normalize {
	case "", "reference":
	case "centred", "centered":
		for _, t := range []*data.Transform{&trainT, &evalT} {
			t.Mean, t.Std, t.NoDiv255 = t.Mean*255, t.Std*255, true
		}
	default:
		return trainT, evalT, fmt.Errorf("finetune: data.normalize %q: want reference or centred", c.Data.Normalize)
	}
	if c.Data.NoAugment {
		trainT = evalT
	}
	if err := trainT.Validate(); err != nil {
		return trainT, evalT, fmt.Errorf("finetune: train %w", err)
	}
	if err := evalT.Validate(); err != nil {
		return trainT, evalT, fmt.Errorf("finetune: evaluation %w", err)
	}
	return trainT, evalT, nil
}

// Validate checks the configuration.
func (c Config) Validate() error {
	n, err := c.Net()
	if err != nil {
		return err
	}
	if _, err := c.Bag(n.Video.Frames); err != nil {
		return err
	}
	if _, _, err := c.Transforms(n); err != nil {
		return err
	}
	if _, err := data.ParsePosWeightMode(c.Data.PosWeight); err != nil {
		return fmt.Errorf("finetune: %w", err)
	}
	if !(c.Data.Fraction > 0 && c.Data.Fraction <= 1) || math.IsNaN(c.Data.Fraction) {
		return fmt.Errorf("finetune: data.fraction %g: want 0 < f ≤ 1", c.Data.Fraction)
	}
	t := c.Trainer
	if t.Epochs <= 0 && t.MaxSteps <= 0 {
		return fmt.Errorf("finetune: set trainer.epochs or trainer.max_steps")
	}
	if t.BatchSize < 1 {
		return fmt.Errorf("finetune: trainer.batch_size %d: want ≥ 1", t.BatchSize)
	}
	if t.Pad && t.MaxInstances < 1 {
		return fmt.Errorf("finetune: trainer.pad needs max_instances ≥ 1")
	}
	if c.Data.TrainSplit == "" {
		return fmt.Errorf("finetune: data.train_split is empty")
	}
	return c.Optim.Validate()
}
