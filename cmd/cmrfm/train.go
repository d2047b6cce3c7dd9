package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cmrfm/cmrfm/internal/yamlconf"
	"github.com/cmrfm/cmrfm/train"
)

// trainFlags are the flags every training command shares: the preset, the
// --config file, --print-config, --resume and the keys bound to flags
// (out, data.store, trainer.backend, trainer.epochs, trainer.max_updates;
// each command binds more on keys).
type trainFlags struct {
	config, preset string
	resume, print  bool
	keys           *configFlags
}

// newTrainFlags declares the shared flags on f for configurations of C's
// type; preset is the default preset, presets the help's list of them.
func newTrainFlags[C any](f *pflag.FlagSet, preset, presets string) *trainFlags {
	t := &trainFlags{}
	f.StringVar(&t.config, "config", "", "YAML configuration (over the preset)")
	f.StringVar(&t.preset, "preset", preset, "starting configuration: "+presets)
	f.BoolVar(&t.print, "print-config", false, "print the resolved configuration as YAML and exit")
	f.BoolVar(&t.resume, "resume", false, "continue from <out>/checkpoints/last.safetensors")
	t.keys = newConfigFlags[C](f).
		flag("out", "out", "run folder").
		flag("store", "data.store", "study store root").
		flag("backend", "trainer.backend", "GoMLX backend (default $GOMLX_BACKEND, else go)").
		flag("epochs", "trainer.epochs", "epochs").
		flag("max-updates", "trainer.max_updates", "stop after this many optimiser updates").
		deprecated("max-steps", "max-updates")
	return t
}

// resolveConfig returns a training command's configuration: the preset,
// the --config file over it (deprecated keys renamed with a warning), then
// the flags; the global --workers sets data.workers when given, or when
// the configuration leaves it 0.
func resolveConfig[C any](cmd *cobra.Command, a *app, t *trainFlags, preset func(string) (C, error),
	load func(string, C, *slog.Logger) (C, error)) (C, error) {
	c, err := preset(t.preset)
	if err != nil {
		return c, err
	}
	if t.config != "" {
		if c, err = load(t.config, c, a.log); err != nil {
			return c, err
		}
	}
	if err := t.keys.apply(&c); err != nil {
		return c, err
	}
	w, err := yamlconf.Field(&c, "data.workers")
	if err != nil {
		return c, err
	}
	if cmd.Flags().Changed("workers") || w.Int() == 0 {
		w.SetInt(int64(a.workers))
	}
	return c, nil
}

// printConfig writes the resolved configuration when --print-config was
// given, and says whether it did.
func (t *trainFlags) printConfig(a *app, render func() (string, error)) (bool, error) {
	if !t.print {
		return false, nil
	}
	y, err := render()
	if err != nil {
		return true, err
	}
	fmt.Fprint(a.stdout, y)
	return true, nil
}

// interrupted says how to continue a run stopped by Ctrl-C (exit status
// 130); other errors pass through. summary is called only for an
// interrupted run (a run that failed early has none).
func interrupted(a *app, err error, summary func() *train.Summary) error {
	if !errors.Is(err, train.ErrInterrupted) {
		return err
	}
	s := summary()
	fmt.Fprintf(a.stdout, "interrupted after %d updates; continue with --resume (checkpoint %s)\n", s.State.Updates, s.Checkpoint)
	return exitCode(exitPartial)
}
