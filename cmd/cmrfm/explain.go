package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/explain"
	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/model/ops"
)

func newExplainCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "See inside: attention heat-map videos, view attention (Fig. 4c), UMAP of embeddings",
		Long: `explain turns a model and its predictions into pictures (docs/explain.md):

  attention  every head of every MViT block as heat-map videos, the input clip,
             an attention rollout, per-block grids and a contact sheet per clip
  views      relative multi-instance attention per view and target (CSV + heat map)
  umap       UMAP of study or clip embeddings (CSV + scatter plot)`,
	}
	cmd.AddCommand(newExplainViewsCmd(a), newExplainAttentionCmd(a), newExplainUMAPCmd(a))
	return cmd
}

func newExplainViewsCmd(a *app) *cobra.Command {
	var o explain.ViewsOptions
	cmd := &cobra.Command{
		Use:   "views --predictions P [--predictions P2 …] --out DIR",
		Short: "Relative view attention per target with bootstrap CIs: CSV and heat map (the paper's Fig. 4c)",
		Long: `views reads prediction tables with per-clip MIL attention and computes, per
target and view, the relative attention: the mean over every clip of the
view of softmax_attn × (clips in the clip's bag), so 1 is a uniform share;
with a percentile bootstrap interval that resamples studies.

--predictions takes cmrfm predict's per-study CSV (views and softmax_attn
';'-joined), its --clips CSV, a W&B table JSON (the authors'
preds_output.table.json), or a folder with one <target>/ sub-folder per
target holding one of those. Repeat it for several tables.

Writes DIR/view_attention.csv (target, subset, view, relative_attention,
ci_lower, ci_upper, clips, studies) and DIR/view_attention.png/.svg (views ×
targets). --by-label adds rows for positive (label ≥ 0.5) and negative
studies, and their heat maps view_attention_positive/_negative.png/.svg.`,
		Example: `  cmrfm explain views --predictions preds/ --out explain/
  cmrfm explain views --predictions cmr_transformer-raw_dataframes/internal_classification_val/val_artifacts --out fig4c`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Log = a.log
			s, err := explain.Views(cmd.Context(), o)
			if err != nil {
				return err
			}
			targets := map[string]bool{}
			for _, r := range s.Rows {
				targets[r.Target] = true
			}
			fmt.Fprintf(a.stdout, "view attention of %d targets\n", len(targets))
			for _, f := range s.Files {
				fmt.Fprintln(a.stdout, f)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Predictions, "predictions", nil, "prediction table or folder (repeatable)")
	f.StringVar(&o.Target, "target", "", "target name of a single prediction file (default: its folder or file name)")
	f.StringVar(&o.Out, "out", "", "output folder")
	f.IntVar(&o.Bootstrap, "bootstrap", 2000, "bootstrap resamples of the studies (0: no interval)")
	f.Float64Var(&o.Level, "level", 0.95, "interval coverage")
	f.Uint64Var(&o.Seed, "seed", 1, "bootstrap seed")
	f.BoolVar(&o.ByLabel, "by-label", false, "also compute positive and negative studies separately")
	_ = cmd.MarkFlagRequired("predictions")
	_ = cmd.MarkFlagRequired("out")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if o.Bootstrap == 0 {
			o.Bootstrap = -1
		}
		if o.Level <= 0 || o.Level >= 1 {
			return fmt.Errorf("--level %g: want 0 < level < 1", o.Level)
		}
		return nil
	}
	return cmd
}

