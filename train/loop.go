package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// ErrInterrupted is returned by Runner.Run when StopAfter or a cancelled
// context stopped the run; the checkpoint a resume continues from has
// been written.
var ErrInterrupted = errors.New("train: run interrupted")

// Source yields a run's data epoch by epoch, each epoch in a fixed order
// that depends only on the epoch (so a resumed run sees the same batches).
type Source[B any] interface {
	// Len is the number of positions in an epoch (0 if unknown); with
	// Accumulate it sizes the progress bar.
	Len() int
	// Open starts epoch epoch at position pos (0, or where a checkpoint
	// stopped).
	Open(ctx context.Context, epoch, pos int) (Iterator[B], error)
}

// Iterator yields one epoch's batches.
type Iterator[B any] interface {
	// Next returns the next batch and the position after it; io.EOF ends
	// the epoch. Any other error stops the run.
	Next() (batch B, next int, err error)
	Close()
}

// StepFunc trains on one micro-batch. apply says whether it is the last of
// its accumulation group (so the optimiser updates the model; see
// Optimizer.Step). It returns named training values (loss, grad_norm, …);
// the metrics rows hold their means over the row's window.
type StepFunc[B any] func(ctx context.Context, batch B, apply bool) (map[string]float64, error)

// ValidateFunc evaluates the model at state st and returns named values.
type ValidateFunc func(ctx context.Context, st State) (map[string]float64, error)

// Runner is the training loop shared by cmrfm's trainers: epochs of
// batches from a Source, gradient accumulation, the learning-rate
// schedule, periodic validation, metrics files, atomic checkpoints of the
// whole state (model, optimiser, RNG, data position, pending metrics) and
// bit-identical resume.
//
// Interruptions (StopAfter, a cancelled context) take effect between
// accumulation groups, so a resumed run replays exactly what an
// uninterrupted run would have done. An epoch's last, incomplete group is
// applied with the micro-batches it has (as Lightning does).
type Runner[B any] struct {
	// Dir is the run folder: checkpoints/, metrics.csv, metrics.jsonl.
	Dir string
	// Kind and Config are recorded in checkpoints; a resume with another
	// Config is refused.
	Kind, Config string
	Store        *model.Store
	Optimizer    *Optimizer
	Source       Source[B]
	Step         StepFunc[B]
	// Validate, if set, runs every ValEvery updates (0: at the end of
	// every epoch).
	Validate ValidateFunc
	ValEvery int
	// Epochs and MaxSteps (updates) bound the run; at least one is > 0.
	Epochs, MaxSteps int
	// LogEvery writes a metrics row every that many updates (0: 1).
	LogEvery int
	// TrainColumns and ValColumns name the values StepFunc and
	// ValidateFunc return, in the order of the metrics columns.
	TrainColumns, ValColumns []string
	// CheckpointEvery saves checkpoints/last.safetensors every that many
	// updates; CheckpointEpochs every that many epochs (0: neither; the
	// end and interruptions always save). KeepSnapshots also keeps a copy
	// named after the update (step-0000500.safetensors) or epoch
	// (epoch-0010.safetensors).
	CheckpointEvery, CheckpointEpochs int
	KeepSnapshots                     bool
	// Seed seeds the store's RNG (dropout) at the start of a fresh run.
	Seed int64
	// Resume continues from checkpoints/last.safetensors.
	Resume bool
	// StopAfter > 0 interrupts the run once that many updates are done,
	// as a Ctrl-C would (used by tests and the demo).
	StopAfter int
	// MaxBadBatches is how many updates may be skipped for a non-finite
	// loss or gradient (Optimizer.Step) before the run stops with an
	// error; each skip is logged with the batch's study keys (when the
	// batch type has a StudyKeys method) and leaves the model unchanged.
	// 0 stops at the first; a negative value never stops.
	MaxBadBatches int
	Log           *slog.Logger
	// Progress receives a progress bar when it is a terminal.
	Progress io.Writer
}

// Keyed is implemented by batches that can name their studies (logged when
// a batch is skipped).
type Keyed interface{ StudyKeys() []string }

// ErrBadBatches is returned (wrapped) when more than MaxBadBatches updates
// were skipped for non-finite values.
var ErrBadBatches = errors.New("train: too many batches with a non-finite loss or gradient")

