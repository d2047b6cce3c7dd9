package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/train/pretrain"
)

func newPretrainCmd(a *app) *cobra.Command {
	var (
		configPath, preset, out, store, reports, backend string
		resume, printConfig                              bool
		epochs, maxSteps, batch                          int
	)
	cmd := &cobra.Command{
		Use:   "pretrain",
		Short: "Contrastive video–text pretraining of the MViT and BERT towers",
		Long: `pretrain trains the video (MViT) and text (BERT) towers on (cine study, report)
pairs with the paper's asymmetric InfoNCE loss and flooding — the method whose
code the authors never released.

The configuration is YAML in the spirit of LightningCLI (data, model, init,
optimizer, trainer sections); every paper hyperparameter is the default
(--preset paper), --preset tiny is a CPU-sized model for trying it out, and
--preset phantom is the CPU learning proof of docs/pretraining.md (tiny towers
with batch-normalised projections, one view, 12 sentences per report).
--print-config prints the resolved configuration and exits.

Outputs under --out: checkpoints/last.safetensors (and epoch-NNNN.safetensors),
metrics.csv and metrics.jsonl (pandas.read_csv / read_json(lines=True)),
loss.png, recall.png and config.yaml. --resume continues an interrupted run
bit for bit (Ctrl-C writes a checkpoint first).`,
		Example: `  cmrfm pretrain --preset tiny --store store --reports reports.json --out runs/tiny
  cmrfm pretrain --config pretrain.yaml --print-config
  cmrfm pretrain --config pretrain.yaml --resume`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (retErr error) {
			c, err := pretrain.Preset(preset)
			if err != nil {
				return err
			}
			if configPath != "" {
				if c, err = pretrain.LoadConfig(configPath, c); err != nil {
					return err
				}
			}
			f := cmd.Flags()
			if f.Changed("out") {
				c.Out = out
			}
			if f.Changed("store") {
				c.Data.Store = store
			}
			if f.Changed("reports") {
				c.Data.Reports = reports
			}
			if f.Changed("backend") {
				c.Trainer.Backend = backend
			}
			if f.Changed("epochs") {
				c.Trainer.Epochs = epochs
			}
			if f.Changed("max-steps") {
				c.Trainer.MaxSteps = maxSteps
			}
			if f.Changed("batch-size") {
				c.Trainer.BatchSize = batch
			}
			if f.Changed("workers") || c.Data.Workers == 0 {
				c.Data.Workers = a.workers
			}
			if printConfig {
				y, err := c.YAML()
				if err != nil {
					return err
				}
				fmt.Fprint(a.stdout, y)
				return nil
			}
			s, err := pretrain.Run(cmd.Context(), c, pretrain.RunOptions{Resume: resume, Log: a.log, Progress: a.stderr})
			if errors.Is(err, pretrain.ErrInterrupted) {
				fmt.Fprintf(a.stdout, "interrupted after %d updates; continue with --resume (checkpoint %s)\n", s.State.Updates, s.Checkpoint)
				return exitCode(exitPartial)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "pretrained %d updates in %d epochs (%s; waited %s for data)\n", s.State.Updates, s.State.Epoch,
				s.Elapsed.Round(1e6), s.DataWait.Round(1e6))
			if s.Skipped > 0 {
				fmt.Fprintf(a.stdout, "partial: %d batches skipped for a non-finite loss or gradient (see the log)\n", s.Skipped)
				defer func() {
					if retErr == nil {
						retErr = partialError{s.Skipped, s.State.Updates}
					}
				}()
			}
			if v := s.LastVal; v != nil {
				r := v.Retrieval
				fmt.Fprintf(a.stdout, "validation: loss %.4f, recall@1 video→text %.3f text→video %.3f, recall@5 %.3f / %.3f (%d pairs, pools of %d, chance@1 %.3f)\n",
					v.RawLoss, r.VideoToText[0], r.TextToVideo[0], r.VideoToText[1], r.TextToVideo[1], r.N, r.Pool, r.Chance(1))
			}
			for _, p := range []string{s.Checkpoint, s.MetricsCSV, s.MetricsJSONL, s.LossPlot, s.RecallPlot} {
				if p != "" {
					fmt.Fprintln(a.stdout, p)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "YAML configuration (over the preset)")
	f.StringVar(&preset, "preset", "paper", "starting configuration: paper, tiny or phantom")
	f.BoolVar(&printConfig, "print-config", false, "print the resolved configuration as YAML and exit")
	f.BoolVar(&resume, "resume", false, "continue from <out>/checkpoints/last.safetensors")
	f.StringVar(&out, "out", "", "run folder (out)")
	f.StringVar(&store, "store", "", "study store root (data.store)")
	f.StringVar(&reports, "reports", "", "report index from 'cmrfm text index' (data.reports)")
	f.StringVar(&backend, "backend", "", "GoMLX backend (trainer.backend; default $GOMLX_BACKEND, else go)")
	f.IntVar(&epochs, "epochs", 0, "epochs (trainer.epochs)")
	f.IntVar(&maxSteps, "max-steps", 0, "stop after this many updates (trainer.max_steps)")
	f.IntVar(&batch, "batch-size", 0, "pairs per batch (trainer.batch_size)")
	return cmd
}
