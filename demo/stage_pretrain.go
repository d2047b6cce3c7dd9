package demo

import (
	"context"
	"fmt"
	"os"

	"github.com/cmrfm/cmrfm/train/pretrain"
)

// stagePretrain runs contrastive video–text pretraining (mvit-tiny and
// bert-small from random weights, batch-normalised projections) on the demo
// store's training split and report index, as "cmrfm pretrain" would,
// writing a checkpoint, metrics and plots under pretrain/, and scores
// retrieval on the validation split. A demo's minute of pretraining shows the
// stage working, not a foundation model: the phantom proof
// (docs/pretraining.md) needs ~1,200 updates to reach 4.6× chance recall.
// The fine-tuning stage therefore starts from the video tower of that proof,
// shipped with cmrfm (demo/weights).
func stagePretrain(ctx context.Context, r *Run) (Result, error) {
	reports := r.Path("text", "reports.json")
	if _, err := os.Stat(reports); err != nil {
		return Result{Summary: "skipped: no report index (the text stage writes " + reports + ")", Skipped: true}, nil
	}
	c := pretrain.PhantomConfig()
	c.Trainer.Epochs, c.Trainer.ValEvery = 2, 0
	if r.Opts.Quick {
		c = pretrain.TinyConfig()
		// Every study trains and is scored (the quick cohort is tiny).
		c.Data.TrainSplit, c.Data.ValSplit = "all", "all"
		c.Model.ProjNorm = pretrain.ProjNormBatch
		c.Trainer.BatchSize = 4
		c.Trainer.Epochs = 3
	}
	c.Seed = uint64(r.Opts.Seed)
	c.Out = r.Path("pretrain")
	c.Data.Store, c.Data.Reports = r.Path("store"), reports
	c.Data.Workers = r.Opts.Workers
	c.Trainer.CheckpointEvery = 1
	c.Trainer.Progress = r.Opts.Progress != nil
	if err := os.RemoveAll(c.Out); err != nil { // a fresh run each time
		return Result{}, err
	}
	s, err := pretrain.Run(ctx, c, pretrain.RunOptions{Log: r.Log, Progress: r.Opts.Progress})
	if err != nil {
		return Result{}, err
	}
	sum := fmt.Sprintf("pretrained mvit-tiny + bert-small for %d updates (%d epochs, batch %d) in %s",
		s.State.Updates, s.State.Epoch, c.Trainer.BatchSize, s.Elapsed.Round(1e6))
	if v := s.LastVal; v != nil {
		sum += fmt.Sprintf("; validation recall@1 video→text %.2f, text→video %.2f among %d (chance %.2f)",
			v.Retrieval.VideoToText[0], v.Retrieval.TextToVideo[0], v.Retrieval.N, v.Retrieval.Chance(1))
	}
	outs := []string{s.Checkpoint, s.MetricsCSV, s.LossPlot}
	if s.RecallPlot != "" {
		outs = append(outs, s.RecallPlot)
	}
	return Result{Summary: sum, Outputs: outs}, nil
}
