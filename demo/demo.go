package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options configures a demo run. The zero value (with Out set) is the full
// demo: a cohort large enough that the fine-tuned models are measured on a
// test split of ≥ 30 studies, finishing in a few minutes on two cores.
type Options struct {
	// Out is the folder everything is written under; it is created if absent.
	Out string
	// Input, when set, is a folder of DICOM studies used instead of the
	// generated phantom cohort.
	Input string
	// Quick runs the smoke-test demo: 8 studies and a few updates per
	// stage, in about ten seconds; it shows every stage works, not that the
	// models learn.
	Quick bool
	// Studies is the size of the phantom cohort (0: 250, or 8 with Quick).
	Studies int
	// Seed makes the run reproducible.
	Seed int64
	// Workers bounds parallelism (0 means 1).
	Workers int
	// Progress, if set, is the terminal the stages draw progress bars on.
	Progress io.Writer
	Log      *slog.Logger
}

// Run is the state shared by the stages of one demo.
type Run struct {
	Opts    Options
	Log     *slog.Logger
	Results []Result
	// Filled by the stages for the ones after them.
	tasks  []task
	report string
}

// Result is what one stage did, for the summary.
type Result struct {
	Stage   string
	Summary string
	Outputs []string
	Elapsed time.Duration
	// Skipped is set when the stage had nothing to do.
	Skipped bool
}

// Stage is one pipeline step of the demo.
type Stage struct {
	Name string
	// What is the one-line description printed before the stage runs.
	What string
	Fn   func(ctx context.Context, r *Run) (Result, error)
}

// Stages lists the demo's stages in pipeline order.
func Stages() []Stage {
	return []Stage{
		{"phantom", "generate the synthetic cohort (DICOM, reports, labels)", stagePhantom},
		{"ingest", "DICOM → de-identified HDF5 study store", stageIngest},
		{"store", "verify the study store", stageStore},
		{"text", "reports → sentences → WordPiece ids", stageText},
		{"label", "labels from the reports (rules) and their agreement with the truth", stageLabel},
		{"pretrain", "contrastive video–text pretraining", stagePretrain},
		{"finetune", "fine-tune LVEF and DCM models, predict the test split", stageFinetune},
		{"evaluate", "the paper's statistics on the test split", stageEvaluate},
		{"serve", "score the test predictions on a throwaway leaderboard", stageServe},
		{"report", "the HTML report", stageReport},
	}
}

// Execute runs every stage in order and returns their results; it stops at
// the first stage that fails.
func Execute(ctx context.Context, opts Options) (*Run, error) {
	if opts.Out == "" {
		return nil, errors.New("demo: no output folder")
	}
	if opts.Studies == 0 {
		opts.Studies = 250
		if opts.Quick {
			opts.Studies = 8
		}
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
		if p := opts.Progress; p != nil {
			fmt.Fprintf(p, "[%s] %s …\n", s.Name, s.What)
		}
		res, err := s.Fn(ctx, r)
		if err != nil {
			return r, fmt.Errorf("demo stage %s: %w", s.Name, err)
		}
		res.Stage = s.Name
		res.Elapsed = time.Since(t0)
		r.Results = append(r.Results, res)
		r.Log.Info("stage done", "stage", s.Name, "elapsed", res.Elapsed.Round(time.Millisecond))
		if p := opts.Progress; p != nil {
			fmt.Fprintf(p, "[%s] %s (%s)\n", s.Name, res.Summary, res.Elapsed.Round(100*time.Millisecond))
		}
	}
	return r, nil
}

// Path returns a path under the run's output folder.
func (r *Run) Path(elem ...string) string {
	return filepath.Join(append([]string{r.Opts.Out}, elem...)...)
}

// Report is the HTML report the demo wrote ("" before the report stage).
func (r *Run) Report() string { return r.report }

// WriteSummary prints one block per stage: what it did and where its
// outputs are, then where the report is.
func (r *Run) WriteSummary(w io.Writer) {
	var total time.Duration
	for _, res := range r.Results {
		total += res.Elapsed
	}
	mode := "full demo"
	if r.Opts.Quick {
		mode = "quick demo (smoke test: too small to learn; run without --quick to see the models learn)"
	}
	fmt.Fprintf(w, "cmrfm demo: %s, %d stages in %s, outputs under %s\n", mode, len(r.Results), total.Round(time.Second), r.Opts.Out)
	for _, res := range r.Results {
		fmt.Fprintf(w, "\n[%s] %s (%s)\n", res.Stage, res.Summary, res.Elapsed.Round(100*time.Millisecond))
		for _, o := range res.Outputs {
			fmt.Fprintf(w, "  %s\n", o)
		}
	}
	if r.report != "" {
		fmt.Fprintf(w, "\nOpen the report: %s\n", r.report)
	}
}

// Check returns an error unless the fine-tuned models learned: on the test
// split (≥ 30 studies) LVEF MAE at most 0.6× that of predicting the
// training mean, and DCM AUROC at least 0.85. It is the demo's claim, made
// testable (cmrfm demo --check).
func (r *Run) Check() error {
	var bad []string
	for _, t := range r.tasks {
		if t.n < 30 {
			bad = append(bad, fmt.Sprintf("%s: only %d test studies (want ≥ 30)", t.target, t.n))
		}
		switch t.kind {
		case "regression":
			if !(t.mae <= 0.6*t.baseMAE) {
				bad = append(bad, fmt.Sprintf("%s: MAE %.2f > 0.6 × the mean baseline's %.2f", t.target, t.mae, t.baseMAE))
			}
		case "classification":
			if !(t.auc >= 0.85) {
				bad = append(bad, fmt.Sprintf("%s: AUROC %.3f < 0.85", t.target, t.auc))
			}
		}
	}
	if len(r.tasks) == 0 {
		bad = append(bad, "no model was fine-tuned")
	}
	if len(bad) > 0 {
		return fmt.Errorf("demo: the models did not learn enough: %s", strings.Join(bad, "; "))
	}
	return nil
}
