package demo

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cmrfm/cmrfm/retrieval"
)

// stageRetrieval uses the pretrain stage's checkpoint as a search engine,
// as "cmrfm embed", "cmrfm search", "cmrfm zeroshot" and "cmrfm evaluate
// retrieval" would: it embeds every study and report of the demo store,
// searches with a sentence, scores the phantom labels zero-shot and
// measures text↔video retrieval (docs/retrieval.md). The demo's few
// updates are far too short to learn; the numbers show the plumbing.
func stageRetrieval(ctx context.Context, r *Run) (Result, error) {
	ckpt := r.Path("pretrain", "checkpoints", "last.safetensors")
	if _, err := os.Stat(ckpt); err != nil {
		return Result{Summary: "skipped: no pretraining checkpoint (the pretrain stage writes " + ckpt + ")"}, nil
	}
	emb := r.Path("retrieval", "emb.h5")
	if err := os.RemoveAll(r.Path("retrieval")); err != nil { // a fresh run each time
		return Result{}, err
	}
	if err := os.MkdirAll(r.Path("retrieval"), 0o755); err != nil {
		return Result{}, err
	}
	es, err := retrieval.Embed(ctx, retrieval.EmbedOptions{Checkpoint: ckpt, Store: r.Path("store"),
		Reports: r.Path("text", "reports.json"), Out: emb, Batch: 4, Workers: r.Opts.Workers, Log: r.Log})
	if err != nil && !errors.Is(err, retrieval.ErrPartial) {
		return Result{}, err
	}
	f, err := retrieval.ReadFile(emb)
	if err != nil {
		return Result{}, err
	}
	s, err := retrieval.NewSearcher(retrieval.SearchOptions{Embeddings: emb, File: f, Log: r.Log})
	if err != nil {
		return Result{}, err
	}
	const query = "Dilated left ventricle with severely reduced systolic function."
	res, err := s.Text(query, 3)
	if err != nil {
		return Result{}, err
	}
	zs := r.Path("retrieval", "zeroshot")
	z, err := retrieval.ZeroShot(ctx, retrieval.ZeroShotOptions{Embeddings: emb, File: f, Labels: r.Path("store", "index.csv"),
		Prompts: "builtin:phantom", Targets: []string{"dcm", "hcm"}, Out: zs, Log: r.Log})
	if err != nil {
		return Result{}, err
	}
	ev, err := retrieval.EvaluateRetrieval(f, "demo", retrieval.RetrievalOptions{})
	if err != nil {
		return Result{}, err
	}
	sum := fmt.Sprintf("embedded %d studies and %d reports; %q → nearest study %s (cosine %.2f); zero-shot dcm/hcm for %d studies; "+
		"retrieval R@1 text→video %.2f video→text %.2f (chance %.2f)", es.Studies, es.Reports, query, res.Studies[0].Key,
		res.Studies[0].Score, z.Studies, ev.TextToVideo[0], ev.VideoToText[0], ev.Chance[0])
	return Result{Summary: sum, Outputs: append([]string{emb}, z.Files...)}, nil
}
