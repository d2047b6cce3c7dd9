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
// bit-identical resume. It reports progress and metrics rows through
// Hooks; the caller renders them.
//
// Interruptions (StopAfter, a cancelled context) take effect between
// accumulation groups, so a resumed run replays exactly what an
// uninterrupted run would have done. An epoch's last, incomplete group is
// applied with the micro-batches it has (as Lightning does).
type Runner[B any] struct {
	// Dir is the run folder: checkpoints/, metrics.csv, metrics.jsonl.
	Dir string
	// Kind and Config are recorded in checkpoints.
	Kind, Config string
	// Identity maps a configuration (this run's, or the one a checkpoint
	// recorded) to what a resumed run must share with the run it
	// continues — the configuration without machine settings (workers,
	// backend, output folder, …). A resume whose identity differs is
	// refused. Nil: the whole configuration.
	Identity  func(config string) (string, error)
	Store     *model.Store
	Optimizer *Optimizer
	Source    Source[B]
	Step      StepFunc[B]
	// Validate, if set, runs every Trainer.ValEveryUpdates updates (0: at
	// the end of every epoch).
	Validate ValidateFunc
	// Trainer bounds the run (Epochs, MaxUpdates; at least one > 0) and
	// sets its intervals: metrics rows (LogEveryUpdates), validation
	// (ValEveryUpdates) and checkpoints (CheckpointEveryUpdates,
	// CheckpointEveryEpochs; the end and interruptions always save
	// checkpoints/last.safetensors; KeepCheckpoints also keeps a copy named
	// after the update, step-0000500.safetensors, or epoch,
	// epoch-0010.safetensors). Its other fields are the caller's.
	Trainer TrainerConfig
	// TrainColumns and ValColumns name the values StepFunc and
	// ValidateFunc return, in the order of the metrics columns.
	TrainColumns, ValColumns []string
	// Seed seeds the store's RNG (dropout) at the start of a fresh run.
	Seed int64
	// Resume continues from checkpoints/last.safetensors.
	Resume bool
	// StopAfter > 0 interrupts the run once that many updates are done,
	// as a Ctrl-C would (used by tests and the demo).
	StopAfter int
	Log       *slog.Logger
	// Hooks receive progress and metrics rows.
	Hooks Hooks
}

// Progress is what a run reports after every optimiser update, once when
// it starts (Updates already done by a resumed run) and once when it
// stops (Done).
type Progress struct {
	// Kind is the Runner's Kind ("pretrain", "finetune", …).
	Kind string
	// Updates done, of Total (0: unknown), in epoch Epoch.
	Updates, Total, Epoch int
	// Column and Value are the first training column and its value at this
	// update (HasValue false when the step did not report it).
	Column   string
	Value    float64
	HasValue bool
	Done     bool
}

// Hooks receive what a run reports; nil hooks are skipped. The library
// reports, the command renders (a progress bar, a table).
type Hooks struct {
	Progress func(Progress)
	// Row receives every metrics row as it is written.
	Row func(Row)
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
	t := r.Trainer
	switch {
	case r.Store == nil || r.Optimizer == nil || r.Source == nil || r.Step == nil:
		return fmt.Errorf("train: runner needs Store, Optimizer, Source and Step")
	case r.Dir == "":
		return fmt.Errorf("train: runner needs a run folder (Dir)")
	case t.Epochs <= 0 && t.MaxUpdates <= 0:
		return fmt.Errorf("train: set epochs or max_updates")
	case t.ValEveryUpdates < 0 || t.LogEveryUpdates < 0 || t.CheckpointEveryUpdates < 0 || t.CheckpointEveryEpochs < 0:
		return fmt.Errorf("train: negative interval")
	}
	for _, c := range r.TrainColumns {
		if slices.Contains(r.ValColumns, c) {
			return fmt.Errorf("train: column %q is both a training and a validation column", c)
		}
	}
	return nil
}

// identity returns config's identity (Runner.Identity).
func (r *Runner[B]) identity(config string) (string, error) {
	if r.Identity == nil {
		return config, nil
	}
	return r.Identity(config)
}

// run is one Run call: the loop state and what it writes to.
type run[B any] struct {
	*Runner[B]
	ctx     context.Context
	log     *slog.Logger
	st      State
	sum     *Summary
	metrics *Metrics
	last    string // checkpoints/last.safetensors
	// acc micro-batches make an update; a metrics row every logEvery
	// updates; total updates to do (0: unknown).
	acc, logEvery, total int
	lastLR               float64
	interrupted          bool
	skipped              int // updates skipped for non-finite values so far
	t0                   time.Time
}