func newExplainAttentionCmd(a *app) *cobra.Command {
	var (
		o                    explain.AttentionOptions
		views, scale, format string
		backend              string
	)
	cmd := &cobra.Command{
		Use:   "attention (--checkpoint C | --weights W [--arch A]) --store S (--study KEY … | [--split test] [--limit N]) --out DIR",
		Short: "Attention heat-map videos of every head of every MViT block, a rollout and a contact sheet per clip",
		Long: `attention runs the video encoder on every clip of a study's bag (the clips its
evaluation sees: the model's views, all SAX slices, the evaluation transform)
and renders, per clip, into DIR/<study>/<clip>/:

  input_video.mp4         the network input (channel 1, grey, each frame min–max scaled)
  layer_LL_head_HH.mp4    one video per head of every block (65 for MViT-B 16×4),
                          as the authors' visualize_attentions.py renders them:
                          each non-CLS query token's weight on the CLS key,
                          nearest-interpolated to the input clip, magma colour
                          map, each frame min–max scaled
  rollout.mp4             attention rollout across blocks (Abnar & Zuidema 2020)
                          with pooled keys/values mapped back to the input grid
  layer_LL_grid.mp4       all heads of a block tiled
  contact_sheet.png       the middle frame of every video on one page

and DIR/attention.json, the manifest of every clip and failure. Videos are
MP4 (H.264) through ffmpeg when it is on PATH, else animated GIF written in
Go (--video-format gif forces it). --format h5 writes DIR/<study>/<clip>.h5
in the authors' export layout instead (input_video, layer_00 …), which their
visualize_attentions.py -i DIR/<study> renders.

--scale video uses one min–max per video instead of per frame; --overlay
blends the heat map over the input frames (--alpha). --size sets the frame
side in pixels (nearest upscaling by an integer factor; default 224).

Studies: --study KEY (repeatable; KEY = parent_folder-accession, the
predictions' filenames) or the index rows of --split (at most --limit).
A study that fails is recorded in the manifest and the others go on.

EXIT STATUS
  0  every study explained
  1  nothing explained, or bad input (the message names the file or study)
  3  some studies failed (listed in attention.json)`,
		Example: `  cmrfm explain attention --checkpoint runs/dx/checkpoints/last.safetensors --store store --split test --limit 2 --out explain/attention
  cmrfm explain attention --weights MVIT_B_16x4.pyth --store store --study site_ab12-cd34.h5 --views 4CH --out attn`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Render.Scale, err = explain.ParseScale(scale); err != nil {
				return err
			}
			if views != "" {
				if o.Views, err = parseViews(views); err != nil {
					return err
				}
			}
			switch format {
			case "video", "":
			case explain.FormatH5:
				o.Format = explain.FormatH5
			default:
				return fmt.Errorf("--format %q: want video or h5", format)
			}
			if backend != "" {
				if o.ModelOptions.Backend, err = ops.NewInferenceBackend(backend); err != nil {
					return err
				}
			}
			o.Log = a.log
			o.Workers = a.workers
			var bar *progress.Bar
			o.Progress = func(done, total int) {
				if bar == nil {
					bar = progress.New(a.stderr, total, "explain attention", "studies")
				}
				bar.Add(1)
			}
			s, err := explain.Attention(cmd.Context(), o)
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "explained %d clips of %d studies (%s, %d heads per clip, %s)\n", len(s.Clips), s.Studies(), s.Arch, s.Heads, s.Format)
			for _, f := range s.Failures {
				fmt.Fprintf(a.stdout, "FAILED %s: %s\n", f.Study, f.Error)
			}
			fmt.Fprintln(a.stdout, s.Manifest)
			switch {
			case len(s.Failures) > 0 && len(s.Clips) == 0:
				return exitCode(1)
			case len(s.Failures) > 0:
				return exitCode(3)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ModelOptions.Checkpoint, "checkpoint", "", "cmrfm pretrain or finetune checkpoint")
	f.StringVar(&o.ModelOptions.Weights, "weights", "", "encoder weights (torchvision, pytorchvideo, the authors' checkpoint, cmrfm MViT)")
	f.StringVar(&o.ModelOptions.Arch, "arch", "", "architecture of --weights (default mvit-b-16x4)")
	f.StringVar(&o.ModelOptions.Init, "init", "", "Kinetics weights under an authors' checkpoint (with --authors-bug-compatible)")
	f.BoolVar(&o.ModelOptions.BugCompatible, "authors-bug-compatible", false, "load the authors' checkpoint as their code does")
	f.StringVar(&o.Store, "store", "", "study store root")
	f.StringVar(&o.Index, "index", "", "dataset index CSV (default <store>/index.csv)")
	f.StringArrayVar(&o.Studies, "study", nil, "study key parent_folder-accession (repeatable)")
	f.StringVar(&o.Split, "split", "", "explain the index rows of this split (default: all rows)")
	f.IntVar(&o.Limit, "limit", 0, "at most this many studies of the split (0: all)")
	f.StringVar(&views, "views", "", "only clips of these views, e.g. 4CH,SAX")
	f.IntVar(&o.MaxClips, "max-clips", 0, "at most this many clips per study (0: all)")
	f.StringVar(&o.Out, "out", "", "output folder")
	f.StringVar(&format, "format", "video", "video (rendered videos) or h5 (the authors' export layout)")
	f.StringVar(&o.Format, "video-format", "", "mp4 or gif (default: mp4 when ffmpeg is on PATH, else gif)")
	f.Float64Var(&o.FPS, "fps", 20, "frames per second of the videos")
	f.StringVar(&scale, "scale", "frame", "min–max scaling of heat maps: frame (the reference) or video")
	f.BoolVar(&o.Render.Overlay, "overlay", false, "blend heat maps over the input frames")
	f.Float64Var(&o.Render.Alpha, "alpha", 0.5, "heat-map opacity of --overlay")
	f.IntVar(&o.Render.Size, "size", 224, "frame side in pixels (integer nearest upscaling of the model's input)")
	f.BoolVar(&o.NoRollout, "no-rollout", false, "skip the rollout video")
	f.BoolVar(&o.NoGrids, "no-grids", false, "skip the per-block grid videos")
	f.BoolVar(&o.NoSheet, "no-contact-sheet", false, "skip the contact sheet")
	f.StringVar(&backend, "backend", "", "GoMLX backend (default $GOMLX_BACKEND, else go)")
	_ = cmd.MarkFlagRequired("store")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// parseViews parses a comma-separated view list.
func parseViews(s string) ([]cine.View, error) {
	var out []cine.View
	for _, v := range strings.Split(s, ",") {
		switch cv := cine.View(strings.ToUpper(strings.TrimSpace(v))); cv {
		case cine.View4CH, cine.View3CH, cine.View2CH, cine.ViewSAX:
			out = append(out, cv)
		default:
			return nil, fmt.Errorf("--views: %q is not 4CH, 3CH, 2CH or SAX", v)
		}
	}
	return out, nil
}

func newExplainUMAPCmd(a *app) *cobra.Command {
	var o explain.UMAPOptions
	cmd := &cobra.Command{
		Use:   "umap --embeddings E [--predictions P] [--labels index.csv --color-by COL] --out DIR",
		Short: "UMAP of embeddings (umap-learn's defaults, seeded): CSV coordinates and a scatter plot",
		Long: `umap projects embeddings to 2-D with UMAP (McInnes et al. 2018; cmrfm's own
implementation, checked against R's uwot) with umap-learn's defaults, as the
paper: 15 neighbours, min_dist 0.1, Euclidean distance, spectral
initialisation, 500 epochs up to 10,000 points and 200 above. One seed gives
one result, whatever --workers.

--embeddings takes cmrfm predict --embeddings' .npz (--array study_embedding,
view_embedding or study_pooled), a .npy [N, D] or a CSV of numbers.
--predictions is the predictions CSV of the same predict run: it names the
rows (study keys). --labels (a dataset index or a predictions CSV) and
--color-by COL colour the points by a column (up to 10 categories, or a
numeric scale).

Writes DIR/umap.csv (row, key, label, umap_1, umap_2), DIR/umap.png/.svg and
DIR/umap.json (parameters, timing, trustworthiness T(15) up to 5,000 points).`,
		Example: `  cmrfm explain umap --embeddings emb.npz --predictions preds/dcm/predictions.csv --labels store/index.csv --color-by dcm --out explain/umap`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Log = a.log
			o.UMAP.Workers = a.workers
			var bar *progress.Bar
			o.UMAP.Progress = func(stage string, done, total int) {
				if stage != "optimize" {
					return
				}
				if bar == nil {
					bar = progress.New(a.stderr, total, "umap", "epochs")
				}
				bar.Add(1)
			}
			r, err := explain.UMAP(cmd.Context(), o)
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "UMAP of %d points (%d-d, %s) in %.1f s", r.Points, r.Dim, r.Init, r.Seconds)
			if r.Trustworthiness != nil {
				fmt.Fprintf(a.stdout, ", trustworthiness(15) %.4f", *r.Trustworthiness)
			}
			fmt.Fprintln(a.stdout)
			for _, f := range r.Files {
				fmt.Fprintln(a.stdout, f)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Embeddings, "embeddings", "", "embeddings: predict --embeddings .npz, .npy or CSV")
	f.StringVar(&o.Array, "array", "", "array of the .npz (default study_embedding)")
	f.StringVar(&o.Predictions, "predictions", "", "predictions CSV of the same predict run (names the rows)")
	f.StringVar(&o.Labels, "labels", "", "CSV with the --color-by column (dataset index or predictions)")
	f.StringVar(&o.ColorBy, "color-by", "", "column to colour the points by")
	f.StringVar(&o.Out, "out", "", "output folder")
	f.IntVar(&o.UMAP.Neighbors, "n-neighbors", 15, "neighbours (the point itself included)")
	f.Float64Var(&o.UMAP.MinDist, "min-dist", 0.1, "minimum distance of the embedding")
	f.IntVar(&o.UMAP.Epochs, "epochs", 0, "optimisation epochs (0: 500 up to 10,000 points, else 200)")
	f.StringVar(&o.UMAP.Init, "init", "spectral", "initialisation: spectral or random")
	f.Uint64Var(&o.UMAP.Seed, "seed", 1, "random seed")
	_ = cmd.MarkFlagRequired("embeddings")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
