package demo

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/stats"
	"github.com/cmrfm/cmrfm/stats/evaluate"
	"github.com/cmrfm/cmrfm/train/finetune"
)

// stageEvaluate computes the paper's statistics on each task's test-split
// predictions, as "cmrfm evaluate" would, writing its CSVs under evaluate/,
// and compares LVEF with predicting the training split's mean.
func stageEvaluate(_ context.Context, r *Run) (Result, error) {
	if len(r.tasks) == 0 {
		return Result{Summary: "skipped: no fine-tuned model", Skipped: true}, nil
	}
	idx, err := finetune.ReadIndex(r.Path("store"), "")
	if err != nil {
		return Result{}, err
	}
	var sums, outs []string
	write := func(name string, fn func(io.Writer) error) error {
		p := r.Path("evaluate", name)
		outs = append(outs, p)
		return fsutil.WriteFileAtomic(p, fn)
	}
	if err := mkdir(r.Path("evaluate")); err != nil {
		return Result{}, err
	}
	for i := range r.tasks {
		t := &r.tasks[i]
		tb, err := evaluate.ReadTable(t.preds)
		if err != nil {
			return Result{}, err
		}
		if note := tb.TooFew("labels", t.kind == "classification"); note != "" {
			sums = append(sums, t.target+" on the test split: "+note)
			continue
		}
		switch t.kind {
		case "regression":
			rep, err := evaluate.Regress(evaluate.RegOptions{Pred: t.preds, Target: t.target})
			if err != nil {
				return Result{}, err
			}
			m := rep.Targets[0].Pretrained
			var mean float64
			n := 0
			for _, row := range idx.Filter("train") {
				if v, ok := row.Float(t.target); ok {
					mean += v
					n++
				}
			}
			mean /= float64(max(n, 1))
			base := make([]float64, len(m.Truth))
			for j := range base {
				base[j] = mean
			}
			t.n, t.mae, t.r, t.baseMAE = m.N, m.MAE, m.Pearson, stats.MAE(base, m.Truth)
			sums = append(sums, fmt.Sprintf("%s MAE %.2f points, r %.2f (predicting the train mean: MAE %.2f; ratio %.2f) on %d test studies",
				t.target, t.mae, t.r, t.baseMAE, t.mae/t.baseMAE, t.n))
			if err := write(t.target+"_results.csv", rep.WriteResults); err != nil {
				return Result{}, err
			}
		case "classification":
			rep, err := evaluate.Classify(evaluate.ClassOptions{Pred: t.preds, Target: t.target})
			if err != nil {
				return Result{}, err
			}
			m := rep.Targets[0].Pretrained
			t.n, t.auc, t.lo, t.hi, t.positives = m.N, m.AUC, m.Lower, m.Upper, m.Positives
			sums = append(sums, fmt.Sprintf("%s AUROC %.3f [95 %% CI %.3f, %.3f] on %d test studies (%d with %s)",
				t.target, t.auc, t.lo, t.hi, t.n, t.positives, t.target))
			if err := write(t.target+"_results.csv", rep.WriteResults); err != nil {
				return Result{}, err
			}
			if err := write(t.target+"_thresholds.csv", rep.WriteThresholds); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{Summary: strings.Join(sums, "; "), Outputs: outs}, nil
}
