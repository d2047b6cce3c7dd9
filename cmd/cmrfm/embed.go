package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/retrieval"
)

func newEmbedCmd(a *app) *cobra.Command {
	var o retrieval.EmbedOptions
	var backend string
	cmd := &cobra.Command{
		Use:   "embed --checkpoint PRETRAIN --store STORE [--reports reports.json] --out emb.h5",
		Short: "Embed studies and reports with a pretraining checkpoint: the search index of search, zeroshot and evaluate retrieval",
		Long: `embed runs the two towers of a 'cmrfm pretrain' checkpoint over a store's
studies (and, with --reports, their reports) and writes one HDF5 file that
h5py, pandas and R read directly (docs/retrieval.md):

  study_keys, study_split, study_embedding [S, D]   one row per study
  view_study, view_name, view_clips, view_embedding  one row per view of a study
  clip_study, clip_view, clip_slice, clip_start, clip_end, clip_embedding
  report_keys, report_study, report_embedding        one row per report
  skipped_keys, skipped_reason                       studies without a usable clip
  checkpoint, checkpoint_sha256, config, settings, text, format

Every embedding is L2-normalised (cosine = dot product). Clips: every clip
of every wanted view (default: the views the checkpoint was pretrained on)
through the evaluation transform; a view is the normalised mean of its
clips; a study is pooled by --pooling: views (mean of its views, default),
clips (mean of all clips) or view:4CH (one view). A report is embedded from
the sentences pretraining's validation draws (k sentences, the run's seed,
draw 0).

A killed run resumes: finished chunks of --chunk studies wait in
OUT.parts/ and a rerun of the same command continues from them. A rerun
after completion reports the file up to date.

EXIT STATUS
  0  every study embedded
  1  error (nothing written)
  3  partial: studies without a usable clip were left out (named in the file)`,
		Example: `  cmrfm embed --checkpoint runs/pt/checkpoints/last.safetensors --store store \
      --reports reports.json --split test --out emb.h5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Checkpoint == "" || o.Store == "" || o.Out == "" {
				return fmt.Errorf("embed: --checkpoint, --store and --out are required")
			}
			if backend != "" {
				b, err := ops.NewInferenceBackend(backend)
				if err != nil {
					return err
				}
				o.Backend = b
			}
			o.Workers, o.Log = a.workers, a.log
			var bar *progress.Bar
			last := 0
			o.Progress = func(done, total int) {
				if bar == nil {
					bar = progress.New(a.stderr, total, "embed", "studies")
				}
				bar.Add(done - last)
				last = done
			}
			s, err := retrieval.Embed(cmd.Context(), o)
			if bar != nil {
				bar.Finish()
			}
			if err != nil && !errors.Is(err, retrieval.ErrPartial) {
				return err
			}
			state := "wrote"
			if s.UpToDate {
				state = "up to date:"
			}
			fmt.Fprintf(a.stdout, "%s %s: %d studies (%d views, %d clips), %d reports, width %s, pooling %s", state, s.Out,
				s.Studies, s.Views, s.Clips, s.Reports, s.Dims, s.Pooling)
			if s.Resumed > 0 {
				fmt.Fprintf(a.stdout, "; %d studies resumed from an earlier run", s.Resumed)
			}
			fmt.Fprintln(a.stdout)
			if err != nil {
				for i, k := range s.SkippedStudies {
					fmt.Fprintf(a.stdout, "skipped %s: %s\n", k, s.SkippedReasons[i])
				}
				a.log.Warn("partial", "error", err)
				return exitCode(3)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "cmrfm pretrain checkpoint (…/checkpoints/last.safetensors) (required)")
	f.StringVar(&o.Store, "store", "", "study store root (required)")
	f.StringVar(&o.Index, "index", "", "dataset index CSV (default <store>/index.csv)")
	f.StringVar(&o.Split, "split", "", "only rows of this split (default: all rows)")
	f.StringVar(&o.Reports, "reports", "", "report index (cmrfm text index) to embed the reports too")
	f.StringVar(&o.Out, "out", "", "embeddings file, .h5 (required)")
	f.StringSliceVar(&o.Views, "views", nil, "views to embed (default: the checkpoint's pretraining views)")
	f.StringVar(&o.Pooling, "pooling", retrieval.PoolViews, "study embedding: views, clips or view:<4CH|3CH|2CH|SAX>")
	f.IntVar(&o.Batch, "batch", 8, "clips (and reports) per forward pass")
	f.IntVar(&o.ChunkSize, "chunk", 128, "studies per resumable chunk")
	f.StringVar(&backend, "backend", "", "GoMLX backend (default $GOMLX_BACKEND, else go)")
	return cmd
}
