package demo

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/cmrfm/cmrfm/train/finetune"
)

// task is one fine-tuned model and its test-split result.
type task struct {
	target, kind string
	run, preds   string
	// Filled by the evaluate stage.
	n                   int
	mae, baseMAE, r     float64
	auc, lo, hi         float64
	positives, controls int
}

// demoTasks are the demo's two fine-tuning runs: LVEF regression and DCM
// classification on the phantom presets (mvit-tiny, transfer mode, the
// heart-zoomed 32×32 crop) from the shipped phantom-pretrained video tower,
// on the long-axis views. The epochs are what the full demo's 250-study
// cohort needs for the bars Run.Check states (measured: docs/report.md).
var demoTasks = []struct {
	target, kind string
	views        []string
	epochs       int
}{
	{"lvef", "regression", []string{"4CH", "2CH"}, 60},
	{"dcm", "classification", []string{"4CH", "2CH"}, 30},
}

// stageFinetune fine-tunes each demo task on the store's train split, as
// "cmrfm finetune" would, validating on the val split every epoch, then
// applies the model to the test split as "cmrfm predict" would.
func stageFinetune(ctx context.Context, r *Run) (Result, error) {
	storeDir := r.Path("store")
	idx, err := finetune.ReadIndex(storeDir, "")
	if err != nil {
		return Result{}, err
	}
	init := r.Path("finetune", "phantom-pretrained-video.safetensors")
	if err := mkdir(r.Path("finetune")); err != nil {
		return Result{}, err
	}
	if err := writePretrained(init); err != nil {
		return Result{}, err
	}
	var sums, outs []string
	for _, dt := range demoTasks {
		has := false
		for _, c := range idx.Columns {
			has = has || c == dt.target
		}
		if !has {
			sums = append(sums, "no "+dt.target+" labels in the store's index.csv")
			continue
		}
		var c finetune.Config
		if dt.kind == "regression" {
			c = finetune.PhantomConfig(finetune.RegressionConfig())
		} else {
			c = finetune.PhantomConfig(finetune.ClassificationConfig(dt.target))
		}
		c.Seed = uint64(r.Opts.Seed)
		c.Out = r.Path("finetune", dt.target)
		c.Data.Store = storeDir
		c.Data.Workers = max(r.Opts.Workers, 1)
		c.Data.Views = dt.views
		c.Init.Weights = init
		c.Trainer.Epochs = dt.epochs
		if r.Opts.Quick {
			c.Trainer.Epochs = 4
		}
		c.Trainer.Progress = r.Opts.Progress != nil
		if err := os.RemoveAll(c.Out); err != nil { // a fresh run each time
			return Result{}, err
		}
		s, err := finetune.Run(ctx, c, finetune.RunOptions{Log: r.Log, Progress: r.Opts.Progress})
		if err != nil {
			return Result{}, err
		}
		preds := r.Path("finetune", dt.target, "test_predictions.csv")
		p, err := finetune.Predict(ctx, finetune.PredictOptions{Checkpoint: s.Checkpoint, Store: storeDir,
			Split: c.Data.TestSplit, Out: preds, Workers: c.Data.Workers, Log: r.Log})
		if err != nil {
			return Result{}, err
		}
		r.tasks = append(r.tasks, task{target: dt.target, kind: dt.kind, run: c.Out, preds: preds})
		sums = append(sums, fmt.Sprintf("%s: %d updates on %d train studies (%s, %s), %d test studies predicted",
			dt.target, s.State.Updates, s.TrainStudies, strings.Join(dt.views, "+"), s.Elapsed.Round(1e8), len(p.Predictions)))
		outs = append(outs, s.Checkpoint, s.MetricsCSV, preds)
	}
	return Result{Summary: "fine-tuned mvit-tiny + gated-attention MIL from the phantom-pretrained video tower — " + strings.Join(sums, "; "),
		Outputs: append([]string{init}, outs...)}, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
