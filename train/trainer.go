package train

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/internal/yamlconf"
)

// TrainerConfig is the "trainer" section every cmrfm trainer shares: how
// long a run lasts, how often it writes metrics, validates and saves, and
// where it runs. Every interval names its unit. A trainer embeds it inline
// and adds its own keys (pretrain: recall_pool; finetune: pad,
// max_instances).
type TrainerConfig struct {
	// Epochs and MaxUpdates (optimiser updates) bound the run; at least one
	// is > 0.
	Epochs     int `yaml:"epochs"`
	MaxUpdates int `yaml:"max_updates"`
	// BatchSize is the number of samples per micro-batch (pretraining:
	// (clip, report) pairs; fine-tuning: study bags).
	BatchSize int `yaml:"batch_size"`
	// LogEveryUpdates writes a metrics row every that many updates (0: 1).
	LogEveryUpdates int `yaml:"log_every_updates"`
	// ValEveryUpdates validates every that many updates (0: at the end of
	// every epoch); ValStudies bounds the studies a validation scores (0:
	// all; the reference's limit_val_batches with one study per batch).
	ValEveryUpdates int `yaml:"val_every_updates"`
	ValStudies      int `yaml:"val_studies"`
	// CheckpointEveryUpdates and CheckpointEveryEpochs save
	// checkpoints/last.safetensors every that many updates or epochs (0:
	// never; the end of a run and interruptions always save).
	// KeepCheckpoints also keeps each of those as
	// step-NNNNNNN.safetensors or epoch-NNNN.safetensors.
	CheckpointEveryUpdates int  `yaml:"checkpoint_every_updates"`
	CheckpointEveryEpochs  int  `yaml:"checkpoint_every_epochs"`
	KeepCheckpoints        bool `yaml:"keep_checkpoints"`
	// MaxBadBatches is how many updates may be skipped for a non-finite
	// loss or gradient (the model is left unchanged and the batch's
	// studies logged) before the run stops with ErrBadBatches; 0 stops at
	// the first, a negative value never stops.
	MaxBadBatches int `yaml:"max_bad_batches"`
	// Backend is the GoMLX backend ("" → $GOMLX_BACKEND → go).
	Backend string `yaml:"backend" cmrfm:"machine"`
	// Progress reports progress (a bar on a terminal).
	Progress bool `yaml:"progress" cmrfm:"machine"`
}

// Validate checks the bounds and intervals; what names the section in
// errors (the trainer's package name).
func (t TrainerConfig) Validate(what string) error {
	switch {
	case t.Epochs <= 0 && t.MaxUpdates <= 0:
		return fmt.Errorf("%s: set trainer.epochs or trainer.max_updates", what)
	case t.BatchSize < 1:
		return fmt.Errorf("%s: trainer.batch_size %d: want ≥ 1", what, t.BatchSize)
	case t.Epochs < 0 || t.MaxUpdates < 0 || t.LogEveryUpdates < 0 || t.ValEveryUpdates < 0 || t.ValStudies < 0 ||
		t.CheckpointEveryUpdates < 0 || t.CheckpointEveryEpochs < 0:
		return fmt.Errorf("%s: trainer: negative count or interval", what)
	}
	return nil
}

// TrainerRenames are the trainer keys renamed when the two trainers'
// sections became one (accepted, with a warning, for one release).
// checkpoint_every counted epochs in pretraining and updates in
// fine-tuning: each trainer adds its own rename of it.
var TrainerRenames = []yamlconf.Rename{
	{Old: "trainer.max_steps", New: "trainer.max_updates"},
	{Old: "trainer.log_every", New: "trainer.log_every_updates"},
	{Old: "trainer.val_every", New: "trainer.val_every_updates"},
}

// Runnable is a trainer's whole configuration.
type Runnable interface {
	Validate() error
	YAML() (string, error)
}

// Prepare validates c and renders it as YAML (what checkpoints record and
// config.yaml holds); a nil log becomes one that discards.
func Prepare(c Runnable, log *slog.Logger) (*slog.Logger, string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := c.Validate(); err != nil {
		return log, "", err
	}
	y, err := c.YAML()
	return log, y, err
}

// WriteRunConfig creates the run folder dir and writes config (the run's
// resolved configuration) to dir/config.yaml, atomically.
func WriteRunConfig(dir, config string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return fsutil.WriteFileAtomic(filepath.Join(dir, "config.yaml"), func(w io.Writer) error {
		_, err := io.WriteString(w, config)
		return err
	})
}
