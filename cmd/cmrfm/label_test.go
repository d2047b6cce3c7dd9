package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/phantom"
	"github.com/cmrfm/cmrfm/store"
)

// TestLabelToFinetune is the labelling step end to end, as a user runs it
// on a fresh clone: phantom DICOM + reports → ingest (store, index.csv
// with the phantom's true labels, reports.jsonl) → label rules → label
// agree against the index (kappa ≥ 0.9 for every phantom label) → label
// merge (rules_* columns) → finetune on the merged labels.
func TestLabelToFinetune(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ph := filepath.Join(dir, "phantom")
	if _, err := phantom.Generate(ctx, phantom.Options{Studies: 16, Out: ph, Seed: 21, Workers: 2, Matrix: 48, Frames: 16,
		MultiFrame: true, Log: log}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "store")
	if _, err := ingest.Run(ctx, ingest.Config{Inputs: []string{filepath.Join(ph, "dicom")}, Out: root, Site: "test", Workers: 2,
		Frames: "original", Channels: 1, Salt: "00112233445566778899aabbccddeeff", Labels: filepath.Join(ph, "labels.csv"),
		Reports: filepath.Join(ph, "reports.jsonl")}, log, nil); err != nil {
		t.Fatal(err)
	}
	labels := filepath.Join(dir, "rules.csv")
	out, err := runText(t, "", "label", "rules", "--reports", filepath.Join(root, "reports.jsonl"), "--out", labels)
	if err != nil || !strings.Contains(out, "16 reports: 16 ok, 0 partial, 0 failed") {
		t.Fatalf("label rules: %v\n%s", err, out)
	}
	agree := filepath.Join(dir, "agree.csv")
	out, err = runText(t, "", "label", "agree", "--pred", labels, "--truth", filepath.Join(root, "index.csv"), "--out", agree)
	if err != nil {
		t.Fatalf("label agree: %v\n%s", err, out)
	}
	t.Logf("label agree:\n%s", out)
	recs := readCSV(t, agree)
	if len(recs) != 6 {
		t.Fatalf("agree.csv: %v", recs)
	}
	for _, r := range recs[1:] {
		n, _ := strconv.Atoi(r[1])
		k, err := strconv.ParseFloat(r[8], 64)
		if n != 16 || err != nil || k < 0.9 {
			t.Errorf("%s: n %d, kappa %s", r[0], n, r[8])
		}
	}
	merged := filepath.Join(dir, "index-labelled.csv")
	out, err = runText(t, "", "label", "merge", "--labels", labels, "--index", filepath.Join(root, "index.csv"), "--prefix", "rules_", "--out", merged)
	if err != nil || !strings.Contains(out, "16 studies labelled, 0 without labels") {
		t.Fatalf("label merge: %v\n%s", err, out)
	}
	f, _ := os.Open(merged)
	idx, err := store.ReadIndex(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range idx.Rows {
		for _, l := range []string{"normal", "dcm", "hcm", "infarct", "effusion"} {
			if v := r.Values["rules_"+l]; v != "0" && v != "1" {
				t.Errorf("%s rules_%s = %q", r.Filename(), l, v)
			}
		}
	}
	cfg := filepath.Join(dir, "ft.yaml")
	os.WriteFile(cfg, []byte("data:\n  targets: [rules_dcm, rules_hcm]\n"), 0o644)
	run := filepath.Join(dir, "run")
	out, err = runText(t, "", "finetune", "--preset", "tiny-diseases", "--config", cfg, "--store", root, "--index", merged,
		"--out", run, "--epochs", "1", "--workers", "2")
	if err != nil {
		t.Fatalf("finetune: %v\n%s", err, out)
	}
	if !strings.Contains(out, "fine-tuned (classification") {
		t.Errorf("finetune output:\n%s", out)
	}
	b, err := os.ReadFile(filepath.Join(run, "config.yaml"))
	if err != nil || !strings.Contains(string(b), "rules_dcm") {
		t.Errorf("run config: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(run, "checkpoints", "last.safetensors")); err != nil {
		t.Error(err)
	}
}

// TestLabelCmdErrors: usage errors and a dry run need no server.
func TestLabelCmdErrors(t *testing.T) {
	if _, err := runText(t, "", "label", "rules", "--out", "x.csv"); err == nil || !strings.Contains(err.Error(), "--reports") {
		t.Errorf("rules without reports: %v", err)
	}
	if _, err := runText(t, "", "label", "llm", "--reports", "r.jsonl", "--out", "x.csv"); err == nil || !strings.Contains(err.Error(), "--server") {
		t.Errorf("llm without server: %v", err)
	}
	if _, err := runText(t, "", "label", "agree", "--pred", "x.csv", "--truth", "y.csv", "--map", "bad"); err == nil || !strings.Contains(err.Error(), "PRED=TRUTH") {
		t.Errorf("bad map: %v", err)
	}
	dir := t.TempDir()
	rp := filepath.Join(dir, "r.jsonl")
	os.WriteFile(rp, []byte(`{"study_key": "s1", "text": "IMPRESSION: Pericardial effusion."}`+"\n"), 0o644)
	out, err := runText(t, "", "label", "llm", "--reports", rp, "--server", "http://127.0.0.1:9", "--model", "m", "--prompts", "builtin:paper",
		"--labels", "Large.Pericardial.Effusion", "--dry-run")
	if err != nil || !strings.Contains(out, "label Large.Pericardial.Effusion, prompt paper35-prompts-1/Large.Pericardial.Effusion@v1") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
}
