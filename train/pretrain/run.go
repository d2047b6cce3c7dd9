package pretrain

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cmrfm/cmrfm/model/bert"
	"github.com/cmrfm/cmrfm/model/heads"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/cmrfm/cmrfm/train"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// ErrInterrupted is train.ErrInterrupted: a run stopped by RunOptions.StopAfter
// or a cancelled context, after writing the checkpoint a resume continues from.
var ErrInterrupted = train.ErrInterrupted

// Kind is the checkpoint kind of pretraining runs.
const Kind = "pretrain"

// Metrics columns written by pretraining (metrics.csv / metrics.jsonl,
// besides step, epoch and lr).
var (
	TrainColumns = []string{"loss", "loss_flooded", "grad_norm", "samples_per_s"}
	ValColumns   = []string{"val_loss", "val_loss_flooded", "val_r1_v2t", "val_r5_v2t", "val_r1_t2v", "val_r5_t2v",
		"val_chance_r1", "val_n"}
)

// RunOptions are the parts of a run that are not configuration.
type RunOptions struct {
	// Resume continues from <out>/checkpoints/last.safetensors: model,
	// optimiser, learning rate, update count, RNG state, data position and
	// pending metrics.
	Resume bool
	Log    *slog.Logger
	// Progress receives the progress bar (drawn only on a terminal).
	Progress io.Writer
	// Backend overrides Trainer.Backend.
	Backend compute.Backend
	// Data overrides the data named in the config (tests, the demo).
	Data *Data
	// StopAfter > 0 interrupts the run after that many updates, as Ctrl-C
	// would: a checkpoint is written and ErrInterrupted returned.
	StopAfter int
}

// Summary is what a run did.
type Summary struct {
	*train.Summary
	// LastVal is the last validation (nil without validation).
	LastVal *Validation
	// Plots written at the end (loss.png, recall.png).
	LossPlot, RecallPlot string
}

// source adapts a Loader to train.Source: positions count studies of the
// epoch's order, Len counts batches (for the progress bar).
type source struct{ l *Loader }

func (s source) Len() int { return s.l.Clips.Len() / s.l.BatchSize }

func (s source) Open(ctx context.Context, epoch, pos int) (train.Iterator[*Batch], error) {
	return &iterator{ep: s.l.Epoch(ctx, epoch, pos)}, nil
}

type iterator struct{ ep *Epoch }

func (it *iterator) Next() (*Batch, int, error) {
	b, err := it.ep.Next()
	if err != nil {
		return nil, 0, err
	}
	return b, b.Next, nil
}

func (it *iterator) Close() { it.ep.Close() }

// Run trains the two towers with the contrastive loss as c says, with the
// shared training core (train.Runner, train.Optimizer), writing
// checkpoints, metrics and plots under c.Out.
func Run(ctx context.Context, c Config, o RunOptions) (*Summary, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	mc, err := c.ModelConfig()
	if err != nil {
		return nil, err
	}
	cfgYAML, err := c.YAML()
	if err != nil {
		return nil, err
	}
	d := o.Data
	if d == nil {
		if d, err = OpenData(c, mc, log); err != nil {
			return nil, err
		}
	}
	backend := o.Backend
	if backend == nil {
		if backend, err = ops.NewBackend(c.Trainer.Backend); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.Out, "config.yaml"), []byte(cfgYAML), 0o644); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}

	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(c.Seed))
	tw := NewTowers(store)
	if !o.Resume {
		if err := initWeights(store, tw, c, mc, log); err != nil {
			return nil, err
		}
	}
	opt, err := train.NewOptimizer(store, c.Optim)
	if err != nil {
		return nil, err
	}
	execs := map[bool]*model.Exec{}
	for _, apply := range []bool{true, false} {
		if !apply && c.Optim.Accumulate <= 1 {
			continue
		}
		exec, err := model.NewExec(backend, store, func(_ *model.Scope, xs []*graph.Node) []*graph.Node {
			g := xs[0].Graph()
			store.SetTraining(g, true)
			_, l := Loss(tw, mc, xs[0], xs[1], xs[2])
			// Sorted by path (train.Trainable): bit-identical resume.
			vars := train.Trainable(store, g, "/"+ScopeModel+"/")
			norm := opt.Step(l.Loss, vars, apply)
			return []*graph.Node{l.Raw, l.Loss, norm}
		})
		if err != nil {
			return nil, fmt.Errorf("pretrain: %w", err)
		}
		execs[apply] = exec
	}
	lastStep := time.Now()
	step := func(_ context.Context, b *Batch, apply bool) (map[string]float64, error) {
		in, err := Inputs(mc, b)
		if err != nil {
			return nil, err
		}
		outs, err := execs[apply].Call(in[0], in[1], in[2])
		if err != nil {
			return nil, err
		}
		now := time.Now()
		vals := map[string]float64{
			"loss":          float64(tensors.ToScalar[float32](outs[0])),
			"loss_flooded":  float64(tensors.ToScalar[float32](outs[1])),
			"samples_per_s": float64(len(b.Keys)) / now.Sub(lastStep).Seconds(),
		}
		lastStep = now
		if apply {
			vals["grad_norm"] = float64(tensors.ToScalar[float32](outs[2]))
		}
		return vals, nil
	}

	sum := &Summary{}
	var validate train.ValidateFunc
	if d.Val != nil {
		emb, err := NewEmbedder(backend, store, mc)
		if err != nil {
			return nil, err
		}
		validate = func(ctx context.Context, _ train.State) (map[string]float64, error) {
			v, err := emb.Validate(ctx, d.Val, c.Trainer.ValBatches, c.Trainer.RecallPool)
			if err != nil {
				return nil, err
			}
			sum.LastVal = v
			r := v.Retrieval
			return map[string]float64{"val_loss": v.RawLoss, "val_loss_flooded": v.Loss,
				"val_r1_v2t": r.VideoToText[0], "val_r5_v2t": r.VideoToText[1], "val_r1_t2v": r.TextToVideo[0], "val_r5_t2v": r.TextToVideo[1],
				"val_chance_r1": r.Chance(1), "val_n": float64(r.N)}, nil
		}
	}
	runner := &train.Runner[*Batch]{
		Dir: c.Out, Kind: Kind, Config: cfgYAML, Store: store, Optimizer: opt,
		Source: source{d.Train}, Step: step, Validate: validate, ValEvery: c.Trainer.ValEvery,
		Epochs: c.Trainer.Epochs, MaxSteps: c.Trainer.MaxSteps, LogEvery: c.Trainer.LogEvery,
		TrainColumns: TrainColumns, ValColumns: ValColumns,
		CheckpointEpochs: c.Trainer.CheckpointEvery, KeepSnapshots: true,
		Seed: int64(c.Seed), Resume: o.Resume, StopAfter: o.StopAfter, Log: log, MaxBadBatches: c.Trainer.MaxBadBatches,
	}
	if c.Trainer.Progress {
		runner.Progress = o.Progress
	}
	log.Info("pretraining", "train studies", d.Train.Clips.Len(), "batch", c.Trainer.BatchSize, "accumulate", c.Optim.Accumulate,
		"video", mc.Video.Name, "text", mc.Text.Name, "backend", backend.Name())
	ts, err := runner.Run(ctx)
	sum.Summary = ts
	if err != nil {
		return sum, err
	}
	sum.LossPlot, sum.RecallPlot = filepath.Join(c.Out, "loss.png"), filepath.Join(c.Out, "recall.png")
	if err := train.PlotMetrics(sum.LossPlot, "Contrastive pretraining loss", "loss (before flooding)", ts.Rows,
		[]train.Curve{{Column: "loss", Label: "train"}, {Column: "val_loss", Label: "validation", Points: true}}, false); err != nil {
		return sum, err
	}
	if d.Val != nil {
		if err := train.PlotMetrics(sum.RecallPlot, "Validation retrieval", "recall", ts.Rows,
			[]train.Curve{{Column: "val_r1_v2t", Label: "R@1 video→text", Points: true}, {Column: "val_r1_t2v", Label: "R@1 text→video", Points: true},
				{Column: "val_r5_v2t", Label: "R@5 video→text", Points: true}, {Column: "val_r5_t2v", Label: "R@5 text→video", Points: true},
				{Column: "val_chance_r1", Label: "chance @1"}}, false); err != nil {
			return sum, err
		}
	} else {
		sum.RecallPlot = ""
	}
	return sum, nil
}