// Summary reports a run.
type Summary struct {
	State State
	// Skipped counts the updates skipped for a non-finite loss or
	// gradient over the whole run (earlier processes included).
	Skipped int
	// Rows are all metrics rows (earlier ones included after a resume).
	Rows []Row
	// Files written.
	Checkpoint, MetricsCSV, MetricsJSONL string
	// Elapsed is this process's wall time; StepTime the time spent in
	// StepFunc, DataWait the time spent waiting for batches, ValTime in
	// ValidateFunc; Steps the micro-batches run.
	Elapsed, StepTime, DataWait, ValTime time.Duration
	Steps                                int
}

// Paths inside a run folder.
const (
	CheckpointDir  = "checkpoints"
	LastCheckpoint = "last.safetensors"
)

// LastCheckpointPath returns dir/checkpoints/last.safetensors.
func LastCheckpointPath(dir string) string { return filepath.Join(dir, CheckpointDir, LastCheckpoint) }

func (r *Runner[B]) check() error {
	switch {
	case r.Store == nil || r.Optimizer == nil || r.Source == nil || r.Step == nil:
		return fmt.Errorf("train: runner needs Store, Optimizer, Source and Step")
	case r.Dir == "":
		return fmt.Errorf("train: runner needs a run folder (Dir)")
	case r.Epochs <= 0 && r.MaxSteps <= 0:
		return fmt.Errorf("train: set epochs or max_steps")
	case r.ValEvery < 0 || r.LogEvery < 0 || r.CheckpointEvery < 0 || r.CheckpointEpochs < 0:
		return fmt.Errorf("train: negative interval")
	}
	for _, c := range r.TrainColumns {
		if slices.Contains(r.ValColumns, c) {
			return fmt.Errorf("train: column %q is both a training and a validation column", c)
		}
	}
	return nil
}

