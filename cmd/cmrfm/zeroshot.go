package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/retrieval"
)

func newZeroShotCmd(a *app) *cobra.Command {
	var o retrieval.ZeroShotOptions
	var backend, printPrompts string
	cmd := &cobra.Command{
		Use:   "zeroshot --index emb.h5 --labels index.csv --prompts prompts.yaml [--split test] --out zs.csv",
		Short: "Zero-shot diagnosis from prompts (no labels used for training), in cmrfm predict's CSV columns",
		Long: `zeroshot scores each study of a split for each label of a prompts file with
no training, as CLIP does: per label a set of positive and negative prompts
(an ensemble), score = mean cosine of the study embedding to the positive
prompts − mean cosine to the negative ones, probs = σ(score/τ) with the
checkpoint's temperature τ (a monotone map: AUROC is that of the score).

It writes the columns of 'cmrfm predict' — filenames, probs, labels, views,
softmax_attn, attn_2CH, attn_3CH, attn_4CH, attn_SAX (the attention columns
hold each clip's weight in the pooled study embedding) — one CSV for one
target, or a folder with <target>/predictions.csv for several, so
'cmrfm evaluate classification --pred zs/' scores it unchanged (use
--direction "<": a higher score means the label is present by construction).

Prompts: a YAML file
  labels:
    dcm:
      positive: [Dilated cardiomyopathy., The left ventricle is dilated with severely impaired systolic function.]
      negative: [Normal left ventricular size and systolic function.]
or builtin:phantom (the phantom cohort's labels) or builtin:paper (the
paper's 35 targets by name); --print-prompts builtin:paper prints one to
adapt. The text tower is the checkpoint the embeddings were made with (its
SHA-256 is checked).

EXIT STATUS
  0  success
  1  error (label column missing, empty prompt, study absent from the file, …)`,
		Example: `  cmrfm zeroshot --index emb.h5 --labels store/index.csv --prompts builtin:phantom --split test --out zs/
  cmrfm evaluate classification --pred zs/ --direction "<" --out zs.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printPrompts != "" {
				b, err := retrieval.BuiltinPromptsYAML(printPrompts)
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(b)
				return err
			}
			if o.Embeddings == "" || o.Labels == "" || o.Prompts == "" || o.Out == "" {
				return fmt.Errorf("zeroshot: --index, --labels, --prompts and --out are required")
			}
			if backend != "" {
				b, err := ops.NewInferenceBackend(backend)
				if err != nil {
					return err
				}
				o.Backend = b
			}
			o.Log = a.log
			s, err := retrieval.ZeroShot(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "scored %d studies for %v (τ = %g)", s.Studies, s.Targets, s.Temperature)
			if s.Skipped > 0 {
				fmt.Fprintf(a.stdout, "; %d without an embedding (no usable clip) left out", s.Skipped)
			}
			fmt.Fprintln(a.stdout)
			for _, f := range s.Files {
				fmt.Fprintln(a.stdout, f)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Embeddings, "index", "", "embeddings file from cmrfm embed (required)")
	f.StringVar(&o.Labels, "labels", "", "dataset index with the label columns (required)")
	f.StringVar(&o.Prompts, "prompts", "", "prompts YAML, builtin:phantom or builtin:paper (required)")
	f.StringVar(&o.Split, "split", "", "only rows of this split (default: all rows)")
	f.StringSliceVar(&o.Targets, "targets", nil, "labels to score (default: every label of the prompts)")
	f.StringVar(&o.Out, "out", "", "predictions CSV (one target) or folder (several) (required)")
	f.StringVar(&o.Checkpoint, "checkpoint", "", "pretraining checkpoint (default: the one recorded in the file)")
	f.StringVar(&o.Vocab, "vocab", "", "vocabulary (default: the one the report index named)")
	f.StringVar(&printPrompts, "print-prompts", "", "print a built-in prompts file (phantom, paper) and exit")
	f.StringVar(&backend, "backend", "", "GoMLX backend (default $GOMLX_BACKEND, else go)")
	return cmd
}