// LoadModel returns a store holding the model variables (under /model/)
// of a pretraining checkpoint, for inference or to start another run.
func LoadModel(path string) (*model.Store, error) {
	ck, err := train.LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	if ck.Kind != Kind {
		return nil, fmt.Errorf("pretrain: %s is a %q checkpoint, not a pretraining one", path, ck.Kind)
	}
	store := model.NewStore()
	if _, err := ck.Restore(store, "/"+ScopeModel+"/"); err != nil {
		return nil, err
	}
	return store, nil
}

// initWeights loads the starting weights the config names, or leaves the
// towers to their random initialisation with a warning.
func initWeights(store *model.Store, tw Towers, c Config, mc ModelConfig, log *slog.Logger) error {
	in := c.Init
	if in.Checkpoint != "" {
		ck, err := train.LoadCheckpoint(in.Checkpoint)
		if err != nil {
			return fmt.Errorf("pretrain: init.checkpoint: %w", err)
		}
		n, err := ck.Restore(store, "/"+ScopeModel+"/")
		if err != nil {
			return fmt.Errorf("pretrain: init.checkpoint: %w", err)
		}
		log.Info("model initialised from a pretraining checkpoint", "file", in.Checkpoint, "tensors", n)
		return nil
	}
	if in.Video != "" {
		s, err := weights.Load(in.Video)
		if err != nil {
			return fmt.Errorf("pretrain: init.video: %w", err)
		}
		r, err := mvit.Resolve(mc.Video, s, mvit.ResolveOptions{})
		if err != nil {
			return fmt.Errorf("pretrain: init.video %s: %w", in.Video, err)
		}
		if err := mvit.LoadInto(tw.VideoEncoder, mc.Video, r.Encoder); err != nil {
			return err
		}
		if _, ok := r.Projection.Tensors["video_proj.weight"]; ok {
			if err := heads.LoadProjection(tw.VideoProj, mc.Video.OutDim(), mc.EmbedDim, r.Projection.WithPrefix("video_proj.")); err != nil {
				return fmt.Errorf("pretrain: init.video projection: %w", err)
			}
		}
		log.Info("video tower initialised", "file", in.Video, "layout", r.Layout)
		for _, n := range r.Notes {
			log.Info(n)
		}
	} else {
		log.Warn("video tower starts from random weights (init.video not set; the paper starts from Kinetics-400)")
	}
	if in.Text != "" {
		cn, err := bert.LoadFile(in.Text)
		if err != nil {
			return fmt.Errorf("pretrain: init.text: %w", err)
		}
		if err := bert.LoadInto(tw.TextEncoder, mc.Text, cn.Set); err != nil {
			return fmt.Errorf("pretrain: init.text %s: %w", in.Text, err)
		}
		log.Info("text tower initialised", "file", in.Text, "prefix", cn.Prefix)
	} else {
		log.Warn("text tower starts from random weights (init.text not set; the paper starts from PubMedBERT)")
	}
	return nil
}
