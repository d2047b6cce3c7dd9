package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/train/pretrain"
)

// TestPretrainPrintConfig: --print-config prints the paper's configuration
// with the file's and the flags' overrides applied, and that output reads
// back to the same configuration; unknown keys and missing data are errors.
func TestPretrainPrintConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "p.yaml")
	os.WriteFile(cfg, []byte("model:\n  text_input: mean\noptimizer:\n  clip_norm: 1.5\n"), 0o644)
	out, err := runText(t, "", "pretrain", "--config", cfg, "--print-config", "--batch-size", "8", "--out", "runs/x")
	if err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back.yaml")
	os.WriteFile(back, []byte(out), 0o644)
	c, err := pretrain.LoadConfig(back, pretrain.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Model.TextInput != "mean" || c.Optim.ClipNorm != 1.5 || c.Trainer.BatchSize != 8 || c.Out != "runs/x" ||
		c.Optim.LR != 4.8e-5 || c.Model.Flood != 0.05 || c.Trainer.Epochs != 600 {
		t.Errorf("printed config: %+v", c)
	}
	os.WriteFile(cfg, []byte("trainer:\n  epochz: 3\n"), 0o644)
	if _, err := runText(t, "", "pretrain", "--config", cfg, "--print-config"); err == nil || !strings.Contains(err.Error(), "epochz") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := runText(t, "", "pretrain", "--preset", "tiny", "--out", filepath.Join(dir, "run")); err == nil ||
		!strings.Contains(err.Error(), "data.store") {
		t.Errorf("no store: %v", err)
	}
}
