package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/train/finetune"
)

func newPredictCmd(a *app) *cobra.Command {
	var o finetune.PredictOptions
	var backend string
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Apply a fine-tuned model: per-study predictions with each view's attention",
		Long: `predict runs a 'cmrfm finetune' checkpoint on the studies of a store and writes
the paper's prediction table: one row per study with filenames, preds (LVEF %)
or probs (classification), labels (when the index has them), the bag's views
and their softmax attention (';'-joined, bag order), attn_2CH, attn_3CH,
attn_4CH, attn_SAX (each view's total attention) and error. A study that
cannot be read or has no usable clip gets a row with empty predictions and
the reason in error, and the others go on (exit status 3). With several disease
targets --out is a folder holding <target>/predictions.csv — the layout
'cmrfm evaluate' reads.

--clips writes one row per clip (view, slice, frame range, attention);
--embeddings writes an .npz with the 512-d study embeddings, the pooled head
features and every clip's embedding and attention.`,
		Example: `  cmrfm predict --checkpoint runs/lvef/checkpoints/last.safetensors --store store --split test --out preds.csv
  cmrfm predict --checkpoint runs/dx/checkpoints/last.safetensors --store store --out preds/ --embeddings emb.npz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Checkpoint == "" || o.Store == "" {
				return usagef("predict: --checkpoint and --store are required")
			}
			if o.Out == "" && o.Clips == "" && o.Embeddings == "" {
				return usagef("predict: nothing to write: give --out, --clips or --embeddings")
			}
			if backend != "" {
				b, err := ops.NewInferenceBackend(backend)
				if err != nil {
					return err
				}
				o.Backend = b
			}
			o.Workers, o.Log = a.workers, a.log
			s, err := finetune.Predict(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "predicted %d studies (%s, targets %v)", len(s.Predictions), s.Task, s.Targets)
			if n := len(s.Failed); n > 0 {
				fmt.Fprintf(a.stdout, "; %d could not be predicted (each has a row with its error)", n)
			}
			fmt.Fprintln(a.stdout)
			for _, f := range s.Files {
				fmt.Fprintln(a.stdout, f)
			}
			return outcome("predict", len(s.Failed), len(s.Failed)+len(s.Predictions))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "fine-tuning checkpoint (…/checkpoints/last.safetensors)")
	f.StringVar(&o.Store, "store", "", "study store root")
	f.StringVar(&o.Index, "index", "", "dataset index CSV (default <store>/index.csv)")
	f.StringVar(&o.Split, "split", "", "only rows of this split (default: all rows)")
	f.StringVar(&o.Out, "out", "", "predictions CSV (a folder with several targets)")
	f.StringVar(&o.Clips, "clips", "", "per-clip CSV")
	f.StringVar(&o.Embeddings, "embeddings", "", "study and view embeddings (.npz)")
	f.IntVar(&o.ClipBatch, "clip-batch", 0, "clips the encoder runs at once: 0 auto (1 for MViT-B, whole bags for small presets), -1 whole bags")
	f.StringVar(&backend, "backend", "", "GoMLX backend (default $GOMLX_BACKEND, else go)")
	return cmd
}
