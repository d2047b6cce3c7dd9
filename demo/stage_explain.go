package demo

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/cmrfm/cmrfm/explain"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/finetune"
)

// stageExplain looks inside the finetune stage's model, as "cmrfm explain"
// would: attention heat-map videos of the first clips of one test study
// (every head of every block, the input, the rollout, a contact sheet),
// the relative view attention of the test split's predictions, and a UMAP
// of every clip's embedding coloured by view.
func stageExplain(ctx context.Context, r *Run) (Result, error) {
	ck := train.LastCheckpointPath(r.Path("finetune"))
	preds := r.Path("finetune", "test_predictions.csv")
	if !fileExists(ck) || !fileExists(preds) {
		return Result{Summary: "skipped: no fine-tuned model (the finetune stage writes " + ck + ")"}, nil
	}
	store := r.Path("store")
	out := r.Path("explain")
	att, err := explain.Attention(ctx, explain.AttentionOptions{ModelOptions: explain.ModelOptions{Checkpoint: ck}, Store: store,
		Split: "test", Limit: 1, MaxClips: 2, Out: filepath.Join(out, "attention"), Workers: r.Opts.Workers, Log: r.Log})
	if err != nil {
		return Result{}, err
	}
	if len(att.Clips) == 0 {
		return Result{}, fmt.Errorf("no clip explained: %+v", att.Failures)
	}
	views, err := explain.Views(ctx, explain.ViewsOptions{Predictions: []string{preds}, Target: "lvef", Out: filepath.Join(out, "views"),
		ViewOptions: explain.ViewOptions{Bootstrap: 500, Seed: uint64(r.Opts.Seed)}})
	if err != nil {
		return Result{}, err
	}
	clips, emb := filepath.Join(out, "clips.csv"), filepath.Join(out, "embeddings.npz")
	if _, err := finetune.Predict(ctx, finetune.PredictOptions{Checkpoint: ck, Store: store, Clips: clips, Embeddings: emb,
		Workers: r.Opts.Workers, Log: r.Log}); err != nil {
		return Result{}, err
	}
	u, err := explain.UMAP(ctx, explain.UMAPOptions{Embeddings: emb, Array: explain.ArrayView, Labels: clips, ColorBy: "views",
		Out: filepath.Join(out, "umap")})
	if err != nil {
		return Result{}, err
	}
	c := att.Clips[0]
	f := c.Files
	path := func(name string) string { return att.Path(c, name) }
	sum := fmt.Sprintf("attention videos of %d clips of study %s (%d heads each, %s), view attention of %d test studies, UMAP of %d clip embeddings by view",
		len(att.Clips), c.Study, att.Heads, att.Format, views.Studies["lvef"], u.Points)
	outs := []string{att.Manifest, path(f.ContactSheet), path(f.Input), path(f.Rollout), path(f.Heads[len(f.Heads)-1][0])}
	outs = append(outs, views.Files...)
	outs = append(outs, u.Files...)
	return Result{Summary: sum, Outputs: outs}, nil
}
