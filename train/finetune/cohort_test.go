package finetune

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/phantom"
	"github.com/cmrfm/cmrfm/store"
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
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t0 := time.Now()
	if _, err := phantom.Generate(ctx, phantom.Options{Studies: n, Out: filepath.Join(dir, "phantom"), Seed: seed,
		Workers: 2, Matrix: matrix, Frames: frames, MultiFrame: true, Log: log}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "store")
	sum, err := ingest.Run(ctx, ingest.Config{Inputs: []string{filepath.Join(dir, "phantom", "dicom")}, Out: root,
		Site: "test", Workers: 2, Frames: "original", Channels: 1, Salt: "00112233445566778899aabbccddeeff",
		Labels: filepath.Join(dir, "phantom", "labels.csv")}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.OK != n {
		t.Fatalf("ingest: %d of %d studies ok", sum.OK, n)
	}
	idx, err := ReadIndex(root, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cohort: %d studies (matrix %d, %d frames) in %s", n, matrix, frames, time.Since(t0).Round(time.Millisecond))
	return &cohort{Root: root, Index: idx}
}
