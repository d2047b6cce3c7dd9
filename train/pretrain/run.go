package pretrain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/model/bert"
	"github.com/cmrfm/cmrfm/model/heads"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// ErrInterrupted is returned when RunOptions.StopAfter stops a run (after
// writing the checkpoint a resume continues from).
var ErrInterrupted = errors.New("pretrain: run interrupted")

// RunOptions are the parts of a run that are not configuration.
type RunOptions struct {
	// Resume continues from <out>/checkpoints/last.safetensors: model,
	// optimiser, learning rate, update count, RNG state and data position.
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
	Updates, Epochs int
	// Last is the final metrics row; LastVal the last validation (nil
	// without validation).
	Last    Row
	LastVal *Validation
	// Files written.
	Checkpoint, MetricsCSV, MetricsJSONL, LossPlot, RecallPlot string
	// DataWait is the total time the model waited for data.
	DataWait, Elapsed time.Duration
}

// Paths inside a run folder.
const (
	CheckpointDir  = "checkpoints"
	LastCheckpoint = "last.safetensors"
)

// Run trains the two towers with the contrastive loss as c says, writing
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
	if err := os.MkdirAll(filepath.Join(c.Out, CheckpointDir), 0o755); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.Out, "config.yaml"), []byte(cfgYAML), 0o644); err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}

	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(c.Seed))
	tw := NewTowers(store)
	st := State{Config: cfgYAML}
	last := filepath.Join(c.Out, CheckpointDir, LastCheckpoint)
	if o.Resume {
		set, s, err := ReadCheckpoint(last)
		if err != nil {
			return nil, fmt.Errorf("pretrain: --resume: %w", err)
		}
		if s.Config != cfgYAML {
			return nil, fmt.Errorf("pretrain: --resume: %s was written with another configuration (see %s)", last, filepath.Join(c.Out, "config.yaml"))
		}
		if _, err := RestoreVariables(store, set, ""); err != nil {
			return nil, err
		}
		st = s
		log.Info("resumed", "checkpoint", last, "epoch", st.Epoch, "position", st.Position, "updates", st.Updates)
	} else if err := initWeights(store, tw, c, mc, log); err != nil {
		return nil, err
	}
	// The dropout RNG state is a variable too: seed it before the first
	// graph so runs are reproducible (a resumed run restored it above).
	if store.GetVariable(model.JoinPath("/", model.RNGStateVariableName)) == nil {
		if err := store.ResetRNGState(); err != nil {
			return nil, fmt.Errorf("pretrain: %w", err)
		}
	}
	lrVar := LRVariable(store, LearningRate(c.Optim, st.Epoch))

	inputs := func(xs []*graph.Node) *LossOutput {
		g := xs[0].Graph()
		store.SetTraining(g, true)
		_, l := Loss(tw, mc, xs[0], xs[1], xs[2])
		return l
	}
	step, err := model.NewExec(backend, store, func(_ *model.Scope, xs []*graph.Node) []*graph.Node {
		l := inputs(xs)
		norm := updateGraph(store, l.Loss, c.Optim)
		return []*graph.Node{l.Loss, l.Raw, norm}
	})
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	var accum *model.Exec
	if c.Optim.Accumulate > 1 {
		if accum, err = model.NewExec(backend, store, func(_ *model.Scope, xs []*graph.Node) []*graph.Node {
			l := inputs(xs)
			accumulateGraph(store, l.Loss, c.Optim)
			return []*graph.Node{l.Loss, l.Raw}
		}); err != nil {
			return nil, fmt.Errorf("pretrain: %w", err)
		}
	}
	var emb *Embedder
	if d.Val != nil {
		if emb, err = NewEmbedder(backend, store, mc); err != nil {
			return nil, err
		}
	}

	metrics, err := openMetrics(filepath.Join(c.Out, "metrics.csv"), filepath.Join(c.Out, "metrics.jsonl"), o.Resume, st.Updates)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()

	perEpoch := d.Train.Clips.Len() / c.Trainer.BatchSize / c.Optim.Accumulate
	total := c.Trainer.Epochs * perEpoch
	if c.Trainer.MaxSteps > 0 && (total == 0 || c.Trainer.MaxSteps < total) {
		total = c.Trainer.MaxSteps
	}
	var bar *progress.Bar
	if c.Trainer.Progress && o.Progress != nil {
		bar = progress.New(o.Progress, total, "pretrain", " updates")
		bar.Add(st.Updates)
	} else {
		bar = progress.New(io.Discard, 0, "", "")
	}
	defer bar.Finish()
	log.Info("pretraining", "train studies", d.Train.Clips.Len(), "batch", c.Trainer.BatchSize, "accumulate", c.Optim.Accumulate,
		"updates per epoch", perEpoch, "updates", total, "video", mc.Video.Name, "text", mc.Text.Name, "backend", backend.Name())

	sum := &Summary{Checkpoint: last, MetricsCSV: metrics.csv.Name(), MetricsJSONL: metrics.jsonl.Name()}
	t0 := time.Now()
	validate := func(r *Row) error {
		if emb == nil {
			return nil
		}
		v, err := emb.Validate(ctx, d.Val, c.Trainer.ValBatches, c.Trainer.RecallPool)
		if err != nil {
			return err
		}
		r.Val = valRow(v)
		sum.LastVal = v
		log.Info("validation", "step", r.Step, "loss", v.Loss, "R@1 v→t", v.Retrieval.VideoToText[0], "R@1 t→v", v.Retrieval.TextToVideo[0],
			"R@5 v→t", v.Retrieval.VideoToText[1], "R@5 t→v", v.Retrieval.TextToVideo[1], "pool", v.Retrieval.Pool)
		return nil
	}
	save := func(epochPath string) error {
		st.Config = cfgYAML
		if err := SaveCheckpoint(last, store, st); err != nil {
			return err
		}
		if epochPath != "" {
			return SaveCheckpoint(epochPath, store, st)
		}
		return nil
	}
	done := func() bool {
		return (c.Trainer.MaxSteps > 0 && st.Updates >= c.Trainer.MaxSteps) || (c.Trainer.Epochs > 0 && st.Epoch >= c.Trainer.Epochs)
	}

	lastRow := time.Now()
	var waitMark time.Duration
	var rowSamples int
	var pending *Row          // the newest row, written when the next one comes (validation may join it)
	var lastUpdate [3]float64 // loss, raw, grad norm of the newest update
	flush := func() error {
		if pending == nil {
			return nil
		}
		err := metrics.add(*pending)
		sum.Last = *pending
		pending = nil
		return err
	}
	// row starts the row of the newest update (if it has none yet).
	row := func(ep *Epoch, lr float64) *Row {
		if pending != nil && pending.Step == st.Updates {
			return pending
		}
		if err := flush(); err != nil {
			log.Error("metrics", "err", err)
		}
		now := time.Now()
		wait := ep.Wait()
		r := &Row{Step: st.Updates, Epoch: st.Epoch, LR: lr, Loss: lastUpdate[0], LossRaw: lastUpdate[1],
			LossAvg: st.LossSum / float64(max(st.LossN, 1)), GradNorm: lastUpdate[2],
			SamplesPerSec: float64(rowSamples) / now.Sub(lastRow).Seconds(), DataWait: (wait - waitMark).Seconds()}
		st.LossSum, st.LossN, rowSamples = 0, 0, 0
		lastRow, waitMark = now, wait
		pending = r
		return r
	}
	for !done() {
		lr := LearningRate(c.Optim, st.Epoch)
		if err := lrVar.SetValue(tensors.FromScalar(float32(lr))); err != nil {
			return nil, err
		}
		ep := d.Train.Epoch(ctx, st.Epoch, st.Position)
		waitMark = 0
		micro := 0
		var epochErr error
		for !done() {
			if err := ctx.Err(); err != nil {
				epochErr = err
				break
			}
			b, err := ep.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				epochErr = err
				break
			}
			in, err := Inputs(mc, b)
			if err != nil {
				epochErr = err
				break
			}
			micro++
			rowSamples += len(b.Keys)
			if micro < c.Optim.Accumulate {
				if _, err := accum.Call(in[0], in[1], in[2]); err != nil {
					epochErr = fmt.Errorf("pretrain: accumulation step: %w", err)
					break
				}
				continue
			}
			micro = 0
			outs, err := step.Call(in[0], in[1], in[2])
			if err != nil {
				epochErr = fmt.Errorf("pretrain: training step: %w", err)
				break
			}
			st.Updates++
			st.Position = b.Next
			lastUpdate = [3]float64{float64(tensors.ToScalar[float32](outs[0])), float64(tensors.ToScalar[float32](outs[1])),
				float64(tensors.ToScalar[float32](outs[2]))}
			st.LossSum += lastUpdate[1]
			st.LossN++
			bar.Add(1)
			bar.Describe(fmt.Sprintf("epoch %d loss %.4f lr %.2g", st.Epoch, lastUpdate[1], lr))
			valNow := c.Trainer.ValEvery > 0 && st.Updates%c.Trainer.ValEvery == 0
			if c.Trainer.LogEvery <= 1 || st.Updates%c.Trainer.LogEvery == 0 || valNow {
				r := row(ep, lr)
				if valNow {
					if err := validate(r); err != nil {
						epochErr = err
						break
					}
				}
			}
			if o.StopAfter > 0 && st.Updates == o.StopAfter {
				epochErr = ErrInterrupted
				break
			}
		}
		sum.DataWait += ep.Wait()
		if sk := ep.Skipped(); sk > 0 {
			log.Warn("studies without a usable clip this epoch", "epoch", st.Epoch, "skipped", sk)
		}
		stats := ep.Stats()
		ep.Close()
		if micro > 0 {
			// An incomplete accumulation (epoch end or interruption) is
			// dropped; a resumed run redoes those micro-batches.
			if err := zeroAccumulators(store); err != nil {
				return nil, err
			}
		}
		if epochErr != nil {
			if errors.Is(epochErr, ErrInterrupted) || errors.Is(epochErr, context.Canceled) {
				if err := flush(); err != nil {
					return nil, err
				}
				if err := save(""); err != nil {
					return nil, err
				}
				log.Info("interrupted: checkpoint written", "checkpoint", last, "updates", st.Updates)
			}
			return sum, epochErr
		}
		if done() && st.Position != 0 {
			break // stopped by max_steps inside the epoch
		}
		log.Info("epoch done", "epoch", st.Epoch, "updates", st.Updates, "data wait", stats.Wait.Round(time.Millisecond),
			"load (sum over workers)", stats.Load.Round(time.Millisecond))
		if c.Trainer.ValEvery == 0 && emb != nil && st.Updates > 0 {
			if err := validate(row(ep, lr)); err != nil {
				return nil, err
			}
		}
		st.Epoch++
		st.Position = 0
		if err := flush(); err != nil {
			return nil, err
		}
		if c.Trainer.CheckpointEvery > 0 && st.Epoch%c.Trainer.CheckpointEvery == 0 {
			if err := save(filepath.Join(c.Out, CheckpointDir, fmt.Sprintf("epoch=%04d.safetensors", st.Epoch))); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := save(""); err != nil {
		return nil, err
	}
	sum.Updates, sum.Epochs = st.Updates, st.Epoch
	sum.LossPlot, sum.RecallPlot = filepath.Join(c.Out, "loss.png"), filepath.Join(c.Out, "recall.png")
	if err := WritePlots(metrics.rows, sum.LossPlot, sum.RecallPlot); err != nil {
		return nil, err
	}
	sum.Elapsed = time.Since(t0)
	return sum, nil
}

