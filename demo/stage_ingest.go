package demo

import (
	"context"
	"fmt"
	"os"

	"github.com/cmrfm/cmrfm/ingest"
)

// demoSalt is the demo's fixed de-identification salt (phantom data only;
// real archives get a random salt kept beside the store).
const demoSalt = "0d3e5c9a7b1f4e2d8c6a0b9e7f3d1c5a"

// stageIngest ingests the phantom cohort (or --input) into the study store
// store/, with the phantom's reports and labels written de-identified beside
// it, as "cmrfm ingest" would. Like the learning proofs, the demo keeps the
// frames at their acquired size and one channel (--frames original
// --channels 1); the CLI's default is the reference's 360×360 × 3.
func stageIngest(ctx context.Context, r *Run) (Result, error) {
	cfg := ingest.Config{
		Inputs:   []string{r.Path("phantom", "dicom")},
		Out:      r.Path("store"),
		Site:     "demo",
		Workers:  r.Opts.Workers,
		Frames:   "original",
		Channels: 1,
	}
	if r.Opts.Input != "" {
		cfg.Inputs = []string{r.Opts.Input}
	} else {
		cfg.Reports = r.Path("phantom", "reports.jsonl")
		cfg.Labels = r.Path("phantom", "labels.csv")
	}
	// The demo starts from scratch each time: a new cohort, a new store.
	if err := os.RemoveAll(cfg.Out); err != nil {
		return Result{}, err
	}
	if r.Opts.Input == "" {
		// A fixed de-identification salt: the same seed gives the same
		// study keys, splits and numbers on every run.
		cfg.Salt = demoSalt
	}
	sum, err := ingest.Run(ctx, cfg, r.Log, r.Opts.Progress)
	if err != nil {
		return Result{}, err
	}
	if sum.OK == 0 {
		return Result{}, fmt.Errorf("no study could be ingested (%d studies: %d without usable views, %d failed; see %s)",
			sum.Studies, sum.NoViews, sum.Failed, sum.Manifest)
	}
	outs := []string{cfg.Out, sum.Manifest, sum.Index}
	if sum.Reports != "" {
		outs = append(outs, sum.Reports)
	}
	return Result{
		Summary: fmt.Sprintf("ingested %d studies into the de-identified HDF5 store (%d views; %d without usable views, %d failed)",
			sum.OK, sum.Views, sum.NoViews, sum.Failed),
		Outputs: outs,
	}, nil
}
