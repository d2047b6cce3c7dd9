package retrieval

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cmrfm/cmrfm/internal/cohorttest"
	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/train/pretrain"
)

// fixture is the package's shared test setup: a 24-study phantom cohort
// (4CH, matrix 48, 16 frames) and a tiny pretraining run on it (2 epochs,
// batch-normalised projections, every sentence of the report as its text),
// with a checkpoint after each epoch.
type fixture struct {
	cohort *cohorttest.Cohort
	cfg    pretrain.Config
	run    *pretrain.Summary
	// ckpt is the final checkpoint, other the epoch-1 one (another
	// checkpoint of the same architecture).
	ckpt, other string
	dir         string
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixDir  string
)

func testFixture(t *testing.T) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cmrfm-retrieval-test-")
		if err != nil {
			t.Fatal(err)
		}
		fixDir = dir
		c := cohorttest.Build(t, dir, 24, 48, 16, 5)
		cfg := pretrain.TinyConfig(pretrain.PaperConfig())
		cfg.Data.Store, cfg.Data.Reports = c.Root, c.ReportsPath
		cfg.Data.TrainSplit, cfg.Data.ValSplit = "all", "all"
		cfg.Data.Views = []string{"4CH"}
		cfg.Data.AugMix = false
		cfg.Data.MinSize, cfg.Data.MaxSize, cfg.Data.FlipProb = 32, 32, 0
		cfg.Data.Sentences = 40 // every sentence: a report's text is its whole report
		cfg.Model.MaxLength = 128
		cfg.Model.ProjNorm = pretrain.ProjNormBatch
		cfg.Trainer.Epochs, cfg.Trainer.BatchSize = 2, 8
		cfg.Trainer.RecallPool = 0
		cfg.Trainer.CheckpointEveryEpochs = 1
		cfg.Trainer.Progress = false
		cfg.Out = filepath.Join(dir, "pt")
		s, err := pretrain.Run(context.Background(), cfg, pretrain.RunOptions{Backend: gomlxtest.Backend(t)})
		if err != nil {
			t.Fatal(err)
		}
		fix = &fixture{cohort: c, cfg: cfg, run: s, ckpt: s.Checkpoint,
			other: filepath.Join(cfg.Out, "checkpoints", "epoch-0001.safetensors"), dir: dir}
	})
	if fix == nil {
		t.Fatal("shared fixture could not be built (see the first failure)")
	}
	return fix
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.Exit(code)
}
