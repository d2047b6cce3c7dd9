package finetune

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/train/traintest"
)

// cohort is a phantom store built the way a user builds one: phantom
// DICOM → ingest (index.csv with the phantom's labels and splits).
type cohort struct {
	Root  string
	Index *store.Index
}

// buildCohort generates n phantom studies (matrix columns, frames per
// cycle) and ingests them at their original size, one channel.
func buildCohort(t testing.TB, n, matrix, frames int, seed int64) *cohort {
	t.Helper()
	return buildCohortIn(t, t.TempDir(), n, matrix, frames, seed)
}

// buildCohortIn builds the cohort under dir.
func buildCohortIn(t testing.TB, dir string, n, matrix, frames int, seed int64) *cohort {
	t.Helper()
	t0 := time.Now()
	sum := traintest.PhantomStore(t, dir, traintest.Cohort{Studies: n, Matrix: matrix, Frames: frames, Seed: seed})
	root := filepath.Dir(sum.Index)
	idx, err := ReadIndex(root, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cohort: %d studies (matrix %d, %d frames) in %s", n, matrix, frames, time.Since(t0).Round(time.Millisecond))
	return &cohort{Root: root, Index: idx}
}
