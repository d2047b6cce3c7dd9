package cohorttest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/phantom"
	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/text"
)

// Cohort is a phantom store with its dataset index and report index.
type Cohort struct {
	// Root is the store; IndexPath its index.csv; ReportsPath the report
	// index JSON (cmrfm text index output).
	Root, IndexPath, ReportsPath string
	Index                        *store.Index
	Reports                      *text.Index
}

// Build generates n phantom studies (matrix columns, frames per cycle,
// seed) under dir, ingests them at their original size with one channel
// and indexes their reports with the built-in PubMedBERT vocabulary.
func Build(t testing.TB, dir string, n, matrix, frames int, seed int64) *Cohort {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := phantom.Generate(ctx, phantom.Options{Studies: n, Out: filepath.Join(dir, "phantom"), Seed: seed,
		Workers: 2, Matrix: matrix, Frames: frames, MultiFrame: true, Log: log}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "store")
	sum, err := ingest.Run(ctx, ingest.Config{Inputs: []string{filepath.Join(dir, "phantom", "dicom")}, Out: root,
		Site: "test", Workers: 2, Frames: "original", Channels: 1, Salt: "00112233445566778899aabbccddeeff",
		Reports: filepath.Join(dir, "phantom", "reports.jsonl"), Labels: filepath.Join(dir, "phantom", "labels.csv")}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.OK != n {
		t.Fatalf("cohorttest: ingest: %d of %d studies ok", sum.OK, n)
	}
	tok, err := text.Load("builtin:pubmedbert")
	if err != nil {
		t.Fatal(err)
	}
	reports, err := text.BuildIndexFile(sum.Reports, tok, text.IndexOptions{KeyColumn: "study_key", TextColumn: "text", VocabName: "builtin:pubmedbert"})
	if err != nil {
		t.Fatal(err)
	}
	rp := filepath.Join(dir, "reports.json")
	if err := reports.WriteFile(rp); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(sum.Index)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	idx, err := store.ReadIndex(f)
	if err != nil {
		t.Fatal(err)
	}
	return &Cohort{Root: root, IndexPath: sum.Index, ReportsPath: rp, Index: idx, Reports: reports}
}
