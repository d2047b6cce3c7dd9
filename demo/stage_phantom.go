package demo

import (
	"context"
	"fmt"

	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/phantom"
)

// The demo's cohort is the size of the learning proofs' (docs/finetune.md):
// 48-pixel matrices and 16 phases per cycle, one Enhanced MR multi-frame
// file per series, so hundreds of studies take seconds. Every other property
// (vendors, series, reports, labels, truth) is that of the CLI's default.
const (
	demoMatrix = 48
	demoFrames = 16
)

// stagePhantom writes the built-in synthetic cohort to phantom/ (DICOM
// studies, reports.jsonl, labels.csv, truth.json), as "cmrfm phantom" would.
// It is skipped when the demo runs on the user's own DICOM (--input).
func stagePhantom(ctx context.Context, r *Run) (Result, error) {
	if r.Opts.Input != "" {
		return Result{Summary: "skipped: using your DICOM studies (--input)", Skipped: true}, nil
	}
	out := r.Path("phantom")
	n := r.Opts.Studies
	bar := progress.New(r.Opts.Progress, n, "phantom", " studies")
	defer bar.Finish()
	c, err := phantom.Generate(ctx, phantom.Options{Studies: n, Out: out, Seed: r.Opts.Seed, Workers: r.Opts.Workers,
		Matrix: demoMatrix, Frames: demoFrames, MultiFrame: true, Overwrite: true, Log: r.Log,
		Progress: func(_, _ int) { bar.Add(1) }})
	if err != nil {
		return Result{}, err
	}
	counts := map[phantom.Phenotype]int{}
	files := 0
	for _, st := range c.Studies {
		counts[st.Phenotype]++
		for _, se := range st.Series {
			files += se.Files
		}
	}
	return Result{
		Summary: fmt.Sprintf("generated %d synthetic studies (%d DICOM files; normal %d, dcm %d, hcm %d, infarct %d, effusion %d) with reports, labels and ground truth",
			len(c.Studies), files, counts[phantom.Normal], counts[phantom.DCM], counts[phantom.HCM], counts[phantom.Infarct], counts[phantom.Effusion]),
		Outputs: []string{r.Path("phantom", "dicom"), r.Path("phantom", "reports.jsonl"), r.Path("phantom", "labels.csv"), r.Path("phantom", "truth.json")},
	}, nil
}
