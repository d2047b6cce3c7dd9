package finetune

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/traintest"
)

// sharedDir holds cohorts shared between tests (TestMain removes it).
var sharedDir string

func TestMain(m *testing.M) {
	// A training process of TestKillMidStepAndResume.
	traintest.ChildMain(func(config string, resume bool) error {
		c, err := ParseConfig([]byte(config), Config{}, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		_, err = Run(context.Background(), c, RunOptions{Resume: resume})
		return err
	})
	var err error
	if sharedDir, err = os.MkdirTemp("", "cmrfm-finetune-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(sharedDir)
	os.Exit(code)
}

// small is the cohort shared by the tests of this file: 12 phantom
// studies (matrix 48, 16 frames), built once.
var (
	smallOnce sync.Once
	small     *cohort
)

func testCohort(t *testing.T) *cohort {
	t.Helper()
	smallOnce.Do(func() { small = buildCohortIn(t, filepath.Join(sharedDir, "small"), 12, 48, 16, 3) })
	if small == nil {
		t.Fatal("cohort build failed")
	}
	return small
}

// runFT runs c, tolerating an interruption.
func runFT(t *testing.T, c Config, co *cohort, o RunOptions) *Summary {
	t.Helper()
	o.Index, o.Backend = co.Index, gomlxtest.Backend(t)
	if os.Getenv("FTDEBUG") != "" {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s, err := Run(context.Background(), c, o)
	if err != nil && !errors.Is(err, train.ErrInterrupted) {
		t.Fatal(err)
	}
	return s
}

// resumeConfig is a tiny run exercising everything resume must restore:
// dropout (video features and head), random SAX halves and clip draws,
// augmentation with AugMix, batches of 2 bags, accumulation 2, clipping,
// a step decay inside the run and validation every 3 updates.
func resumeConfig(t *testing.T, co *cohort, task string, mode Mode) Config {
	c := TinyConfig(RegressionConfig())
	if task == TaskClassification {
		c = TinyConfig(ClassificationConfig("dcm", "hcm"))
	}
	c.Mode = string(mode)
	c.Out = t.TempDir()
	c.Data.Store = co.Root
	c.Data.AugMix = true
	c.Data.Workers = 2
	c.Model.VideoHeadDropout, c.Model.HeadDropout = 0.5, 0.25
	c.Trainer.BatchSize = 2
	c.Trainer.Epochs = 3
	c.Trainer.ValEveryUpdates = 3
	c.Trainer.LogEveryUpdates = 1
	c.Trainer.CheckpointEveryUpdates = 1
	c.Optim.Accumulate = 2
	c.Optim.ClipNorm = 1
	c.Optim.Schedule = train.Schedule{Milestones: []int{2}, Gamma: 0.1}
	return c
}

// checkResume runs c uninterrupted and interrupted after 3 updates (mid
// epoch) then resumed, and requires byte-identical checkpoints (model,
// Adam moments, schedule, RNG) and identical metrics rows.
func checkResume(t *testing.T, co *cohort, mk func() Config) *Summary {
	t.Helper()
	full := mk()
	sFull := runFT(t, full, co, RunOptions{})
	part := mk()
	runFT(t, part, co, RunOptions{StopAfter: 3})
	if ck, err := train.LoadCheckpoint(train.LastCheckpointPath(part.Out)); err != nil || ck.State.Updates != 3 || ck.State.Position == 0 {
		t.Fatalf("interrupted run's checkpoint: %v %+v (want 3 updates, mid-epoch)", err, ck)
	}
	sRes := runFT(t, part, co, RunOptions{Resume: true})
	if sRes.State.Updates != sFull.State.Updates || sRes.State.Updates == 0 {
		t.Fatalf("resumed run ended at %d updates, uninterrupted at %d", sRes.State.Updates, sFull.State.Updates)
	}
	traintest.SameCheckpoints(t, sFull.Checkpoint, sRes.Checkpoint)
	traintest.SameMetrics(t, sFull.Rows, sRes.Rows, "val_loss")
	return sFull
}

// changed reports, per part prefix, whether any tensor of the part differs
// between two checkpoints (and fails if a part is missing).
func changed(t *testing.T, before, after *weights.Set, prefix string) bool {
	t.Helper()
	n := 0
	diff := false
	for name, ta := range before.Tensors {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		n++
		tb, ok := after.Tensors[name]
		if !ok {
			t.Fatalf("%s missing after training", name)
		}
		if !bytes.Equal(ta.Data, tb.Data) {
			diff = true
		}
	}
	if n == 0 {
		t.Fatalf("no variables under %s", prefix)
	}
	return diff
}

// startCheckpoint writes a checkpoint of random weights to start from: one
// update in linear mode (only the head moves, by one step).
func startCheckpoint(t *testing.T, co *cohort) (string, *weights.Set) {
	t.Helper()
	c := resumeConfig(t, co, TaskRegression, ModeLinear)
	c.Optim.Accumulate = 1
	s := runFT(t, c, co, RunOptions{StopAfter: 1})
	set, err := weights.Load(s.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	return s.Checkpoint, set
}

// TestResumeBitIdentical checks interrupted-and-resumed against
// uninterrupted runs in both modes, and what each mode trains. Transfer
// (regression) from a random start must change the encoder, projection
// and head; finetune (classification) from the transfer run's result must
// leave the encoder byte-identical while the projection changes. The
// learning rate must have decayed at epoch 2.
func TestResumeBitIdentical(t *testing.T) {
	co := testCohort(t)
	start, startSet := startCheckpoint(t, co)
	top := t // run folders outlive the subtests
	var mid string
	var midSet *weights.Set
	t.Run("transfer", func(t *testing.T) {
		s := checkResume(t, co, func() Config {
			c := resumeConfig(top, co, TaskRegression, ModeTransfer)
			c.Init.Weights = start
			return c
		})
		var err error
		if midSet, err = weights.Load(s.Checkpoint); err != nil {
			t.Fatal(err)
		}
		mid = s.Checkpoint
		for _, p := range []string{PrefixEncoder, PrefixProj, PrefixHead} {
			if !changed(t, startSet, midSet, p) {
				t.Errorf("transfer mode left %s unchanged", p)
			}
		}
		if l, want := s.Rows[len(s.Rows)-1].LR, resumeConfig(top, co, TaskRegression, ModeTransfer).Optim.LR*0.1; math.Abs(l-want) > 1e-15 {
			t.Errorf("final learning rate %g, want %g (× 0.1 from epoch 2)", l, want)
		}
	})
	if midSet == nil {
		t.Fatal("transfer run failed")
	}
	t.Run("finetune", func(t *testing.T) {
		s := checkResume(t, co, func() Config {
			c := resumeConfig(top, co, TaskClassification, ModeFinetune)
			c.Init.Weights = mid
			return c
		})
		after, err := weights.Load(s.Checkpoint)
		if err != nil {
			t.Fatal(err)
		}
		if changed(t, midSet, after, PrefixEncoder) {
			t.Error("finetune mode changed the encoder")
		}
		if !changed(t, midSet, after, PrefixProj) {
			t.Error("finetune mode left the projection unchanged")
		}
	})
}

// TestReferenceOptimizer: with the authors' bug switched on (finetune
// mode), the projection trains and the MIL head stays exactly at its
// initial weights; switched off, the head trains.
func TestReferenceOptimizer(t *testing.T) {
	co := testCohort(t)
	start, startSet := startCheckpoint(t, co)
	for _, bug := range []bool{true, false} {
		c := resumeConfig(t, co, TaskRegression, ModeFinetune)
		c.Init.Weights = start
		c.Trainer.Epochs = 1
		c.Model.ReferenceOptimizer = bug
		s := runFT(t, c, co, RunOptions{})
		if s.Init == nil || !s.Init.Encoder || !s.Init.Projection || !s.Init.Head {
			t.Fatalf("init report %+v: want every part loaded", s.Init)
		}
		after, err := weights.Load(s.Checkpoint)
		if err != nil {
			t.Fatal(err)
		}
		if changed(t, startSet, after, PrefixEncoder) || !changed(t, startSet, after, PrefixProj) {
			t.Errorf("reference_optimizer %v: the encoder must stay and the projection train", bug)
		}
		if got := changed(t, startSet, after, PrefixHead); got == bug {
			t.Errorf("reference_optimizer %v: head changed = %v", bug, got)
		}
	}
}

// TestResumeOnAnotherMachine: a run interrupted with 2 loading workers
// and resumed with 1 worker, a prefetch depth of 3, a named backend, a
// progress bar and the run folder moved elsewhere ends byte-identical to
// the uninterrupted run (machine settings are not the run's identity);
// a resume that changes the learning rate is refused.
func TestResumeOnAnotherMachine(t *testing.T) {
	co := testCohort(t)
	mk := func() Config {
		c := resumeConfig(t, co, TaskRegression, ModeTransfer)
		c.Trainer.Epochs = 2
		return c
	}
	full := mk()
	sFull := runFT(t, full, co, RunOptions{})
	part := mk()
	runFT(t, part, co, RunOptions{StopAfter: 3})
	moved := t.TempDir()
	if err := os.CopyFS(moved, os.DirFS(part.Out)); err != nil {
		t.Fatal(err)
	}
	res := mk()
	res.Out = moved
	res.Data.Workers, res.Data.Prefetch = 1, 3
	res.Trainer.Backend, res.Trainer.Progress = "go", !res.Trainer.Progress
	sRes := runFT(t, res, co, RunOptions{Resume: true})
	if sRes.State.Updates != sFull.State.Updates {
		t.Fatalf("resumed run ended at %d updates, uninterrupted at %d", sRes.State.Updates, sFull.State.Updates)
	}
	traintest.SameCheckpoints(t, sFull.Checkpoint, sRes.Checkpoint)
	traintest.SameMetrics(t, sFull.Rows, sRes.Rows, "val_loss")

	other := mk()
	other.Out = part.Out
	other.Optim.LR *= 2
	o := RunOptions{Resume: true, Index: co.Index, Backend: gomlxtest.Backend(t)}
	if _, err := Run(context.Background(), other, o); err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Errorf("resume with another learning rate: %v, want a refusal", err)
	}
}

// TestKillMidStepAndResume extends the resume test to a real kill -9: the
// run (transfer, regression, accumulation, dropout, AugMix, validation,
// a checkpoint every update) is a separate process killed with SIGKILL in
// the middle of its steps, resumed with --resume in another process and
// killed again, then resumed to the end. Its final checkpoint and metrics
// are those of an uninterrupted run, byte for byte.
func TestKillMidStepAndResume(t *testing.T) {
	co := testCohort(t)
	full := resumeConfig(t, co, TaskRegression, ModeTransfer)
	t0 := time.Now()
	sFull := runFT(t, full, co, RunOptions{})
	step := time.Since(t0) / time.Duration(max(sFull.State.Updates, 1))
	if sFull.State.Updates < 6 {
		t.Fatalf("the run has %d updates; the test needs 6", sFull.State.Updates)
	}
	part := resumeConfig(t, co, TaskRegression, ModeTransfer)
	y, err := part.YAML()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, uint64(time.Now().UnixNano())))
	traintest.KillMidStep(t, part.Out, y, false, 2, step, rng)
	traintest.KillMidStep(t, part.Out, y, true, 4, step, rng)
	sRes := runFT(t, part, co, RunOptions{Resume: true})
	if sRes.State.Updates != sFull.State.Updates {
		t.Fatalf("resumed run ended at %d updates, uninterrupted at %d", sRes.State.Updates, sFull.State.Updates)
	}
	traintest.SameCheckpoints(t, sFull.Checkpoint, sRes.Checkpoint)
	traintest.SameMetrics(t, sFull.Rows, sRes.Rows, "val_loss")
}
