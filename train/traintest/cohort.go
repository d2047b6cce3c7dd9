package traintest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/phantom"
)

// Cohort says what phantom store PhantomStore builds: Studies phantom
// studies of Matrix columns and Frames frames per cycle, from Seed;
// Reports also writes the de-identified reports (reports.jsonl).
type Cohort struct {
	Studies, Matrix, Frames int
	Seed                    int64
	Reports                 bool
}

// PhantomStore builds a study store the way a user builds one: phantom
// DICOM (multi-frame) under dir/phantom, then ingest into dir/store at the
// original size, one channel, a fixed salt and the phantom's labels (and
// splits) in index.csv. Every study must be written.
func PhantomStore(t testing.TB, dir string, c Cohort) *ingest.Summary {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ph := filepath.Join(dir, "phantom")
	if _, err := phantom.Generate(ctx, phantom.Options{Studies: c.Studies, Out: ph, Seed: c.Seed,
		Workers: 2, Matrix: c.Matrix, Frames: c.Frames, MultiFrame: true, Log: log}); err != nil {
		t.Fatal(err)
	}
	cfg := ingest.Config{Inputs: []string{filepath.Join(ph, "dicom")}, Out: filepath.Join(dir, "store"),
		Site: "test", Workers: 2, Frames: "original", Channels: 1, Salt: "00112233445566778899aabbccddeeff",
		Labels: filepath.Join(ph, "labels.csv")}
	if c.Reports {
		cfg.Reports = filepath.Join(ph, "reports.jsonl")
	}
	sum, err := ingest.Run(ctx, cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.OK != c.Studies {
		t.Fatalf("ingest: %d of %d studies ok", sum.OK, c.Studies)
	}
	return sum
}
