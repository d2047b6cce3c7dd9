package demo

import (
	"context"
	"fmt"
	"os"

	"github.com/cmrfm/cmrfm/report"
)

// stageReport writes the demo's HTML report (report.html), as "cmrfm
// report" would: the cohort, each task's tables and figures, the training
// curves of every run, the explain outputs when there are some, and the
// provenance.
func stageReport(_ context.Context, r *Run) (Result, error) {
	o := report.HTMLOptions{Out: r.Path("report.html"), Title: "cmrfm demo report", Store: r.Path("store"),
		ModelName: "cmrfm", Command: []string{"cmrfm", "demo", "--out", r.Opts.Out}}
	if r.Opts.Quick {
		o.Title += " (quick smoke test: too small to learn)"
	}
	if p := r.Path("pretrain"); fileExists(p) {
		o.Runs = append(o.Runs, p)
	}
	for _, t := range r.tasks {
		o.Runs = append(o.Runs, t.run)
		o.Predictions = append(o.Predictions, t.target+"="+t.preds)
	}
	if p := r.Path("explain"); fileExists(p) {
		o.Explain = p
	}
	if len(o.Runs) == 0 && len(o.Predictions) == 0 {
		return Result{Summary: "skipped: nothing to report", Skipped: true}, nil
	}
	p, err := report.WriteHTML(o)
	if err != nil {
		return Result{}, err
	}
	r.report = o.Out
	return Result{Summary: fmt.Sprintf("wrote the HTML report (%d tasks, %d runs): open it in a browser", len(p.Tasks), len(p.Runs)),
		Outputs: []string{o.Out}}, nil
}

func mkdir(p string) error { return os.MkdirAll(p, 0o755) }
