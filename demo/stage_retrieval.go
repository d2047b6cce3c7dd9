package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/cmrfm/cmrfm/retrieval"
	"github.com/cmrfm/cmrfm/stats"
)

// stageRetrieval uses the pretrain stage's checkpoint as a search engine,
// as "cmrfm embed", "cmrfm search", "cmrfm zeroshot" and "cmrfm evaluate
// retrieval" would: it embeds every study and report of the demo store,
// searches with a sentence, scores the phantom labels zero-shot and
// measures text↔video retrieval on the test split (docs/retrieval.md).
func stageRetrieval(ctx context.Context, r *Run) (Result, error) {
	ckpt := r.Path("pretrain", "checkpoints", "last.safetensors")
	if _, err := os.Stat(ckpt); err != nil {
		return Result{Summary: "skipped: no pretraining checkpoint (the pretrain stage writes " + ckpt + ")", Skipped: true}, nil
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
	// The test split, or every study when it is too small to rank (the quick demo).
	split := "test"
	ev, err := retrieval.EvaluateRetrieval(f, "demo", retrieval.RetrievalOptions{Split: split})
	if err != nil {
		split = "all"
		if ev, err = retrieval.EvaluateRetrieval(f, "demo", retrieval.RetrievalOptions{}); err != nil {
			return Result{}, err
		}
	}
	zs := r.Path("retrieval", "zeroshot")
	z, err := retrieval.ZeroShot(ctx, retrieval.ZeroShotOptions{Embeddings: emb, File: f, Labels: r.Path("store", "index.csv"),
		Prompts: "builtin:phantom", Targets: []string{"dcm", "hcm"}, Split: split, Out: zs, Log: r.Log})
	if err != nil {
		return Result{}, err
	}
	sum := fmt.Sprintf("embedded %d studies and %d reports; %q → nearest study %s (cosine %.2f); "+split+" split (%d studies): "+
		"zero-shot AUROC%s; text→video R@1 %.3f, R@10 %.3f, median rank %g (chance %.3f, %.3f, %g)",
		es.Studies, es.Reports, query, res.Studies[0].Key, res.Studies[0].Score, ev.Pairs, zeroShotAUCs(z),
		ev.TextToVideo[0], ev.TextToVideo[2], ev.MedianRankT2V, ev.Chance[0], ev.Chance[2], ev.ChanceMedian)
	return Result{Summary: sum, Outputs: append([]string{emb}, z.Files...)}, nil
}

// zeroShotAUCs formats each target's AUROC of the zero-shot scores (higher
// score = label present).
func zeroShotAUCs(z *retrieval.ZeroShotSummary) string {
	out := ""
	for j, t := range z.Targets {
		var scores []float64
		var labels []bool
		for i, p := range z.Predictions {
			if math.IsNaN(p.Labels[j]) {
				continue
			}
			scores, labels = append(scores, z.Scores[i][j]), append(labels, p.Labels[j] == 1)
		}
		roc, err := stats.NewROC(scores, labels, stats.Less)
		if err != nil {
			out += fmt.Sprintf(" %s n/a (%v)", t, err)
			continue
		}
		out += fmt.Sprintf(" %s %.3f", t, roc.AUC())
	}
	return out
}