// Run trains until Trainer.Epochs or Trainer.MaxUpdates is reached, or
// until interrupted.
func (r *Runner[B]) Run(ctx context.Context) (*Summary, error) {
	s, err := r.start(ctx)
	if err != nil {
		return nil, err
	}
	defer s.metrics.Close()
	defer s.progress(nil, true)
	for !s.finished() && !s.interrupted {
		if err := s.epoch(); err != nil {
			return s.sum, err
		}
	}
	return s.end()
}

// start checks the runner, resumes or starts the state, and opens the
// metrics files.
func (r *Runner[B]) start(ctx context.Context) (*run[B], error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	s := &run[B]{Runner: r, ctx: ctx, log: r.Log, last: LastCheckpointPath(r.Dir), t0: time.Now()}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.sum = &Summary{Checkpoint: s.last, MetricsCSV: filepath.Join(r.Dir, MetricsCSV), MetricsJSONL: filepath.Join(r.Dir, MetricsJSONL)}
	if r.Resume {
		if err := s.resume(); err != nil {
			return nil, err
		}
	} else {
		if err := os.MkdirAll(filepath.Join(r.Dir, CheckpointDir), 0o755); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if err := r.Store.SetRNGStateFromSeed(r.Seed); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	columns := append(slices.Clone(r.TrainColumns), r.ValColumns...)
	m, err := OpenMetrics(r.Dir, columns, s.st.Written)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.acc = r.Optimizer.cfg.accumulate()
	s.logEvery = max(r.Trainer.LogEveryUpdates, 1)
	s.total = r.Trainer.MaxUpdates
	if n := r.Source.Len(); r.Trainer.Epochs > 0 && n > 0 {
		if e := r.Trainer.Epochs * ((n + s.acc - 1) / s.acc); s.total <= 0 || e < s.total {
			s.total = e
		}
	}
	if s.skipped, err = r.Optimizer.Skipped(); err != nil {
		return nil, err
	}
	s.progress(nil, false)
	if lr, err := r.Optimizer.LR(); err == nil {
		s.lastLR = lr
	}
	if s.st.Pending != nil {
		s.lastLR = s.st.Pending.LR
	}
	return s, nil
}

// resume restores the store and state from the last checkpoint, refusing
// one written by another run.
func (s *run[B]) resume() error {
	ck, err := LoadCheckpoint(s.last)
	if err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	want, err := s.identity(s.Config)
	if err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	got, err := s.identity(ck.Config)
	if err != nil {
		return fmt.Errorf("train: resume: %s: %w", s.last, err)
	}
	if got != want {
		return fmt.Errorf("train: resume: %s was written by a run with another configuration", s.last)
	}
	if _, err := ck.Restore(s.Store, ""); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	s.st = ck.State
	s.log.Info("resumed", "checkpoint", s.last, "epoch", s.st.Epoch, "position", s.st.Position, "updates", s.st.Updates)
	return nil
}

// done reports whether the bounds are reached; finished also counts a
// run that already ended.
func (s *run[B]) done() bool {
	t := s.Trainer
	return (t.MaxUpdates > 0 && s.st.Updates >= t.MaxUpdates) || (t.Epochs > 0 && s.st.Epoch >= t.Epochs)
}

func (s *run[B]) finished() bool { return s.done() || s.st.Done }

// stopRequested reports an interruption (StopAfter or a cancelled context).
func (s *run[B]) stopRequested() bool {
	return (s.StopAfter > 0 && s.st.Updates >= s.StopAfter) || s.ctx.Err() != nil
}

// epoch runs (the rest of) the current epoch.
func (s *run[B]) epoch() error {
	it, err := s.Source.Open(s.ctx, s.st.Epoch, s.st.Position)
	if err != nil {
		return fmt.Errorf("train: epoch %d: %w", s.st.Epoch, err)
	}
	complete, err := s.groups(it)
	it.Close()
	if err != nil || !complete {
		return err
	}
	return s.endEpoch()
}

// next returns the iterator's next batch, timing the wait.
func (s *run[B]) next(it Iterator[B]) (B, int, error) {
	tw := time.Now()
	b, p, err := it.Next()
	s.sum.DataWait += time.Since(tw)
	return b, p, err
}

// groups runs the epoch's accumulation groups. It returns true when the
// epoch's data ran out, false when the bounds were reached or the run was
// interrupted (s.interrupted).
func (s *run[B]) groups(it Iterator[B]) (bool, error) {
	cur, curNext, cerr := s.next(it)
	micro := 0
	var rngAtGroup *tensors.Tensor
	for cerr == nil {
		if micro == 0 {
			if s.done() {
				return false, nil
			}
			if s.stopRequested() {
				s.interrupted = true
				return false, nil
			}
			var err error
			if rngAtGroup, err = rngState(s.Store); err != nil {
				return false, err
			}
		}
		nxt, nxtNext, nerr := s.next(it)
		if nerr != nil && !errors.Is(nerr, io.EOF) {
			if s.ctx.Err() != nil {
				// Cancelled while loading: drop the group begun, so the
				// state is the group's start again.
				if micro > 0 {
					if err := s.abandonGroup(rngAtGroup); err != nil {
						return false, err
					}
				}
				s.interrupted = true
				return false, nil
			}
			return false, fmt.Errorf("train: epoch %d: %w", s.st.Epoch, nerr)
		}
		apply := micro+1 == s.acc || nerr != nil
		if err := s.step(cur, curNext, apply); err != nil {
			return false, err
		}
		micro++
		if apply {
			micro = 0
		}
		cur, curNext, cerr = nxt, nxtNext, nerr
	}
	if !errors.Is(cerr, io.EOF) {
		if s.ctx.Err() != nil {
			s.interrupted = true
			return false, nil
		}
		return false, fmt.Errorf("train: epoch %d: %w", s.st.Epoch, cerr)
	}
	return true, nil
}

// step trains on one micro-batch; apply makes it the group's update, after
// which next is the epoch position.
func (s *run[B]) step(b B, next int, apply bool) error {
	if apply {
		s.lastLR = s.Optimizer.cfg.Schedule.LR(s.Optimizer.cfg.LR, s.st.Epoch, s.st.Updates)
		if err := s.Optimizer.SetLR(s.lastLR); err != nil {
			return err
		}
	}
	ts := time.Now()
	vals, err := s.Step(s.ctx, b, apply)
	s.sum.StepTime += time.Since(ts)
	s.sum.Steps++
	if err != nil {
		return fmt.Errorf("train: update %d: %w", s.st.Updates+1, err)
	}
	if apply {
		if err := s.checkSkipped(b); err != nil {
			return err
		}
	}
	for _, c := range s.TrainColumns {
		if v, ok := vals[c]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			if s.st.Window == nil {
				s.st.Window = map[string]Sum{}
			}
			w := s.st.Window[c]
			w.Sum += v
			w.N++
			s.st.Window[c] = w
		}
	}
	if !apply {
		return nil
	}
	return s.updated(next, vals)
}

