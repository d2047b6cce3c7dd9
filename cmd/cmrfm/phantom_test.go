package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/phantom"
)

func runPhantom(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb}
	root := newRootCmd(a)
	root.SetArgs(append([]string{"phantom"}, args...))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestPhantomCmd(t *testing.T) {
	dir := t.TempDir()
	out, err := runPhantom(t, "--studies", "2", "--out", dir, "--seed", "4", "--matrix", "64", "--frames", "12", "--workers", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "wrote 2 studies") || !strings.Contains(out, "labels.csv") {
		t.Errorf("output:\n%s", out)
	}
	for _, f := range []string{"reports.jsonl", "labels.csv", "truth.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := runPhantom(t, "--studies", "2", "--out", dir, "--matrix", "64", "--frames", "12"); !errors.Is(err, phantom.ErrExists) {
		t.Errorf("second run into the same folder: %v, want ErrExists", err)
	}
	if _, err := runPhantom(t, "--studies", "1", "--out", dir, "--matrix", "64", "--frames", "12", "--force"); err != nil {
		t.Errorf("--force: %v", err)
	}
	if _, err := runPhantom(t, "--studies", "1"); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("no --out: %v", err)
	}
	if _, err := runPhantom(t, "--studies", "1", "--out", t.TempDir(), "--matrix", "5"); err == nil {
		t.Error("--matrix 5: no error")
	}
}
