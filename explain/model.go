package explain

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/gomlx/compute"

	"github.com/cmrfm/cmrfm/internal/yamlconf"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/data"
	"github.com/cmrfm/cmrfm/train/finetune"
	"github.com/cmrfm/cmrfm/train/pretrain"
)

// ModelOptions names the video encoder to explain.
type ModelOptions struct {
	// Checkpoint is a cmrfm training checkpoint (cmrfm pretrain or cmrfm
	// finetune: …/checkpoints/last.safetensors); its configuration says the
	// architecture, the clips a study's bag holds and the evaluation
	// transform.
	Checkpoint string
	// Weights is an encoder weight file of any layout mvit.Resolve reads
	// (torchvision, pytorchvideo, the authors' Lightning checkpoint, a
	// cmrfm MViT checkpoint), with Arch (default mvit-b-16x4) and the
	// reference's bag and evaluation transform.
	Weights string
	Arch    string
	// Init and BugCompatible are mvit.ResolveOptions for the authors'
	// checkpoints (Kinetics weights under them, their loader's bug).
	Init          string
	BugCompatible bool
	// Backend runs the encoder (nil: $GOMLX_BACKEND, else the Go backend).
	Backend compute.Backend
}

// Model is a video encoder ready to explain, with the data settings its
// clips are made with.
type Model struct {
	Encoder *mvit.Encoder
	Config  mvit.Config
	Layout  Layout
	// Bag selects a study's clips; Transform is the evaluation transform.
	Bag       data.BagOptions
	Transform data.Transform
	// Source describes where the weights came from.
	Source string
	// AnyView is set when the model was not trained on a fixed set of
	// views' bags (pretraining, raw encoder weights): any view may be
	// explained, beyond the default Bag.Views.
	AnyView bool
}

// LoadModel loads the encoder of a checkpoint or weight file.
func LoadModel(o ModelOptions) (*Model, error) {
	if (o.Checkpoint == "") == (o.Weights == "") {
		return nil, fmt.Errorf("explain: give exactly one of a checkpoint or a weight file")
	}
	var (
		cfg mvit.Config
		enc *weights.Set
		m   = &Model{}
		err error
	)
	if o.Checkpoint != "" {
		cfg, enc, err = fromCheckpoint(o.Checkpoint, m)
	} else {
		cfg, enc, err = fromWeights(o, m)
	}
	if err != nil {
		return nil, err
	}
	cfg.HeadDropout = 0
	if m.Layout, err = LayoutOf(cfg); err != nil {
		return nil, err
	}
	be := o.Backend
	if be == nil {
		if be, err = ops.NewInferenceBackend(""); err != nil {
			return nil, err
		}
	}
	if m.Encoder, err = mvit.NewEncoder(be, cfg, enc); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	m.Config = cfg
	if err := m.Transform.Validate(); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	return m, nil
}