// checkSkipped logs an update the optimiser skipped for a non-finite loss
// or gradient, naming the batch's studies, and stops the run once more
// than Trainer.MaxBadBatches were skipped.
func (s *run[B]) checkSkipped(b B) error {
	n, err := s.Optimizer.Skipped()
	if err != nil || n <= s.skipped {
		return err
	}
	s.skipped = n
	var keys []string
	if k, ok := any(b).(Keyed); ok {
		keys = k.StudyKeys()
	}
	s.log.Warn("batch skipped: non-finite loss or gradient; the model is unchanged", "update", s.st.Updates+1,
		"epoch", s.st.Epoch, "studies", keys, "skipped so far", n)
	if m := s.Trainer.MaxBadBatches; m >= 0 && n > m {
		return fmt.Errorf("%w: %d (max_bad_batches %d); the last at update %d, studies %v", ErrBadBatches, n, m, s.st.Updates+1, keys)
	}
	return nil
}

// updated records an optimiser update: progress, then the metrics row,
// validation and checkpoint due at this update.
func (s *run[B]) updated(next int, vals map[string]float64) error {
	s.st.Updates++
	s.st.Position = next
	s.progress(vals, false)
	t := s.Trainer
	valNow := s.Validate != nil && t.ValEveryUpdates > 0 && s.st.Updates%t.ValEveryUpdates == 0
	if s.st.Updates%s.logEvery == 0 || valNow {
		if _, err := s.row(); err != nil {
			return err
		}
	}
	if valNow {
		if err := s.validate(); err != nil {
			return err
		}
	}
	if t.CheckpointEveryUpdates > 0 && s.st.Updates%t.CheckpointEveryUpdates == 0 {
		return s.save(fmt.Sprintf("step-%07d.safetensors", s.st.Updates))
	}
	return nil
}

// endEpoch validates (when validation is per epoch), moves to the next
// epoch and saves the checkpoint due there.
func (s *run[B]) endEpoch() error {
	if s.Validate != nil && s.Trainer.ValEveryUpdates == 0 && s.st.Updates > 0 {
		if err := s.validate(); err != nil {
			return err
		}
	}
	s.log.Info("epoch done", "epoch", s.st.Epoch, "updates", s.st.Updates, "step time", s.sum.StepTime.Round(time.Millisecond),
		"data wait", s.sum.DataWait.Round(time.Millisecond))
	s.st.Epoch++
	s.st.Position = 0
	if err := s.flush(); err != nil {
		return err
	}
	if n := s.Trainer.CheckpointEveryEpochs; n > 0 && s.st.Epoch%n == 0 {
		return s.save(fmt.Sprintf("epoch-%04d.safetensors", s.st.Epoch))
	}
	return nil
}

