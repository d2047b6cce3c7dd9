package pretrain

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
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/bert"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/traintest"
)

// learnConfig is the learning test's setup: the tiny towers on the shared
// cohort with the variation that makes memorisation slow removed (one view,
// no AugMix, no scale jitter or flip, every sentence of the report), all 48
// studies for training and for scoring (train-set retrieval).
func learnConfig(t *testing.T, c *cohort) Config {
	cfg := TinyConfig(PaperConfig())
	cfg.Data.Store = c.Root
	cfg.Data.TrainSplit, cfg.Data.ValSplit = "all", "all"
	cfg.Data.Views = []string{"4CH"}
	cfg.Data.AugMix = false
	cfg.Data.MinSize, cfg.Data.MaxSize, cfg.Data.FlipProb = 32, 32, 0
	cfg.Data.Sentences = 30
	cfg.Model.MaxLength = 128
	cfg.Trainer.Epochs = 30
	cfg.Trainer.RecallPool = 0
	cfg.Trainer.LogEveryUpdates = 3
	cfg.Trainer.CheckpointEveryEpochs = 0
	cfg.Out = t.TempDir()
	return cfg
}

func runTest(t *testing.T, cfg Config, c *cohort, o RunOptions) *Summary {
	t.Helper()
	mc, err := cfg.Net()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewData(cfg, mc, c.Index, c.Reports, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.Data, o.Backend = d, gomlxtest.Backend(t)
	s, err := Run(context.Background(), cfg, o)
	if err != nil && !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	return s
}

// TestLearnsOnPhantom is the proof that the method learns: 90 updates
// (30 epochs × 3 batches of 16) of the tiny towers on 48 phantom studies.
// Train-set retrieval recall@1 (48 candidates, chance 1/48 ≈ 0.021) must
// reach ≥ 4× chance in both directions and the training loss must fall
// below ln 16 − 0.5. The same run with mismatched pairs (each clip trained
// against another study's report) must leave the true pairs near chance
// (< 3× chance): the model learns the pairing, not a shortcut.
func TestLearnsOnPhantom(t *testing.T) {
	if testing.Short() {
		t.Skip("≈50 s: skipped with -short")
	}
	c := testCohort(t)
	cfg := learnConfig(t, c)
	s := runTest(t, cfg, c, RunOptions{})
	rows := s.Rows
	chance := 1.0 / float64(s.LastVal.Retrieval.N)
	r := s.LastVal.Retrieval
	t.Logf("after %d updates: train loss (mean of the last %d) %.3f; train-set R@1 v→t %.3f t→v %.3f, R@5 %.3f / %.3f (chance @1 %.3f, N %d)",
		s.State.Updates, cfg.Trainer.LogEveryUpdates, lastLoss(rows), r.VideoToText[0], r.TextToVideo[0], r.VideoToText[1], r.TextToVideo[1], chance, r.N)
	if r.VideoToText[0] < 4*chance || r.TextToVideo[0] < 4*chance {
		t.Errorf("train-set recall@1 %.3f / %.3f, want ≥ 4× chance (%.3f)", r.VideoToText[0], r.TextToVideo[0], 4*chance)
	}
	if l := lastLoss(rows); !(l < math.Log(16)-0.5) {
		t.Errorf("training loss %.3f, want < ln 16 − 0.5 = %.3f", l, math.Log(16)-0.5)
	}

	ctl := learnConfig(t, c)
	ctl.Data.ShufflePairs = true
	ctlOut := runTest(t, ctl, c, RunOptions{Data: nil})
	// Score the control's model on the true pairs.
	rt := trueRecall(t, ctl, c, ctlOut)
	t.Logf("mismatched control: true-pair R@1 v→t %.3f t→v %.3f (chance %.3f)", rt.VideoToText[0], rt.TextToVideo[0], chance)
	if rt.VideoToText[0] >= 3*chance && rt.TextToVideo[0] >= 3*chance {
		t.Errorf("mismatched control reached true-pair recall %.3f / %.3f ≥ 3× chance", rt.VideoToText[0], rt.TextToVideo[0])
	}
}

// trueRecall scores a finished run's model on the correctly paired data.
func trueRecall(t *testing.T, cfg Config, c *cohort, s *Summary) Retrieval {
	t.Helper()
	cfg.Data.ShufflePairs = false
	mc, _ := cfg.Net()
	d, err := NewData(cfg, mc, c.Index, c.Reports, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := LoadModel(s.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEmbedder(gomlxtest.Backend(t), store, mc)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.Validate(context.Background(), d.Val, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v.Retrieval
}

// resumeConfig exercises every stateful part: AugMix, random views, dropout
// (RNG state), gradient accumulation, clipping, step decay within the run,
// batch-norm running statistics (proj_norm: batch), validation and
// checkpoints.
func resumeConfig(t *testing.T, c *cohort) Config {
	cfg := TinyConfig(PaperConfig())
	cfg.Data.Store = c.Root
	cfg.Data.TrainSplit, cfg.Data.ValSplit = "train", "val"
	cfg.Model.VideoHeadDropout, cfg.Model.TextDropout = 0.5, 0.1
	cfg.Model.LearnTemperature = true
	cfg.Model.ProjNorm = ProjNormBatch
	cfg.Trainer.BatchSize = 4
	cfg.Trainer.Epochs = 3
	cfg.Trainer.ValEveryUpdates = 5
	cfg.Trainer.LogEveryUpdates = 2
	cfg.Trainer.CheckpointEveryEpochs = 1
	cfg.Optim.Accumulate = 2
	cfg.Optim.ClipNorm = 0.5
	cfg.Optim.Schedule = train.Schedule{Milestones: []int{2}, Gamma: 0.1}
	cfg.Out = t.TempDir()
	return cfg
}

// TestResumeBitIdentical: a run interrupted mid-epoch (after update 6, in
// the middle of an accumulation window's epoch) and resumed ends with the
// same bytes in every variable (model, Adam moments, learning rate, step,
// RNG state) and the same metrics (timing columns aside) as the run that
// was not interrupted.
func TestResumeBitIdentical(t *testing.T) {
	c := testCohort(t)
	full := resumeConfig(t, c)
	sFull := runTest(t, full, c, RunOptions{})

	part := resumeConfig(t, c)
	runTest(t, part, c, RunOptions{StopAfter: 6})
	if ck, err := train.LoadCheckpoint(train.LastCheckpointPath(part.Out)); err != nil || ck.State.Updates != 6 || ck.State.Position == 0 {
		t.Fatalf("interrupted run's checkpoint: %v (want 6 updates, mid-epoch)", err)
	}
	sRes := runTest(t, part, c, RunOptions{Resume: true})
	if sRes.State.Updates != sFull.State.Updates || sRes.State.Epoch != sFull.State.Epoch {
		t.Fatalf("resumed run ended at %d updates / %d epochs, uninterrupted %d / %d", sRes.State.Updates, sRes.State.Epoch, sFull.State.Updates, sFull.State.Epoch)
	}
	a := traintest.SameCheckpoints(t, sFull.Checkpoint, sRes.Checkpoint)
	// The projections' running statistics are in the checkpoint and moved.
	for _, n := range []string{"/model/video_proj/norm/running_mean", "/model/text_proj/norm/running_var"} {
		rs, ok := a.Tensors[n]
		if !ok {
			t.Fatalf("checkpoint has no %s", n)
		}
		v, _ := rs.Float32()
		if v[0] == 0 || v[0] == 1 {
			t.Errorf("%s = %v: running statistics did not move", n, v)
		}
	}
	ra, err := train.ReadMetrics(sFull.MetricsJSONL)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := train.ReadMetrics(sRes.MetricsJSONL)
	if err != nil {
		t.Fatal(err)
	}
	traintest.SameMetrics(t, ra, rb, "val_r1_t2v")
	// The epoch checkpoints exist and the last one is the final state.
	for _, e := range []string{"epoch-0001", "epoch-0002", "epoch-0003"} {
		if _, err := os.Stat(filepath.Join(part.Out, train.CheckpointDir, e+".safetensors")); err != nil {
			t.Errorf("checkpoint %s: %v", e, err)
		}
	}
	// The learning rate decayed at epoch 2.
	if l := ra[len(ra)-1].LR; math.Abs(l-part.Optim.LR*0.1) > 1e-12 {
		t.Errorf("final learning rate %g, want %g", l, part.Optim.LR*0.1)
	}
}

// lastLoss is the training loss of the last metrics row.
func lastLoss(rows []train.Row) float64 {
	for i := len(rows) - 1; i >= 0; i-- {
		if v, ok := rows[i].Get("loss"); ok {
			return v
		}
	}
	return math.NaN()
}

// TestResumeRefusesOtherConfig: a checkpoint is only resumed by the
// configuration that wrote it.
func TestResumeRefusesOtherConfig(t *testing.T) {
	c := testCohort(t)
	cfg := resumeConfig(t, c)
	runTest(t, cfg, c, RunOptions{StopAfter: 1})
	cfg.Optim.LR *= 2
	mc, _ := cfg.Net()
	d, err := NewData(cfg, mc, c.Index, c.Reports, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), cfg, RunOptions{Resume: true, Data: d, Backend: gomlxtest.Backend(t)})
	if err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Fatalf("resume with another config: %v", err)
	}
}

// TestPaperDefaults: the default configuration is the paper's (docs/reference.md §3.7).
// TestPhantomPreset: the learning-proof preset resolves, with the
// batch-normalised projections and the reductions docs/pretraining.md
// lists.
func TestPhantomPreset(t *testing.T) {
	c, err := Preset("phantom")
	if err != nil {
		t.Fatal(err)
	}
	mc, err := c.Net()
	if err != nil {
		t.Fatal(err)
	}
	if mc.ProjNorm != ProjNormBatch || c.Data.AugMix || len(c.Data.Views) != 1 || c.Data.Sentences != 12 || mc.MaxLength != 128 {
		t.Errorf("phantom preset: proj_norm %q augmix %v views %v sentences %d max_length %d", mc.ProjNorm, c.Data.AugMix, c.Data.Views, c.Data.Sentences, mc.MaxLength)
	}
	if _, err := Preset("nope"); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestPaperDefaults(t *testing.T) {
	c := PaperConfig()
	mc, err := c.Net()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"video", mc.Video.Name, "mvit-b-16x4"}, {"frames", mc.Video.Frames, 16}, {"size", mc.Video.Height, 224},
		{"text", mc.Text.Name, "bert-base"}, {"freeze", mc.Text.Freeze, bert.PaperFreeze()},
		{"embed", mc.EmbedDim, 512}, {"k", mc.Sentences, 5}, {"flood", mc.Flood, 0.05},
		{"lr", c.Optim.LR, 4.8e-5}, {"wd", c.Optim.WeightDecay, 1e-6}, {"eps", c.Optim.Eps, 1e-8},
		{"betas", c.Optim.Betas, [2]float64{0.9, 0.999}}, {"gamma", c.Optim.Schedule.Gamma, 0.1},
		{"epochs", c.Trainer.Epochs, 600}, {"batch", c.Trainer.BatchSize, 32}, {"ckpt every", c.Trainer.CheckpointEveryEpochs, 10},
		{"augmix", c.Data.AugMix, true}, {"sizes", [3]int{c.Data.MinSize, c.Data.MaxSize, mc.Video.Height}, [3]int{264, 380, 224}},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	lr := func(e int) float64 { return c.Optim.Schedule.LR(c.Optim.LR, e, 0) }
	if lr(299) != 4.8e-5 || math.Abs(lr(300)-4.8e-6) > 1e-20 || lr(599) != lr(300) {
		t.Errorf("step decay: %g at epoch 299, %g at 300, %g at 599", lr(299), lr(300), lr(599))
	}
}

// TestConfigYAML: --print-config output reads back to the same config; a
// partial file overrides only what it names; unknown keys are errors.
func TestConfigYAML(t *testing.T) {
	dir := t.TempDir()
	y, err := PaperConfig().YAML()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte(y), 0o644)
	c, err := LoadConfig(p, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if y2, _ := c.YAML(); y2 != y {
		t.Errorf("round trip differs:\n%s\n---\n%s", y, y2)
	}
	os.WriteFile(p, []byte("optimizer:\n  lr: 1e-4\nmodel:\n  text_input: mean\n"), 0o644)
	c, err = LoadConfig(p, PaperConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Optim.LR != 1e-4 || c.Model.TextInput != "mean" || c.Optim.WeightDecay != 1e-6 {
		t.Errorf("partial override: %+v %+v", c.Optim, c.Model)
	}
	os.WriteFile(p, []byte("optimizer:\n  learning_rate: 1e-4\n"), 0o644)
	if _, err := LoadConfig(p, PaperConfig(), nil); err == nil || !strings.Contains(err.Error(), "learning_rate") {
		t.Errorf("unknown key: %v", err)
	}
}

// TestDeprecatedKeys: the trainer keys of the previous release still load
// into their new names (checkpoint_every counted epochs here; val_batches
// becomes studies by the batch size), each with a warning naming the new
// key; a checkpoint's recorded configuration reads the same way.
func TestDeprecatedKeys(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	p := filepath.Join(t.TempDir(), "old.yaml")
	old := "trainer:\n  checkpoint_every: 7\n  val_batches: 2\n  batch_size: 8\n  max_steps: 50\n  log_every: 3\n  val_every: 9\n"
	os.WriteFile(p, []byte(old), 0o644)
	c, err := LoadConfig(p, PaperConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Trainer
	if tr.CheckpointEveryEpochs != 7 || tr.CheckpointEveryUpdates != 0 || tr.ValStudies != 16 || tr.MaxUpdates != 50 ||
		tr.LogEveryUpdates != 3 || tr.ValEveryUpdates != 9 || tr.BatchSize != 8 {
		t.Errorf("deprecated keys loaded as %+v", tr)
	}
	for _, k := range []string{"trainer.checkpoint_every_epochs", "trainer.val_studies", "trainer.max_updates", "trainer.log_every_updates", "trainer.val_every_updates"} {
		if !strings.Contains(logs.String(), "use="+k) {
			t.Errorf("no deprecation warning naming %s in:\n%s", k, logs.String())
		}
	}
	if c2, err := ParseConfig([]byte(old), PaperConfig(), log); err != nil || c2.Trainer != c.Trainer {
		t.Errorf("ParseConfig: %+v, %v", c2.Trainer, err)
	}
	// Without batch_size in the file, batches count the base's batch size.
	os.WriteFile(p, []byte("trainer:\n  val_batches: 2\n"), 0o644)
	if c, err = LoadConfig(p, TinyConfig(PaperConfig()), log); err != nil || c.Trainer.ValStudies != 2*16 {
		t.Errorf("val_batches over the tiny preset (batch 16): val_studies %d, %v", c.Trainer.ValStudies, err)
	}
}

// TestKillMidStepAndResume extends the resume test to a real kill -9: the
// run (dropout, learned temperature, batch-normalised projections,
// accumulation, clipping, a step decay, validation, a checkpoint every
// epoch) is a separate process killed with SIGKILL in the middle of its
// steps after its first epoch checkpoint, resumed with --resume in another
// process and killed again after the second, then resumed to the end. Its
// final checkpoint and metrics are those of an uninterrupted run, byte for
// byte.
func TestKillMidStepAndResume(t *testing.T) {
	c := testCohort(t)
	reports := filepath.Join(t.TempDir(), "reports.json")
	if err := c.Reports.WriteFile(reports); err != nil {
		t.Fatal(err)
	}
	mk := func() Config {
		cfg := resumeConfig(t, c)
		cfg.Data.Reports = reports
		return cfg
	}
	full := mk()
	t0 := time.Now()
	sFull, err := Run(context.Background(), full, RunOptions{Backend: gomlxtest.Backend(t)})
	if err != nil {
		t.Fatal(err)
	}
	perEpoch := sFull.State.Updates / full.Trainer.Epochs
	step := time.Since(t0) / time.Duration(max(sFull.State.Updates, 1))
	part := mk()
	y, err := part.YAML()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, uint64(time.Now().UnixNano())))
	traintest.KillMidStep(t, part.Out, y, false, perEpoch, step, rng)
	traintest.KillMidStep(t, part.Out, y, true, 2*perEpoch, step, rng)
	sRes, err := Run(context.Background(), part, RunOptions{Resume: true, Backend: gomlxtest.Backend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if sRes.State.Updates != sFull.State.Updates {
		t.Fatalf("resumed run ended at %d updates, uninterrupted at %d", sRes.State.Updates, sFull.State.Updates)
	}
	traintest.SameCheckpoints(t, sFull.Checkpoint, sRes.Checkpoint)
	ra, err := train.ReadMetrics(sFull.MetricsJSONL)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := train.ReadMetrics(sRes.MetricsJSONL)
	if err != nil {
		t.Fatal(err)
	}
	traintest.SameMetrics(t, ra, rb, "val_r1_t2v")
}
