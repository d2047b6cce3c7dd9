package demo

import (
	"context"
	"fmt"
	"os"

	"github.com/cmrfm/cmrfm/store"
)

// stageStore verifies the study store written by the ingest stage.
func stageStore(ctx context.Context, r *Run) (Result, error) {
	root := r.Path("store")
	if _, err := os.Stat(root); err != nil {
		return Result{Summary: "skipped: no study store yet (the ingest stage writes " + root + ")"}, nil
	}
	var views int
	ok, bad, err := store.Verify(ctx, root, r.Opts.Workers, func(fr store.FileReport) {
		views += len(fr.Views)
		if !fr.OK() {
			r.Log.Error("bad study file", "file", fr.Path, "err", fr.Err)
		}
	})
	if err != nil {
		return Result{}, err
	}
	if bad > 0 {
		return Result{}, fmt.Errorf("%d of %d study files failed verification", bad, ok+bad)
	}
	return Result{
		Summary: fmt.Sprintf("verified %d study files (%d views) in the HDF5 store", ok, views),
		Outputs: []string{root},
	}, nil
}