// end saves the final (or interruption) checkpoint and fills the summary.
func (s *run[B]) end() (*Summary, error) {
	if s.interrupted {
		if err := s.save(""); err != nil {
			return s.sum, err
		}
		s.log.Info("interrupted: checkpoint written; resume to continue", "checkpoint", s.last, "updates", s.st.Updates)
		s.summarise()
		if err := s.ctx.Err(); err != nil {
			return s.sum, fmt.Errorf("%w: %w", ErrInterrupted, err)
		}
		return s.sum, ErrInterrupted
	}
	if !s.st.Done {
		if len(s.st.Window) > 0 {
			if _, err := s.row(); err != nil {
				return s.sum, err
			}
		}
		if err := s.flush(); err != nil {
			return s.sum, err
		}
		s.st.Done = true
		if err := s.save(""); err != nil {
			return s.sum, err
		}
	}
	s.summarise()
	return s.sum, nil
}

func (s *run[B]) summarise() {
	s.sum.State, s.sum.Rows, s.sum.Elapsed, s.sum.Skipped = s.st, slices.Clone(s.metrics.Rows()), time.Since(s.t0), s.skipped
}

// flush writes the pending metrics row.
func (s *run[B]) flush() error {
	if s.st.Pending == nil {
		return nil
	}
	if err := s.metrics.Add(*s.st.Pending); err != nil {
		return err
	}
	if s.Hooks.Row != nil {
		s.Hooks.Row(*s.st.Pending)
	}
	s.st.Pending = nil
	s.st.Written++
	return nil
}

// row returns the row of the newest update, starting it from the window's
// means if there is none yet.
func (s *run[B]) row() (*Row, error) {
	if s.st.Pending != nil && s.st.Pending.Step == s.st.Updates {
		return s.st.Pending, nil
	}
	if err := s.flush(); err != nil {
		return nil, err
	}
	rw := &Row{Step: s.st.Updates, Epoch: s.st.Epoch, LR: s.lastLR}
	for _, c := range s.TrainColumns {
		if w, ok := s.st.Window[c]; ok && w.N > 0 {
			rw.Set(c, w.Sum/float64(w.N))
		}
	}
	s.st.Window = nil
	s.st.Pending = rw
	return rw, nil
}

// validate runs Validate and records its values in the current row.
func (s *run[B]) validate() error {
	if s.Validate == nil {
		return nil
	}
	rw, err := s.row()
	if err != nil {
		return err
	}
	tv := time.Now()
	vals, err := s.Validate(s.ctx, s.st)
	s.sum.ValTime += time.Since(tv)
	if err != nil {
		return fmt.Errorf("train: validation at update %d: %w", s.st.Updates, err)
	}
	for _, c := range s.ValColumns {
		if v, ok := vals[c]; ok {
			rw.Set(c, v)
		}
	}
	s.log.Info("validation", append([]any{"update", s.st.Updates, "epoch", s.st.Epoch}, kv(s.ValColumns, vals)...)...)
	return nil
}

// save writes checkpoints/last.safetensors and, with KeepCheckpoints, a
// copy named snapshot ("" for none).
func (s *run[B]) save(snapshot string) error {
	if err := s.metrics.Sync(); err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	if err := SaveCheckpoint(s.last, s.Store, s.st, s.Kind, s.Config); err != nil {
		return err
	}
	if s.Trainer.KeepCheckpoints && snapshot != "" {
		return SaveCheckpoint(filepath.Join(s.Dir, CheckpointDir, snapshot), s.Store, s.st, s.Kind, s.Config)
	}
	return nil
}

// progress reports to Hooks.Progress: vals are the update's training
// values (nil at the start and end).
func (s *run[B]) progress(vals map[string]float64, done bool) {
	if s.Hooks.Progress == nil {
		return
	}
	p := Progress{Kind: s.Kind, Updates: s.st.Updates, Total: s.total, Epoch: s.st.Epoch, Column: firstOr(s.TrainColumns), Done: done}
	p.Value, p.HasValue = vals[p.Column]
	s.Hooks.Progress(p)
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
func (s *run[B]) abandonGroup(rng *tensors.Tensor) error {
	if err := s.Optimizer.ZeroAccumulators(); err != nil {
		return err
	}
	if rng != nil {
		return rngVariable(s.Store).SetValue(rng)
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
