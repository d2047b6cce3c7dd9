package ingest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
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
		testHookUnitLogged = func() {
			if n++; n == 3 {
				os.WriteFile(filepath.Join(c.Out, "child-paused"), nil, 0o644)
				select {} // wait here to be killed, mid-run
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
	cmd.Env = append(os.Environ(), "CMRFM_INGEST_CHILD="+string(b))
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
