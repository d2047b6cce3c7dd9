package pretrain

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/text"
	"github.com/cmrfm/cmrfm/train/traintest"
)

// cohort is a phantom store with its report index, built the way a user
// would: phantom DICOM → ingest → text index.
type cohort struct {
	Root    string
	Index   *store.Index
	Reports *text.Index
}

// buildCohort generates n phantom studies (matrix columns, frames per
// cycle), ingests them at their original size and indexes their reports.
func buildCohort(t testing.TB, dir string, n, matrix, frames int, seed int64) *cohort {
	t.Helper()
	t0 := time.Now()
	sum := traintest.PhantomStore(t, dir, traintest.Cohort{Studies: n, Matrix: matrix, Frames: frames, Seed: seed, Reports: true})
	root := filepath.Dir(sum.Index)
	t2 := time.Now()
	tok, err := text.Load("builtin:pubmedbert")
	if err != nil {
		t.Fatal(err)
	}
	reports, err := text.BuildIndexFile(sum.Reports, tok, text.IndexOptions{KeyColumn: "study_key", TextColumn: "text", VocabName: "builtin:pubmedbert"})
	if err != nil {
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
	t.Logf("cohort of %d studies (matrix %d, %d frames): phantom and ingest %s, text %s", n, matrix, frames,
		t2.Sub(t0).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond))
	return &cohort{Root: root, Index: idx, Reports: reports}
}

var (
	sharedOnce   sync.Once
	sharedCohort *cohort
	sharedDir    string
)

// testCohort is the package's shared phantom cohort: 48 studies, matrix 48
// (rows follow the vendor's field of view), 16 frames per cycle, single
// channel, built once (≈3 s) and removed by TestMain.
func testCohort(t testing.TB) *cohort {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cmrfm-pretrain-test-")
		if err != nil {
			t.Fatal(err)
		}
		sharedDir = dir
		sharedCohort = buildCohort(t, dir, 48, 48, 16, 1)
	})
	if sharedCohort == nil {
		t.Fatal("shared cohort could not be built (see the first failure)")
	}
	return sharedCohort
}

func TestMain(m *testing.M) {
	// A training process of TestKillMidStepAndResume.
	traintest.ChildMain(func(config string, resume bool) error {
		c, err := ParseConfig([]byte(config), Config{}, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		_, err = Run(context.Background(), c, RunOptions{Resume: resume})
		return err
	})
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}