// fromCheckpoint reads a cmrfm training checkpoint's encoder and settings.
func fromCheckpoint(path string, m *Model) (mvit.Config, *weights.Set, error) {
	ck, err := train.LoadCheckpoint(path)
	if err != nil {
		return mvit.Config{}, nil, fmt.Errorf("explain: %w", err)
	}
	enc, _ := ck.Set.Rename(func(n string) (string, bool) {
		if !strings.HasPrefix(n, finetune.PrefixEncoder) {
			return "", false
		}
		return strings.ReplaceAll(n[len(finetune.PrefixEncoder):], "/", "."), true
	})
	if len(enc.Tensors) == 0 {
		return mvit.Config{}, nil, fmt.Errorf("explain: %s has no video tower (no %s… variables; a %q checkpoint)", path, finetune.PrefixEncoder, ck.Kind)
	}
	var cfg mvit.Config
	switch ck.Kind {
	case finetune.Kind:
		c, err := finetune.ParseConfig([]byte(ck.Config), finetune.RegressionConfig(), slog.New(slog.DiscardHandler))
		if err != nil {
			return cfg, nil, fmt.Errorf("explain: %s: %w", path, err)
		}
		nc, err := c.Net()
		if err != nil {
			return cfg, nil, fmt.Errorf("explain: %s: %w", path, err)
		}
		cfg = nc.Video
		if m.Bag, err = c.Bag(cfg.Frames); err != nil {
			return cfg, nil, fmt.Errorf("explain: %s: %w", path, err)
		}
		if _, m.Transform, err = c.Transforms(nc); err != nil {
			return cfg, nil, fmt.Errorf("explain: %s: %w", path, err)
		}
	case pretrain.Kind:
		c, err := yamlconf.Parse([]byte(ck.Config), pretrain.PaperConfig())
		if err != nil {
			return cfg, nil, fmt.Errorf("explain: %s: configuration: %w", path, err)
		}
		mc, err := c.ModelConfig()
		if err != nil {
			return cfg, nil, fmt.Errorf("explain: %s: %w", path, err)
		}
		cfg = mc.Video
		if _, m.Transform, err = c.Transforms(mc); err != nil {
			return cfg, nil, fmt.Errorf("explain: %s: %w", path, err)
		}
		// Pretraining draws one clip of one view; explain shows every clip
		// of the configured views, as a classification bag holds them.
		m.Bag = data.ClassificationBag()
		m.Bag.Clip = c.ClipOptions(mc)
		m.AnyView = true
		if m.Bag.Views, err = c.ViewList(); err != nil {
			return cfg, nil, fmt.Errorf("explain: %s: %w", path, err)
		}
	default:
		return cfg, nil, fmt.Errorf("explain: %s is a %q checkpoint; want one of cmrfm pretrain or cmrfm finetune", path, ck.Kind)
	}
	m.Source = fmt.Sprintf("%s checkpoint %s (%s, %d updates)", ck.Kind, path, cfg.Name, ck.State.Updates)
	return cfg, enc, nil
}

// fromWeights reads an encoder weight file with the reference's data
// settings.
func fromWeights(o ModelOptions, m *Model) (mvit.Config, *weights.Set, error) {
	arch := o.Arch
	if arch == "" {
		arch = mvit.ArchMViTB16x4
	}
	cfg, err := mvit.ByName(arch)
	if err != nil {
		return cfg, nil, fmt.Errorf("explain: %w", err)
	}
	src, err := weights.Load(o.Weights)
	if err != nil {
		return cfg, nil, fmt.Errorf("explain: %w", err)
	}
	if src.Metadata[weights.MetaFormat] == train.FormatTrain {
		return cfg, nil, fmt.Errorf("explain: %s is a training checkpoint: pass it as the checkpoint, not as weights", o.Weights)
	}
	opt := mvit.ResolveOptions{BugCompatible: o.BugCompatible}
	if o.Init != "" {
		if opt.Init, err = weights.Load(o.Init); err != nil {
			return cfg, nil, fmt.Errorf("explain: %w", err)
		}
	}
	r, err := mvit.Resolve(cfg, src, opt)
	if err != nil {
		return cfg, nil, fmt.Errorf("explain: %s holds no %s video tower: %w", o.Weights, cfg.Name, err)
	}
	m.Bag = data.ClassificationBag()
	m.Bag.Clip.Frames = cfg.Frames
	m.AnyView = true
	m.Transform = data.EvalTransform()
	if cfg.Height != 224 {
		// The reference's 264 → 224 short-side scale and centre crop,
		// proportionally for other input sizes.
		m.Transform.MinSize = (cfg.Height*264 + 112) / 224
		m.Transform.MaxSize, m.Transform.Crop = m.Transform.MinSize, cfg.Height
	}
	m.Source = fmt.Sprintf("%s weights %s (%s)", cfg.Name, o.Weights, r.Layout)
	return cfg, r.Encoder, nil
}
