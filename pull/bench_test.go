package pull

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/internal/orthanctest"
	"github.com/cmrfm/cmrfm/phantom"
)

// BenchmarkPullVsArchive measures studies per minute from a local Orthanc:
// cmrfm pull (the series ingest uses; every series) against Orthanc's own
// ZIP download of each whole study (GET /studies/{id}/archive), one study
// at a time and four at a time, written to disk. Each round runs every
// method once, in turn, so a loaded machine slows them alike; the metrics
// are totals over the rounds (-benchtime Nx). CMRFM_PULL_BENCH_STUDIES sets
// the cohort size (default 8 phantom studies at the vendors' own matrix
// and frame counts). Reproduce with bench/pull/bench.sh.
func BenchmarkPullVsArchive(b *testing.B) {
	n := 8
	if v, err := strconv.Atoi(os.Getenv("CMRFM_PULL_BENCH_STUDIES")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	c, err := phantom.Generate(context.Background(), phantom.Options{Studies: n, Out: dir, Seed: 6, Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	s := orthanctest.Start(b, orthanctest.Options{})
	files := s.UploadDir(filepath.Join(dir, "dicom"))
	var uids, ids []string
	for _, st := range c.Studies {
		uids = append(uids, st.StudyInstanceUID)
		ids = append(ids, s.Lookup(st.StudyInstanceUID))
	}
	b.Logf("%d studies, %d instances, %.0f MB of DICOM in Orthanc %s", n, files, float64(dirSize(b, filepath.Join(dir, "dicom")))/1e6, s.URL)

	type method struct {
		name string
		run  func(out string) (int64, error) // bytes received
	}
	pull := func(all bool) func(string) (int64, error) {
		return func(out string) (int64, error) {
			o := Options{Server: pullOptions(b, s, out).Server, Out: out, Studies: uids, AllSeries: all, Transfers: 4}
			sum, err := Run(context.Background(), o)
			if err == nil && sum.Complete != n {
				err = fmt.Errorf("%d of %d studies", sum.Complete, n)
			}
			if sum == nil {
				return 0, err
			}
			return sum.Bytes, err
		}
	}
	archive := func(parallel int) func(string) (int64, error) {
		return func(out string) (int64, error) {
			os.MkdirAll(out, 0o700)
			var total int64
			var mu sync.Mutex
			errs := make(chan error, len(ids))
			sem := make(chan struct{}, parallel)
			var wg sync.WaitGroup
			for i, id := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					nb, err := download(s.URL+"/studies/"+id+"/archive", filepath.Join(out, fmt.Sprintf("%04d.zip", i)))
					mu.Lock()
					total += nb
					mu.Unlock()
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					return total, err
				}
			}
			return total, nil
		}
	}
	methods := []method{
		{"pull", pull(false)},
		{"pull-all-series", pull(true)},
		{"archive-1", archive(1)},
		{"archive-4", archive(4)},
	}
	elapsed := make([]time.Duration, len(methods))
	bytes := make([]int64, len(methods))
	b.ResetTimer()
	for round := 0; round < b.N; round++ {
		for i, m := range methods {
			out := filepath.Join(b.TempDir(), m.name)
			t0 := time.Now()
			nb, err := m.run(out)
			elapsed[i] += time.Since(t0)
			if err != nil {
				b.Fatalf("%s: %v", m.name, err)
			}
			bytes[i] += nb
			os.RemoveAll(out)
		}
	}
	b.StopTimer()
	b.Logf("%-16s %12s %10s %12s %8s", "method", "studies/min", "MB/s", "MB/round", "s/round")
	for i, m := range methods {
		sec := elapsed[i].Seconds()
		rate := float64(n*b.N) / (sec / 60)
		b.ReportMetric(rate, m.name+"-studies/min")
		b.Logf("%-16s %12.1f %10.1f %12.1f %8.2f", m.name, rate, float64(bytes[i])/1e6/sec, float64(bytes[i])/1e6/float64(b.N), sec/float64(b.N))
	}
}

// download GETs u into path and returns the bytes received.
func download(u, path string) (int64, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
