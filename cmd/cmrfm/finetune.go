package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/finetune"
)

func newFinetuneCmd(a *app) *cobra.Command {
	var flags *trainFlags
	cmd := &cobra.Command{
		Use:   "finetune",
		Short: "Train the downstream LVEF or disease model (gated-attention MIL head over every view)",
		Long: `finetune trains a study-level model: every 4CH/2CH/3CH clip and a selection of
SAX slices → MViT encoder → 512-d projection → gated multi-view attention → an
LVEF prediction (Huber loss) or one probability per disease (weighted BCE).

Modes (--mode): finetune (the paper's fine-tuning: encoder frozen, projection
and head train), transfer (everything trains) and linear (head only). --init
names the starting weights: a cmrfm pretrain checkpoint, the authors'
Lightning checkpoint (cmr_c0.1) or Kinetics-400 MViT weights (the paper's
baseline); without it everything starts from random weights.

The configuration is YAML (data, model, init, optimizer, trainer sections);
the paper's settings are the defaults of --preset lvef and --preset diseases.
tiny-lvef and tiny-diseases are CPU-sized; phantom-lvef and phantom-diseases
are the presets of the phantom-cohort learning proof (docs/finetune.md).
--print-config prints the resolved configuration and exits. Flags override
the keys they name.

Outputs under --out: checkpoints/last.safetensors, metrics.csv and
metrics.jsonl, loss.png, val.png and config.yaml. --resume continues an
interrupted run bit for bit (Ctrl-C writes a checkpoint first), on this
machine or another: the machine settings (workers, prefetch, backend,
progress, out) may differ. Apply the model with 'cmrfm predict'.`,
		Example: `  cmrfm finetune --preset phantom-lvef --store store --out runs/lvef
  cmrfm finetune --preset diseases --store store --init runs/pt/checkpoints/last.safetensors --out runs/dx
  cmrfm finetune --config ft.yaml --print-config
  cmrfm finetune --config ft.yaml --resume`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (retErr error) {
			c, err := resolveConfig(cmd, a, flags, finetune.Preset, finetune.LoadConfig)
			if err != nil {
				return err
			}
			if done, err := flags.printConfig(a, c.YAML); done {
				return err
			}
			if c.Data.Store == "" {
				return usagef("finetune: no study store: set data.store or --store")
			}
			if c.Out == "" {
				return usagef("finetune: no run folder: set out or --out")
			}
			s, err := finetune.Run(cmd.Context(), c, finetune.RunOptions{Resume: flags.resume, Log: a.log, Hooks: progress.Train(a.stderr)})
			if err != nil {
				return interrupted(a, err, func() *train.Summary { return &s.Summary })
			}
			fmt.Fprintf(a.stdout, "fine-tuned (%s, %s) %d updates in %d epochs on %d studies (%s; waited %s for data)\n",
				c.Task, c.Mode, s.State.Updates, s.State.Epoch, s.TrainStudies, s.Elapsed.Round(1e6), s.DataWait.Round(1e6))
			if u := s.Unlabelled; u.Train+u.Val > 0 {
				fmt.Fprintf(a.stdout, "left out %d training and %d validation rows without a label for %v\n", u.Train, u.Val, c.Data.Targets)
			}
			if s.Skipped+s.LeftOut > 0 {
				fmt.Fprintf(a.stdout, "partial: %d batches skipped for a non-finite loss or gradient, %d study draws left out as unreadable (see the log)\n", s.Skipped, s.LeftOut)
				defer func() {
					if retErr == nil {
						retErr = partialError{s.Skipped + s.LeftOut, s.State.Updates}
					}
				}()
			}
			if v := lastValues(s.Rows); len(v) > 0 {
				keys := make([]string, 0, len(v))
				for k := range v {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				fmt.Fprint(a.stdout, "validation:")
				for _, k := range keys {
					fmt.Fprintf(a.stdout, " %s %.4g", k, v[k])
				}
				fmt.Fprintln(a.stdout)
			}
			for _, p := range append([]string{s.Checkpoint, s.MetricsCSV, s.MetricsJSONL}, s.Plots...) {
				if p != "" {
					fmt.Fprintln(a.stdout, p)
				}
			}
			return nil
		},
	}
	flags = newTrainFlags[finetune.Config](cmd.Flags(), "lvef", "lvef, diseases, tiny-lvef, tiny-diseases, phantom-lvef or phantom-diseases")
	flags.keys.
		flag("index", "data.index", "dataset index CSV (default <store>/index.csv)").
		flag("init", "init.weights", "initial weights: cmrfm checkpoint, authors' Lightning checkpoint or Kinetics MViT").
		flag("mode", "mode", "finetune, transfer or linear").
		flag("data-fraction", "data.fraction", "fraction of training patients used").
		flag("fraction-seed", "data.fraction_seed", "seed of the data-fraction draw").
		flag("lr", "optimizer.lr", "learning rate").
		flag("reference-optimizer", "model.reference_optimizer", "reproduce the authors' bug: the MIL head is not optimised")
	return cmd
}

// lastValues returns the validation values of the last metrics row that
// has them.
func lastValues(rows []train.Row) map[string]float64 {
	for i := len(rows) - 1; i >= 0; i-- {
		out := map[string]float64{}
		for k, v := range rows[i].Values {
			if len(k) > 4 && k[:4] == "val_" {
				out[k] = v
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}
