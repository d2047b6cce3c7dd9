package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Options configures a demo run. The zero value (with Out set) runs every
// stage with defaults sized to finish in seconds on a laptop.
type Options struct {
	// Out is the folder everything is written under; it is created if absent.
	Out string
	// Input, when set, is a folder of DICOM studies used instead of the
	// generated phantom cohort.
	Input string
	// Studies is the size of the phantom cohort (0 means 8).
	Studies int
	// Seed makes the run reproducible.
	Seed int64
	// Workers bounds parallelism (0 means 1).
	Workers int
	Log     *slog.Logger
}

// Run is the state shared by the stages of one demo.
type Run struct {
	Opts    Options
	Log     *slog.Logger
	Results []Result
}

// Result is what one stage did, for the summary.
type Result struct {
	Stage   string
	Summary string
	Outputs []string
	Elapsed time.Duration
}

// Stage is one pipeline step of the demo.
type Stage struct {
	Name string
	Fn   func(ctx context.Context, r *Run) (Result, error)
}

// Stages lists the demo's stages in pipeline order.
func Stages() []Stage {
	return []Stage{
		{"phantom", stagePhantom},
		{"ingest", stageIngest},
		{"store", stageStore},
		{"text", stageText},
		{"pretrain", stagePretrain},
		{"finetune", stageFinetune},
		{"serve", stageServe},
	}
}

// Execute runs every stage in order and returns their results; it stops at
// the first stage that fails.
func Execute(ctx context.Context, opts Options) (*Run, error) {
	if opts.Out == "" {
		return nil, fmt.Errorf("demo: no output folder")
	}
	if opts.Studies == 0 {
		opts.Studies = 8
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	r := &Run{Opts: opts, Log: opts.Log}
	for _, s := range Stages() {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		t0 := time.Now()
		r.Log.Info("stage start", "stage", s.Name)
		res, err := s.Fn(ctx, r)
		if err != nil {
			return r, fmt.Errorf("demo stage %s: %w", s.Name, err)
		}
		res.Stage = s.Name
		res.Elapsed = time.Since(t0)
		r.Results = append(r.Results, res)
		r.Log.Info("stage done", "stage", s.Name, "elapsed", res.Elapsed.Round(time.Millisecond))
	}
	return r, nil
}

// Path returns a path under the run's output folder.
func (r *Run) Path(elem ...string) string {
	return filepath.Join(append([]string{r.Opts.Out}, elem...)...)
}

// WriteSummary prints one block per stage: what it did and where its outputs are.
func (r *Run) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "cmrfm demo: %d stages, outputs under %s\n", len(r.Results), r.Opts.Out)
	for _, res := range r.Results {
		fmt.Fprintf(w, "\n[%s] %s (%s)\n", res.Stage, res.Summary, res.Elapsed.Round(time.Millisecond))
		for _, o := range res.Outputs {
			fmt.Fprintf(w, "  %s\n", o)
		}
	}
}
