package finetune

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeprecatedKeys: the trainer keys of the previous release still load
// into their new names (checkpoint_every counted updates here), each with
// a warning naming the new key — also from a checkpoint's recorded
// configuration, which predict reads.
func TestDeprecatedKeys(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	p := filepath.Join(t.TempDir(), "old.yaml")
	old := "trainer:\n  checkpoint_every: 250\n  max_steps: 5000\n  log_every: 10\n  val_every: 100\n  val_studies: 40\n"
	os.WriteFile(p, []byte(old), 0o644)
	c, err := LoadConfig(p, RegressionConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Trainer
	if tr.CheckpointEveryUpdates != 250 || tr.CheckpointEveryEpochs != 0 || tr.MaxUpdates != 5000 || tr.LogEveryUpdates != 10 ||
		tr.ValEveryUpdates != 100 || tr.ValStudies != 40 {
		t.Errorf("deprecated keys loaded as %+v", tr)
	}
	for _, k := range []string{"trainer.checkpoint_every_updates", "trainer.max_updates", "trainer.log_every_updates", "trainer.val_every_updates"} {
		if !strings.Contains(logs.String(), "use="+k) {
			t.Errorf("no deprecation warning naming %s in:\n%s", k, logs.String())
		}
	}
	if c2, err := ParseConfig([]byte(old), RegressionConfig(), log); err != nil || c2.Trainer != c.Trainer {
		t.Errorf("ParseConfig: %+v, %v", c2.Trainer, err)
	}
}
