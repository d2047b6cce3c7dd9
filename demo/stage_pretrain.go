package demo

import (
	"context"
	"fmt"
	"os"

	"github.com/cmrfm/cmrfm/train/pretrain"
)

// stagePretrain runs a few updates of contrastive video–text pretraining
// (the tiny preset: mvit-tiny and bert-small from random weights) on the
// demo store and report index, as "cmrfm pretrain --preset tiny" would,
// writing a checkpoint, metrics and plots under pretrain/. It shows the
// pipeline end to end; learning needs far more updates (docs/pretraining.md).
func stagePretrain(ctx context.Context, r *Run) (Result, error) {
	reports := r.Path("text", "reports.json")
	if _, err := os.Stat(reports); err != nil {
		return Result{Summary: "skipped: no report index (the text stage writes " + reports + ")"}, nil
	}
	c := pretrain.TinyConfig(pretrain.PaperConfig())
	c.Seed = uint64(r.Opts.Seed)
	c.Out = r.Path("pretrain")
	c.Data.Store, c.Data.Reports = r.Path("store"), reports
	// Every study trains and is scored (the demo cohort is small).
	c.Data.TrainSplit, c.Data.ValSplit = "all", "all"
	c.Data.Workers = r.Opts.Workers
	// Batch-normalised projections, as the learning-proof preset (towers
	// from random weights collapse without them); the finetune stage folds
	// them into the projection it starts from.
	c.Model.ProjNorm = pretrain.ProjNormBatch
	c.Trainer.BatchSize = 4
	c.Trainer.Epochs = 3
	c.Trainer.CheckpointEveryEpochs = 1
	c.Trainer.Progress = false
	if err := os.RemoveAll(c.Out); err != nil { // a fresh run each time
		return Result{}, err
	}
	s, err := pretrain.Run(ctx, c, pretrain.RunOptions{Log: r.Log})
	if err != nil {
		return Result{}, err
	}
	sum := fmt.Sprintf("pretrained mvit-tiny + bert-small for %d updates (%d epochs, batch %d) in %s",
		s.State.Updates, s.State.Epoch, c.Trainer.BatchSize, s.Elapsed.Round(1e6))
	if v := s.LastVal; v != nil {
		sum += fmt.Sprintf("; loss %.3f, recall@1 video→text %.2f text→video %.2f over %d studies (chance %.2f)",
			v.RawLoss, v.Retrieval.VideoToText[0], v.Retrieval.TextToVideo[0], v.Retrieval.N, v.Retrieval.Chance(1))
	}
	outs := []string{s.Checkpoint, s.MetricsCSV, s.LossPlot}
	if s.RecallPlot != "" {
		outs = append(outs, s.RecallPlot)
	}
	return Result{Summary: sum, Outputs: outs}, nil
}
