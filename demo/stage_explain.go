package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cmrfm/cmrfm/explain"
	"github.com/cmrfm/cmrfm/explain/umap"
	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/finetune"
)

// stageExplain looks inside the fine-tuned models, as "cmrfm explain"
// would, writing under explain/ the folders the HTML report reads:
// attention/ — heat-map videos of the first clips of one test study for
// the first task's model (every head of every block, the input, the
// rollout, a contact sheet); views/ — the relative view attention of every
// task's test predictions (the paper's Figure 4c); umap/ — a UMAP of the
// last task's study embeddings over the whole cohort, coloured by its
// target.
func stageExplain(ctx context.Context, r *Run) (Result, error) {
	if len(r.tasks) == 0 {
		return Result{Summary: "skipped: no fine-tuned model", Skipped: true}, nil
	}
	store, out := r.Path("store"), r.Path("explain")
	first := r.tasks[0]
	att, err := explain.Attention(ctx, explain.AttentionOptions{ModelOptions: explain.ModelOptions{Checkpoint: train.LastCheckpointPath(first.run)},
		Store: store, Split: "test", Limit: 1, MaxClips: 2, Out: filepath.Join(out, "attention"), Workers: r.Opts.Workers, Log: r.Log})
	if err != nil {
		return Result{}, err
	}
	if len(att.Clips) == 0 {
		return Result{}, fmt.Errorf("no clip explained: %+v", att.Failures)
	}
	var preds []string
	for _, t := range r.tasks {
		preds = append(preds, t.preds)
	}
	var views *explain.ViewsSummary
	if len(preds) == 1 {
		views, err = explain.Views(ctx, explain.ViewsOptions{Predictions: preds, Target: first.target, Out: filepath.Join(out, "views"),
			ViewOptions: explain.ViewOptions{Bootstrap: 500, Seed: uint64(r.Opts.Seed)}})
	} else {
		// One folder per target, as cmrfm predict writes for several targets.
		dir := filepath.Join(out, "predictions")
		for _, t := range r.tasks {
			if err := copyFile(t.preds, filepath.Join(dir, t.target, "predictions.csv")); err != nil {
				return Result{}, err
			}
		}
		views, err = explain.Views(ctx, explain.ViewsOptions{Predictions: []string{dir}, Out: filepath.Join(out, "views"),
			ViewOptions: explain.ViewOptions{Bootstrap: 500, Seed: uint64(r.Opts.Seed)}})
	}
	if err != nil {
		return Result{}, err
	}
	last := r.tasks[len(r.tasks)-1]
	studies, emb := filepath.Join(out, "embeddings", "predictions.csv"), filepath.Join(out, "embeddings", "embeddings.npz")
	if _, err := finetune.Predict(ctx, finetune.PredictOptions{Checkpoint: train.LastCheckpointPath(last.run), Store: store, Out: studies,
		Embeddings: emb, Workers: r.Opts.Workers, Log: r.Log}); err != nil {
		return Result{}, err
	}
	u, err := explain.UMAP(ctx, explain.UMAPOptions{Embeddings: emb, Predictions: studies, Labels: filepath.Join(store, "index.csv"),
		ColorBy: last.target, Out: filepath.Join(out, "umap"), UMAP: umapOptions(r)})
	if err != nil {
		return Result{}, err
	}
	c := att.Clips[0]
	f := c.Files
	path := func(name string) string { return att.Path(c, name) }
	sum := fmt.Sprintf("%s model: attention videos of %d clips of test study %s (%d heads each, %s); view attention of %d targets' test predictions; UMAP of %d studies' %s-model embeddings by %s",
		first.target, len(att.Clips), c.Study, att.Heads, att.Format, len(views.Studies), u.Points, last.target, last.target)
	if u.Trustworthiness != nil {
		sum += fmt.Sprintf(" (trustworthiness %.3f)", *u.Trustworthiness)
	}
	outs := []string{att.Manifest, path(f.ContactSheet), path(f.Input), path(f.Rollout), path(f.Heads[len(f.Heads)-1][0])}
	outs = append(outs, views.Files...)
	outs = append(outs, u.Files...)
	return Result{Summary: sum, Outputs: outs}, nil
}

// umapOptions are the UMAP's parameters: umap-learn's defaults, seeded by
// the demo's seed.
func umapOptions(r *Run) umap.Options {
	return umap.Options{Seed: uint64(r.Opts.Seed), Workers: r.Opts.Workers}
}

// copyFile copies src to dst (creating dst's folder), atomically.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(dst, func(w io.Writer) error { _, err := w.Write(b); return err })
}