// zeroAccumulators clears gradient accumulators.
func zeroAccumulators(store *model.Store) error {
	for v := range store.IterVariables() {
		if v.Scope() == "" || !isUnder(v.Path(), "/"+ScopeOptim+"/"+scopeAccum+"/") {
			continue
		}
		z := tensors.FromShape(v.Shape())
		if err := v.SetValue(z); err != nil {
			return err
		}
	}
	return nil
}

func isUnder(p, prefix string) bool { return len(p) >= len(prefix) && p[:len(prefix)] == prefix }

// initWeights loads the starting weights the config names, or leaves the
// towers to their random initialisation with a warning.
func initWeights(store *model.Store, tw Towers, c Config, mc ModelConfig, log *slog.Logger) error {
	in := c.Init
	if in.Checkpoint != "" {
		set, _, err := ReadCheckpoint(in.Checkpoint)
		if err != nil {
			return fmt.Errorf("pretrain: init.checkpoint: %w", err)
		}
		n, err := RestoreVariables(store, set, "/"+ScopeModel+"/")
		if err != nil {
			return err
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
			p := r.Projection.WithPrefix("video_proj.")
			if err := heads.LoadProjection(tw.VideoProj, mc.Video.OutDim(), mc.EmbedDim, p); err != nil {
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
