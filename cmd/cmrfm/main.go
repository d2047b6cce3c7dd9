// Command cmrfm turns cardiac cine MRI studies and their reports into a
// foundation model and validated predictions. Every subcommand only parses its
// flags and calls the package that does the work; this file lists them all,
// so any pipeline stage is one hop away:
//
//	demo      → demo       (every stage on the built-in phantom cohort)
//	store     → store      (HDF5 study store: inspect, verify)
//	phantom   → phantom    (synthetic DICOM cohort with ground truth)
//	text      → text       (report sentences, WordPiece ids, report index)
//	label     → label      (disease labels from reports: rules, LLM server; agreement; merge)
//	evaluate  → stats      (AUROC, DeLong, thresholds, Bland–Altman)
//	serve     → serve      (test-set leaderboard web app; serve/db, serve/score)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// app holds what every subcommand shares: global flags and the logger.
type app struct {
	stdout, stderr io.Writer
	logLevel       string
	workers        int
	log            *slog.Logger
}

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	markUsage(root)
	err := root.ExecuteContext(ctx)
	code := exitStatus(err)
	var ec exitCode
	if err != nil && !errors.As(err, &ec) {
		fmt.Fprintln(stderr, "cmrfm:", err)
		if code == exitUsage {
			fmt.Fprintln(stderr, `run "cmrfm help" or add --help to a command for its usage`)
		}
	}
	return code
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "cmrfm",
		Short: "Cardiac MRI foundation model: DICOM → study store → pretraining → predictions → statistics",
		Long: `cmrfm turns a hospital's cardiac cine MRI and its free-text reports into a
video–text foundation model, and that model into validated predictions.

Start with "cmrfm demo": it runs every pipeline stage on a built-in synthetic
cohort and tells you where the outputs are.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			lvl, err := parseLevel(a.logLevel)
			if err != nil {
				return usageError{err}
			}
			if a.workers <= 0 {
				a.workers = runtime.NumCPU()
			}
			a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: lvl}))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().IntVar(&a.workers, "workers", 0, "parallel workers (0 = number of CPUs)")
	root.AddCommand(
		newVersionCmd(a),
		newDemoCmd(a),
		newStoreCmd(a),
		newIngestCmd(a),
		newTextCmd(a),
		newLabelCmd(a),
		newEvaluateCmd(a),
		newDicomCmd(a),
		newForwardCmd(a),
		newPhantomCmd(a),
		newWeightsCmd(a),
		newPretrainCmd(a),
		newFinetuneCmd(a),
		newPredictCmd(a),
		newReportCmd(a),
		newServeCmd(a),
	)
	return root
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// exitCode is returned by a command that has already reported its outcome
// and only needs the process to exit with the given status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