// Run trains until Epochs or MaxSteps is reached, or until interrupted.
func (r *Runner[B]) Run(ctx context.Context) (*Summary, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	log := r.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	t0 := time.Now()
	last := LastCheckpointPath(r.Dir)
	sum := &Summary{Checkpoint: last, MetricsCSV: filepath.Join(r.Dir, MetricsCSV), MetricsJSONL: filepath.Join(r.Dir, MetricsJSONL)}
	var st State
	if r.Resume {
		ck, err := LoadCheckpoint(last)
		if err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		if ck.Config != r.Config {
			return nil, fmt.Errorf("train: resume: %s was written by a run with another configuration", last)
		}
		if _, err := ck.Restore(r.Store, ""); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		st = ck.State
		log.Info("resumed", "checkpoint", last, "epoch", st.Epoch, "position", st.Position, "updates", st.Updates)
	} else {
		if err := os.MkdirAll(filepath.Join(r.Dir, CheckpointDir), 0o755); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if err := r.Store.SetRNGStateFromSeed(r.Seed); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	columns := append(slices.Clone(r.TrainColumns), r.ValColumns...)
	metrics, err := OpenMetrics(r.Dir, columns, st.Written)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()

	acc := r.Optimizer.cfg.accumulate()
	logEvery := max(r.LogEvery, 1)
	done := func() bool {
		return (r.MaxSteps > 0 && st.Updates >= r.MaxSteps) || (r.Epochs > 0 && st.Epoch >= r.Epochs)
	}
	total := r.MaxSteps
	if n := r.Source.Len(); r.Epochs > 0 && n > 0 {
		if e := r.Epochs * ((n + acc - 1) / acc); total <= 0 || e < total {
			total = e
		}
	}
	bar := progress.New(r.Progress, total, r.Kind, " updates")
	bar.Add(st.Updates)
	defer bar.Finish()

	skippedBefore, err := r.Optimizer.Skipped()
	if err != nil {
		return nil, err
	}
	var lastLR float64
	flush := func() error {
		if st.Pending == nil {
			return nil
		}
		if err := metrics.Add(*st.Pending); err != nil {
			return err
		}
		st.Pending = nil
		st.Written++
		return nil
	}
	// row returns the row of the newest update, starting it from the
	// window's means if there is none yet.
	row := func() (*Row, error) {
		if st.Pending != nil && st.Pending.Step == st.Updates {
			return st.Pending, nil
		}
		if err := flush(); err != nil {
			return nil, err
		}
		rw := &Row{Step: st.Updates, Epoch: st.Epoch, LR: lastLR}
		for _, c := range r.TrainColumns {
			if s, ok := st.Window[c]; ok && s.N > 0 {
				rw.Set(c, s.Sum/float64(s.N))
			}
		}
		st.Window = nil
		st.Pending = rw
		return rw, nil
	}
	validate := func() error {
		if r.Validate == nil {
			return nil
		}
		rw, err := row()
		if err != nil {
			return err
		}
		tv := time.Now()
		vals, err := r.Validate(ctx, st)
		sum.ValTime += time.Since(tv)
		if err != nil {
			return fmt.Errorf("train: validation at update %d: %w", st.Updates, err)
		}
		for _, c := range r.ValColumns {
			if v, ok := vals[c]; ok {
				rw.Set(c, v)
			}
		}
		log.Info("validation", append([]any{"update", st.Updates, "epoch", st.Epoch}, kv(r.ValColumns, vals)...)...)
		return nil
	}
	save := func(snapshot string) error {
		if err := metrics.Sync(); err != nil {
			return fmt.Errorf("train: metrics: %w", err)
		}
		if err := SaveCheckpoint(last, r.Store, st, r.Kind, r.Config); err != nil {
			return err
		}
		if r.KeepSnapshots && snapshot != "" {
			return SaveCheckpoint(filepath.Join(r.Dir, CheckpointDir, snapshot), r.Store, st, r.Kind, r.Config)
		}
		return nil
	}
	if lr, err := r.Optimizer.LR(); err == nil {
		lastLR = lr
	}
	if st.Pending != nil {
		lastLR = st.Pending.LR
	}
	interrupted := false
	for !done() && !st.Done && !interrupted {
		it, err := r.Source.Open(ctx, st.Epoch, st.Position)
		if err != nil {
			return sum, fmt.Errorf("train: epoch %d: %w", st.Epoch, err)
		}
		next := func() (B, int, error) {
			tw := time.Now()
			b, p, err := it.Next()
			sum.DataWait += time.Since(tw)
			return b, p, err
		}
		cur, curNext, cerr := next()
		micro := 0
		var runErr error
		var rngAtGroup *tensors.Tensor
		for cerr == nil {
			if micro == 0 {
				if done() {
					break
				}
				if (r.StopAfter > 0 && st.Updates >= r.StopAfter) || ctx.Err() != nil {
					interrupted = true
					break
				}
				if rngAtGroup, err = rngState(r.Store); err != nil {
					runErr = err
					break
				}
			}
			nxt, nxtNext, nerr := next()
			if nerr != nil && !errors.Is(nerr, io.EOF) {
				if ctx.Err() != nil {
					// Cancelled while loading: drop the group begun, so
					// the state is the group's start again.
					if micro > 0 {
						if err := r.abandonGroup(rngAtGroup); err != nil {
							runErr = err
							break
						}
					}
					interrupted = true
					break
				}
				runErr = fmt.Errorf("train: epoch %d: %w", st.Epoch, nerr)
				break
			}
			apply := micro+1 == acc || nerr != nil
			if apply {
				lastLR = r.Optimizer.cfg.Schedule.LR(r.Optimizer.cfg.LR, st.Epoch, st.Updates)
				if err := r.Optimizer.SetLR(lastLR); err != nil {
					runErr = err
					break
				}
			}
			ts := time.Now()
			vals, err := r.Step(ctx, cur, apply)
			sum.StepTime += time.Since(ts)
			sum.Steps++
			if err != nil {
				runErr = fmt.Errorf("train: update %d: %w", st.Updates+1, err)
				break
			}
			if apply {
				n, err := r.Optimizer.Skipped()
				if err != nil {
					runErr = err
					break
				}
				if n > skippedBefore {
					skippedBefore = n
					var keys []string
					if k, ok := any(cur).(Keyed); ok {
						keys = k.StudyKeys()
					}
					log.Warn("batch skipped: non-finite loss or gradient; the model is unchanged", "update", st.Updates+1,
						"epoch", st.Epoch, "studies", keys, "skipped so far", n)
					if r.MaxBadBatches >= 0 && n > r.MaxBadBatches {
						runErr = fmt.Errorf("%w: %d (max_bad_batches %d); the last at update %d, studies %v", ErrBadBatches, n, r.MaxBadBatches, st.Updates+1, keys)
						break
					}
				}
			}
			for _, c := range r.TrainColumns {
				if v, ok := vals[c]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
					if st.Window == nil {
						st.Window = map[string]Sum{}
					}
					s := st.Window[c]
					s.Sum += v
					s.N++
					st.Window[c] = s
				}
			}
			micro++
			if apply {
				micro = 0
				st.Updates++
				st.Position = curNext
				bar.Add(1)
				if v, ok := vals[firstOr(r.TrainColumns)]; ok {
					bar.Describe(fmt.Sprintf("epoch %d %s %.4g", st.Epoch, firstOr(r.TrainColumns), v))
				}
				valNow := r.Validate != nil && r.ValEvery > 0 && st.Updates%r.ValEvery == 0
				if st.Updates%logEvery == 0 || valNow {
					if _, err := row(); err != nil {
						runErr = err
						break
					}
				}
				if valNow {
					if err := validate(); err != nil {
						runErr = err
						break
					}
				}
				if r.CheckpointEvery > 0 && st.Updates%r.CheckpointEvery == 0 {
					if err := save(fmt.Sprintf("step-%07d.safetensors", st.Updates)); err != nil {
						runErr = err
						break
					}
				}
			}
			cur, curNext, cerr = nxt, nxtNext, nerr
		}
		it.Close()
		if runErr != nil {
			return sum, runErr
		}
		if interrupted {
			break
		}
		if cerr != nil && !errors.Is(cerr, io.EOF) {
			if ctx.Err() != nil {
				interrupted = true
				break
			}
			return sum, fmt.Errorf("train: epoch %d: %w", st.Epoch, cerr)
		}
		if cerr == nil {
			break // stopped inside the epoch by max_steps
		}
		// The epoch is complete.
		if r.Validate != nil && r.ValEvery == 0 && st.Updates > 0 {
			if err := validate(); err != nil {
				return sum, err
			}
		}
		log.Info("epoch done", "epoch", st.Epoch, "updates", st.Updates, "step time", sum.StepTime.Round(time.Millisecond),
			"data wait", sum.DataWait.Round(time.Millisecond))
		st.Epoch++
		st.Position = 0
		if err := flush(); err != nil {
			return sum, err
		}
		if r.CheckpointEpochs > 0 && st.Epoch%r.CheckpointEpochs == 0 {
			if err := save(fmt.Sprintf("epoch-%04d.safetensors", st.Epoch)); err != nil {
				return sum, err
			}
		}
	}
	if interrupted {
		if err := save(""); err != nil {
			return sum, err
		}
		log.Info("interrupted: checkpoint written; resume to continue", "checkpoint", last, "updates", st.Updates)
		sum.State, sum.Rows, sum.Elapsed, sum.Skipped = st, slices.Clone(metrics.Rows()), time.Since(t0), skippedBefore
		if err := ctx.Err(); err != nil {
			return sum, fmt.Errorf("%w: %w", ErrInterrupted, err)
		}
		return sum, ErrInterrupted
	}
	if !st.Done {
		if len(st.Window) > 0 {
			if _, err := row(); err != nil {
				return sum, err
			}
		}
		if err := flush(); err != nil {
			return sum, err
		}
		st.Done = true
		if err := save(""); err != nil {
			return sum, err
		}
	}
	sum.State, sum.Rows, sum.Elapsed, sum.Skipped = st, slices.Clone(metrics.Rows()), time.Since(t0), skippedBefore
	return sum, nil
}

// rngVariable is the store's RNG state (dropout, random initialisers).
func rngVariable(store *model.Store) *model.Variable {
	return store.GetVariable(model.JoinPath("/", model.RNGStateVariableName))
}

// rngState returns a copy of the store's RNG state (nil if none).
func rngState(store *model.Store) (*tensors.Tensor, error) {
	v := rngVariable(store)
	if v == nil {
		return nil, nil
	}
	t, err := v.Value()
	if err != nil {
		return nil, err
	}
	return t.LocalClone()
}

// abandonGroup undoes a partial accumulation group: accumulators cleared,
// RNG state back to the group's start.
func (r *Runner[B]) abandonGroup(rng *tensors.Tensor) error {
	if err := r.Optimizer.ZeroAccumulators(); err != nil {
		return err
	}
	if rng != nil {
		return rngVariable(r.Store).SetValue(rng)
	}
	return nil
}

func firstOr(cols []string) string {
	if len(cols) == 0 {
		return ""
	}
	return cols[0]
}

// kv turns named values into slog arguments in column order.
func kv(cols []string, vals map[string]float64) []any {
	var out []any
	for _, c := range cols {
		if v, ok := vals[c]; ok {
			out = append(out, c, v)
		}
	}
	return out
}
