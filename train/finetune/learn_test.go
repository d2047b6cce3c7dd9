package finetune

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/cmrfm/cmrfm/stats"
	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/train/data"
)

// predictRows applies a finished run's checkpoint to rows (evaluation
// transform, as cmrfm predict).
func predictRows(t *testing.T, s *Summary, c Config, rows []store.IndexRow) []*Prediction {
	t.Helper()
	m, err := LoadModel(s.Checkpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	bag, err := c.Bag(m.Net.Cfg.Video.Frames)
	if err != nil {
		t.Fatal(err)
	}
	_, evalT, err := c.Transforms(m.Net.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	ds := &data.BagDataset{Root: c.Data.Store, Rows: rows, Targets: c.Data.Targets, Bag: bag, Transform: evalT, Seed: c.Seed}
	preds, _, err := m.Eval.Run(context.Background(), ds, 0, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(preds) != len(rows) {
		t.Fatalf("%d predictions for %d studies", len(preds), len(rows))
	}
	return preds
}

// TestLearnsOnPhantom is the CI-sized learning proof (docs/finetune.md has
// the full one): the phantom presets (mvit-tiny from random weights,
// transfer mode) on the 44 training studies of a 64-study
// phantom cohort. LVEF: the training-set MAE must fall well below that of
// predicting the training mean, with a clear correlation; dcm: the
// training-set AUROC must be well above 0.5. An untrained network scores
// near the baseline and 0.5 (the collapse this preset's learning rate
// avoids kept it there: docs/finetune.md).
func TestLearnsOnPhantom(t *testing.T) {
	co := buildCohortIn(t, filepath.Join(sharedDir, "learn"), 64, 48, 16, 11)
	trainRows := co.Index.Filter("train")
	t.Run("lvef", func(t *testing.T) {
		c := PhantomConfig(RegressionConfig())
		c.Out, c.Data.Store, c.Data.ValSplit = t.TempDir(), co.Root, ""
		// The long-axis views only (2 clips a study instead of ~9): 4× the
		// epochs in the same time. 70 epochs, not 40: at 40 the MAE ratio
		// still depends on the trajectory — 0.37 to 0.76 over seeds 1–5 on
		// compute v0.1.14, and 0.61 (v0.28.2) vs 1.1 (v0.28.14) for seed 1,
		// which only changes the GEMM summation order. At 70 epochs seeds
		// 1, 2 and 5 (the worst three at 40) give 0.12, 0.19 and 0.36: the
		// bar of 0.75 holds with a margin on any correct backend.
		c.Data.Views = []string{"4CH", "2CH"}
		c.Trainer.Epochs, c.Trainer.BatchSize = 70, 4
		s := runFT(t, c, co, RunOptions{})
		preds := predictRows(t, s, c, trainRows)
		var p, y []float64
		for _, q := range preds {
			p, y = append(p, q.Pred[0]), append(y, q.Labels[0])
		}
		mean := 0.0
		for _, v := range y {
			mean += v
		}
		mean /= float64(len(y))
		base := make([]float64, len(y))
		for i := range base {
			base[i] = mean
		}
		held := append(co.Index.Filter("val"), co.Index.Filter("test")...)
		var hp, hy, hb []float64
		for _, q := range predictRows(t, s, c, held) {
			hp, hy, hb = append(hp, q.Pred[0]), append(hy, q.Labels[0]), append(hb, mean)
		}
		t.Logf("held-out (val+test, %d studies): MAE %.2f (train-mean baseline %.2f), r %.3f", len(hy), stats.MAE(hp, hy), stats.MAE(hb, hy), stats.Pearson(hp, hy))
		mae, b, r := stats.MAE(p, y), stats.MAE(base, y), stats.Pearson(p, y)
		t.Logf("train LVEF: MAE %.2f (mean baseline %.2f), r %.3f, %d studies, %d updates in %s", mae, b, r, len(y), s.State.Updates, s.Elapsed)
		if !(mae < 0.75*b) || !(r > 0.6) {
			t.Errorf("train LVEF MAE %.2f vs baseline %.2f (want < 0.75×), r %.3f (want > 0.6)", mae, b, r)
		}
	})
	t.Run("dcm", func(t *testing.T) {
		c := PhantomConfig(ClassificationConfig("dcm"))
		c.Out, c.Data.Store, c.Data.ValSplit = t.TempDir(), co.Root, ""
		c.Data.Views = []string{"4CH", "2CH"}
		c.Trainer.Epochs, c.Trainer.BatchSize = 12, 4
		s := runFT(t, c, co, RunOptions{})
		preds := predictRows(t, s, c, trainRows)
		var sc []float64
		var lb []bool
		for _, q := range preds {
			sc, lb = append(sc, q.Pred[0]), append(lb, q.Labels[0] == 1)
		}
		roc, err := stats.NewROC(sc, lb, stats.Less)
		if err != nil {
			t.Fatal(err)
		}
		auc := roc.AUC()
		t.Logf("train dcm AUROC %.3f (%d cases of %d), %d updates in %s", auc, roc.NumCases(), len(sc), s.State.Updates, s.Elapsed)
		if !(auc > 0.85) || math.IsNaN(auc) {
			t.Errorf("train dcm AUROC %.3f, want > 0.85", auc)
		}
	})
}
