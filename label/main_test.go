package label

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/phantom"
)

var sharedDir string

func TestMain(m *testing.M) {
	var err error
	if sharedDir, err = os.MkdirTemp("", "cmrfm-label-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(sharedDir)
	os.Exit(code)
}

// cohort is a phantom cohort ingested the way a user does it: DICOM,
// reports and labels in; a store with index.csv (the phantom's labels
// joined) and reports.jsonl (keyed like index.csv) out.
type cohort struct {
	phantomReports, phantomLabels string // keyed by AccessionNumber
	store                         string
}

var (
	cohortOnce sync.Once
	theCohort  *cohort
)

// sharedCohort builds 48 phantom studies (small matrices: the images only
// need to ingest and train for a step or two) once per test binary.
func sharedCohort(t *testing.T) *cohort {
	t.Helper()
	cohortOnce.Do(func() {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		dir := filepath.Join(sharedDir, "cohort")
		t0 := time.Now()
		if _, err := phantom.Generate(ctx, phantom.Options{Studies: 48, Out: filepath.Join(dir, "phantom"), Seed: 11, Workers: 2,
			Matrix: 40, Frames: 16, MultiFrame: true, Log: log}); err != nil {
			t.Error(err)
			return
		}
		c := &cohort{phantomReports: filepath.Join(dir, "phantom", "reports.jsonl"), phantomLabels: filepath.Join(dir, "phantom", "labels.csv"),
			store: filepath.Join(dir, "store")}
		sum, err := ingest.Run(ctx, ingest.Config{Inputs: []string{filepath.Join(dir, "phantom", "dicom")}, Out: c.store, Site: "test",
			Workers: 2, Frames: "original", Channels: 1, Salt: "00112233445566778899aabbccddeeff",
			Labels: c.phantomLabels, Reports: c.phantomReports}, log, nil)
		if err != nil {
			t.Error(err)
			return
		}
		if sum.OK != 48 {
			t.Errorf("ingest: %d of 48 studies", sum.OK)
			return
		}
		t.Logf("cohort: 48 phantom studies generated and ingested in %s", time.Since(t0).Round(time.Millisecond))
		theCohort = c
	})
	if theCohort == nil {
		t.Fatal("cohort build failed")
	}
	return theCohort
}
