package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as an ingest process that the resume
// test can kill with SIGKILL.
func TestMain(m *testing.M) {
	if cfg := os.Getenv("CMRFM_INGEST_CHILD"); cfg != "" {
		var c Config
		if err := json.Unmarshal([]byte(cfg), &c); err != nil {
			panic(err)
		}
		n := 0
		if os.Getenv("CMRFM_INGEST_PAUSE") != "" {
			testHookUnitLogged = func() {
				if n++; n == 3 {
					os.WriteFile(filepath.Join(c.Out, "child-paused"), nil, 0o644)
					select {} // wait here to be killed, mid-run
				}
			}
		}
		if _, err := Run(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)), nil); err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKillAndResume: an ingest killed with SIGKILL mid-run and started again
// ends with exactly the store of an uninterrupted run.
func TestKillAndResume(t *testing.T) {
	_, d := cohort(t, 8, 41, false)
	in := filepath.Join(d, "dicom")

	ref := filepath.Join(t.TempDir(), "store")
	cfg := testConfig(ref, in)
	cfg.Workers = 1
	run(t, cfg, nil)
	want := storeDigest(t, ref)

	out := filepath.Join(t.TempDir(), "store")
	cfg.Out = out
	b, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CMRFM_INGEST_CHILD="+string(b), "CMRFM_INGEST_PAUSE=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it after its third unit (it waits there; other workers may be
	// in the middle of a study).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(out, "child-paused")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child made no progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child was not killed")
	}
	os.Remove(filepath.Join(out, "child-paused"))
	got := storeDigest(t, out)
	if len(got) >= len(want) {
		t.Fatalf("killed after all %d studies were written", len(got))
	}
	// Damage a finished output: the rerun must notice and redo its unit.
	for rel := range got {
		os.WriteFile(filepath.Join(out, rel), []byte("damaged"), 0o644)
		break
	}
	sum := run(t, cfg, nil)
	if sum.UnitsResumed == 0 {
		t.Errorf("nothing was resumed: %+v", sum)
	}
	if got := storeDigest(t, out); !equalDigests(got, want) {
		t.Errorf("resumed store differs from the uninterrupted one:\n got %v\nwant %v", got, want)
	}
	left, _ := filepath.Glob(filepath.Join(out, "*", ".*tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// A third run does nothing and changes nothing.
	sum = run(t, cfg, nil)
	if sum.UnitsResumed != sum.Units {
		t.Errorf("third run redid work: %+v", sum)
	}
}

func TestPixelDuplicates(t *testing.T) {
	es := []*Entry{
		{Key: "a", Status: StatusOK, Views: []ViewEntry{{View: "SAX", PixelSHA256: "x"}, {View: "4CH", PixelSHA256: "y"}}},
		{Key: "b", Status: StatusOK, Views: []ViewEntry{{View: "SAX", PixelSHA256: "x"}}},
		{Key: "c", Status: StatusOK, Views: []ViewEntry{{View: "SAX", PixelSHA256: "z"}}},
		{Key: "d", Status: StatusFailed},
	}
	g := duplicates(es)
	if len(g) != 1 || strings.Join(g[0], ",") != "a,b" || len(es[0].Duplicates) != 1 || es[0].Duplicates[0] != "b" || len(es[2].Duplicates) != 0 {
		t.Fatalf("groups %v; a dup %v", g, es[0].Duplicates)
	}
}

// fileDigests returns the sha256 of every file under out, by path relative
// to out, except the journal, temporary files and the paused marker.
func fileDigests(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(out, p)
		if d.IsDir() {
			if rel == JournalDir || rel == ".cmrfm-tmp" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.Contains(d.Name(), ".tmp-") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		m[filepath.ToSlash(rel)] = hex.EncodeToString(h[:])
		return nil
	})
	return m
}

// checkNoPartialFiles fails unless every file under its final name in out
// is whole: each study file is the uninterrupted run's, byte for byte; the
// manifest, index, reports and de-identified report files parse to their
// end; every journal line is a complete JSON object.
func checkNoPartialFiles(t *testing.T, out string, want map[string]string) {
	t.Helper()
	for rel, sum := range fileDigests(t, out) {
		p := filepath.Join(out, filepath.FromSlash(rel))
		switch {
		case strings.HasSuffix(rel, ".h5"):
			if sum != want[rel] {
				t.Errorf("%s is not the uninterrupted run's file (partial?)", rel)
			}
		case strings.HasSuffix(rel, ".jsonl") || strings.HasSuffix(rel, ".json"):
			checkJSONLines(t, p)
		case strings.HasSuffix(rel, ".csv"):
			f, _ := os.Open(p)
			r := csv.NewReader(f)
			r.FieldsPerRecord = 0
			if _, err := r.ReadAll(); err != nil {
				t.Errorf("%s: %v (partial?)", rel, err)
			}
			f.Close()
		}
	}
	js, _ := filepath.Glob(filepath.Join(out, JournalDir, "*.jsonl"))
	for _, j := range js {
		checkJSONLines(t, j)
	}
}

// unitsDone counts the units the store's journal records as finished.
func unitsDone(t *testing.T, out string) int {
	t.Helper()
	es, err := readManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for _, e := range es {
		if e.Status == StatusUnitDone {
			done[e.Unit] = true
		}
	}
	return len(done)
}

func checkJSONLines(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("%s does not end with a complete line", p)
	}
	for i, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l != "" && !json.Valid([]byte(l)) {
			t.Errorf("%s line %d is not complete JSON: %.80q", p, i+1, l)
		}
	}
}

