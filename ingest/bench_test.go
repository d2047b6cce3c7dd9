package ingest

import (
	"path/filepath"
	"testing"
)

// BenchmarkIngestPhantom ingests an 8-study phantom cohort (one DICOM file
// per frame, vendor matrices, reference 480→360 frames) with one worker.
func BenchmarkIngestPhantom(b *testing.B) {
	_, d := cohort(b, 8, 51, false)
	for b.Loop() {
		out := filepath.Join(b.TempDir(), "store")
		cfg := testConfig(out, filepath.Join(d, "dicom"))
		cfg.Workers = 1
		cfg.Frames = "reference"
		if _, err := Run(b.Context(), cfg, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(8*b.N)/b.Elapsed().Seconds(), "studies/s")
}
