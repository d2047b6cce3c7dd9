package demo

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/cmrfm/cmrfm/stats"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/finetune"
)

// stageFinetune fine-tunes the LVEF model (the phantom-lvef preset:
// mvit-tiny, gated-attention MIL head) on the demo store's train split,
// starting from the pretrain stage's checkpoint when there is one, as
// "cmrfm finetune" would, then applies it to the test split as "cmrfm
// predict" would and reports the test MAE beside the predict-the-mean
// baseline. It shows the pipeline end to end; a few epochs on a handful of
// studies do not learn LVEF (docs/finetune.md has the real proof).
func stageFinetune(ctx context.Context, r *Run) (Result, error) {
	storeDir := r.Path("store")
	idx, err := finetune.ReadIndex(storeDir, "")
	if err != nil {
		return Result{}, err
	}
	has := false
	for _, c := range idx.Columns {
		has = has || c == "lvef"
	}
	if !has {
		return Result{Summary: "skipped: the store's index.csv has no lvef labels"}, nil
	}
	c := finetune.PhantomConfig(finetune.RegressionConfig())
	c.Seed = uint64(r.Opts.Seed)
	c.Out = r.Path("finetune")
	c.Data.Store = storeDir
	c.Data.Workers = max(r.Opts.Workers, 1)
	c.Trainer.Epochs = 4
	c.Trainer.Progress = false
	init := "random weights"
	if p := train.LastCheckpointPath(r.Path("pretrain")); fileExists(p) {
		c.Init.Weights, init = p, "the pretrain stage's checkpoint"
	}
	if err := os.RemoveAll(c.Out); err != nil { // a fresh run each time
		return Result{}, err
	}
	s, err := finetune.Run(ctx, c, finetune.RunOptions{Log: r.Log})
	if err != nil {
		return Result{}, err
	}
	preds := r.Path("finetune", "test_predictions.csv")
	p, err := finetune.Predict(ctx, finetune.PredictOptions{Checkpoint: s.Checkpoint, Store: storeDir, Split: c.Data.TestSplit,
		Out: preds, Workers: c.Data.Workers, Log: r.Log})
	if err != nil {
		return Result{}, err
	}
	var pr, y []float64
	for _, q := range p.Predictions {
		if !math.IsNaN(q.Labels[0]) {
			pr, y = append(pr, q.Pred[0]), append(y, q.Labels[0])
		}
	}
	sum := fmt.Sprintf("fine-tuned the LVEF model (mvit-tiny + gated-attention MIL, %s mode, from %s) for %d updates on %d train studies in %s",
		c.Mode, init, s.State.Updates, s.TrainStudies, s.Elapsed.Round(1e6))
	if len(y) > 0 {
		var mean float64
		n := 0
		for _, row := range idx.Filter(c.Data.TrainSplit) {
			if v, ok := row.Float("lvef"); ok {
				mean += v
				n++
			}
		}
		base := make([]float64, len(y))
		for i := range base {
			base[i] = mean / float64(max(n, 1))
		}
		sum += fmt.Sprintf("; test split (%d studies): LVEF MAE %.1f points (predicting the train mean: %.1f)",
			len(y), stats.MAE(pr, y), stats.MAE(base, y))
	}
	outs := append([]string{s.Checkpoint, s.MetricsCSV}, s.Plots...)
	return Result{Summary: sum, Outputs: append(outs, preds)}, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