// TestKill20TimesAndResume: an ingest (with reports and labels) killed with
// SIGKILL at 20 random moments — each run a fresh process resuming the last
// — and then run to its end gives the store, manifest, index, reports and
// de-identified report files of an uninterrupted run, byte for byte; and
// after every kill no file under its final name is partial.
func TestKill20TimesAndResume(t *testing.T) {
	_, d := cohort(t, 8, 43, false)
	in := filepath.Join(d, "dicom")
	ref := filepath.Join(t.TempDir(), "store")
	cfg := testConfig(ref, in)
	cfg.Reports, cfg.Labels = filepath.Join(d, "reports.jsonl"), filepath.Join(d, "labels.csv")
	t0 := time.Now()
	run(t, cfg, nil)
	took := time.Since(t0)
	want := fileDigests(t, ref)
	for _, f := range []string{"manifest.jsonl", "index.csv", "reports.jsonl"} {
		if want[f] == "" {
			t.Fatalf("the uninterrupted run wrote no %s", f)
		}
	}

	units := unitsDone(t, ref)
	out := filepath.Join(t.TempDir(), "store")
	cfg.Out = out
	b, _ := json.Marshal(cfg)
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	killed := 0
	for k := 0; k < 20; k++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CMRFM_INGEST_CHILD="+string(b))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A random moment of what is left to do: between the start
		// (process start-up included) and about half the time the
		// remaining units take (as the uninterrupted run went). Each run
		// then does on average under a third of what is left, so the
		// kills fall all through the job instead of the first few
		// finishing it (at 120 % of the remaining time and 300 ms, a
		// loaded machine finished the job within the first few runs).
		left := 1 - float64(unitsDone(t, out))/float64(units)
		wait := time.Duration(rng.Float64()*(float64(took)*0.5*left+float64(150*time.Millisecond))) + 10*time.Millisecond
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done: // finished before the moment came
		case <-time.After(wait):
			cmd.Process.Signal(syscall.SIGKILL)
			if err := <-done; err != nil {
				killed++
			}
		}
		checkNoPartialFiles(t, out, want)
		if t.Failed() {
			t.Fatalf("after kill %d (%s into the run)", k+1, wait)
		}
	}
	byKills := unitsDone(t, out)
	t.Logf("%d of 20 runs killed mid-way, %d of %d units done between the kills (an uninterrupted run takes %s)",
		killed, byKills, units, took.Round(time.Millisecond))
	if killed < 15 {
		t.Errorf("only %d runs were killed before they finished", killed)
	}
	if byKills == 0 {
		t.Errorf("the killed runs did %d of %d units: every kill came before any work, so no resume was tested", byKills, units)
	}
	run(t, cfg, nil)
	got := fileDigests(t, out)
	for f, w := range want {
		if got[f] != w {
			t.Errorf("%s differs from the uninterrupted run's", f)
		}
	}
	for f := range got {
		if _, ok := want[f]; !ok {
			t.Errorf("%s is extra", f)
		}
	}
}
