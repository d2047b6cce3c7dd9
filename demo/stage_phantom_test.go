package demo

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestStagePhantom(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := &Run{Opts: Options{Out: t.TempDir(), Studies: 3, Seed: 2, Workers: 2}, Log: log}
	res, err := stagePhantom(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Summary, "generated 3 synthetic studies") {
		t.Errorf("summary %q", res.Summary)
	}
	for _, p := range res.Outputs {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("output %s: %v", p, err)
		}
	}
	// a second run over the same folder replaces the cohort
	if _, err := stagePhantom(context.Background(), r); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	r = &Run{Opts: Options{Out: t.TempDir(), Input: "/data/dicom"}, Log: log}
	res, err = stagePhantom(context.Background(), r)
	if err != nil || !strings.HasPrefix(res.Summary, "skipped") {
		t.Errorf("with --input: %+v, %v", res, err)
	}
	if _, err := os.Stat(r.Path("phantom")); !os.IsNotExist(err) {
		t.Errorf("with --input the stage wrote %s", r.Path("phantom"))
	}
}
