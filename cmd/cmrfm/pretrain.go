package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/pretrain"
)

func newPretrainCmd(a *app) *cobra.Command {
	var flags *trainFlags
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
--print-config prints the resolved configuration and exits. Flags override
the keys they name.

Outputs under --out: checkpoints/last.safetensors (and epoch-NNNN.safetensors),
metrics.csv and metrics.jsonl (pandas.read_csv / read_json(lines=True)),
loss.png, recall.png and config.yaml. --resume continues an interrupted run
bit for bit (Ctrl-C writes a checkpoint first), on this machine or another:
the machine settings (workers, prefetch, backend, progress, out) may differ.`,
		Example: `  cmrfm pretrain --preset tiny --store store --reports reports.json --out runs/tiny
  cmrfm pretrain --config pretrain.yaml --print-config
  cmrfm pretrain --config pretrain.yaml --resume`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (retErr error) {
			c, err := resolveConfig(cmd, a, flags, pretrain.Preset, pretrain.LoadConfig)
			if err != nil {
				return err
			}
			if done, err := flags.printConfig(a, c.YAML); done {
				return err
			}
			s, err := pretrain.Run(cmd.Context(), c, pretrain.RunOptions{Resume: flags.resume, Log: a.log, Hooks: progress.Train(a.stderr)})
			if err != nil {
				return interrupted(a, err, func() *train.Summary { return s.Summary })
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
	flags = newTrainFlags[pretrain.Config](cmd.Flags(), "paper", "paper, tiny or phantom")
	flags.keys.
		flag("reports", "data.reports", "report index from 'cmrfm text index'").
		flag("batch-size", "trainer.batch_size", "pairs per batch")
	return cmd
}
