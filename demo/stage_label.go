package demo

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/cmrfm/cmrfm/label"
)

// stageLabel labels the ingested reports with the built-in phantom rules
// (label/rules.csv) and measures them against the phantom's true labels
// that ingest joined into store/index.csv (label/agree.csv), as "cmrfm
// label rules" and "cmrfm label agree" would.
func stageLabel(ctx context.Context, r *Run) (Result, error) {
	in := r.Path("store", "reports.jsonl")
	if _, err := os.Stat(in); err != nil {
		return Result{Summary: "skipped: no reports (the ingest stage writes " + in + " when the cohort has reports)"}, nil
	}
	out := r.Path("label", "rules.csv")
	s, err := label.RunRules(ctx, label.RulesRun{Reports: in, Rules: "builtin:phantom", Out: out})
	if err != nil {
		return Result{}, err
	}
	agree := r.Path("label", "agree.csv")
	as, err := label.RunAgree(label.AgreeRun{Pred: out, Truth: r.Path("store", "index.csv"), Out: agree})
	if err != nil {
		return Result{Summary: fmt.Sprintf("labelled %d reports (%d failed); no agreement: %v", s.Reports, s.Failed, err), Outputs: []string{out}}, nil
	}
	var ks []string
	for _, a := range as {
		ks = append(ks, fmt.Sprintf("%s %.2f", a.Label, a.Kappa))
	}
	return Result{
		Summary: fmt.Sprintf("labelled %d reports with the phantom rules (%d failed); Cohen's kappa against the true labels: %s",
			s.Reports, s.Failed, strings.Join(ks, ", ")),
		Outputs: []string{out, agree},
	}, nil
}
