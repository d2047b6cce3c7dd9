// Command cmrfm turns cardiac cine MRI studies and their reports into a
// foundation model and validated predictions. Every subcommand only parses its
// flags and calls the package that does the work; this file lists them all,
// in pipeline order, so any stage is one hop away (docs/architecture.md draws
// the pipeline):
//
//	demo      → demo            (every stage on the built-in phantom cohort)
//	phantom   → phantom         (synthetic DICOM cohort with ground truth)
//	pull      → pull            (studies from a PACS over DICOMweb, resumable)
//	dicom     → dicom, cine     (inspect and decode DICOM files)
//	ingest    → ingest          (DICOM/NIfTI → de-identified HDF5 study store)
//	store     → store           (HDF5 study store: inspect, verify, export)
//	text      → text            (report sentences, WordPiece ids, report index)
//	label     → label           (disease labels from reports: rules, LLM server; agreement; merge)
//	weights   → model/weights   (inspect and convert published weights)
//	forward   → model/mvit, model/bert (one forward pass)
//	pretrain  → train/pretrain  (contrastive video–text pretraining)
//	finetune  → train/finetune  (LVEF / disease heads)
//	predict   → train/finetune  (per-study predictions with view attention)
//	evaluate  → stats/evaluate, report (AUROC, DeLong, Bland–Altman, figures); retrieval → retrieval
//	embed     → retrieval       (study, view, clip and report embeddings of a pretraining checkpoint)
//	search    → retrieval       (nearest studies and reports to a sentence or a study)
//	zeroshot  → retrieval       (diagnosis from prompts, no labels; predict's CSV columns)
//	explain   → explain         (attention videos, view attention, UMAP)
//	report    → report          (the HTML report)
//	serve     → serve           (test-set leaderboard web app; serve/db, serve/score)
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
		newPullCmd(a),
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
		newEmbedCmd(a),
		newSearchCmd(a),
		newZeroShotCmd(a),
		newExplainCmd(a),
		newReportCmd(a),
		newServeCmd(a),
	)
	groupCommands(root)
	return root
}

// pipeline is the order of `cmrfm --help`: command groups as the data
// flows, each listing the commands it holds (names of commands not built
// into this binary are ignored). Other commands (version, help,
// completion) are listed after them.
var pipeline = []struct {
	id, title string
	commands  []string
}{
	{"start", "Start here:", []string{"demo"}},
	{"data", "Data (DICOM and reports → study store):", []string{"phantom", "pull", "dicom", "ingest", "store", "text", "label"}},
	{"model", "Model (weights, forward passes):", []string{"weights", "forward"}},
	{"training", "Training:", []string{"pretrain", "finetune"}},
	{"evaluation", "Evaluation (predictions, statistics, inside the model):", []string{"predict", "embed", "search", "zeroshot", "evaluate", "explain", "report"}},
	{"serving", "Serving:", []string{"serve"}},
}

// groupCommands puts root's subcommands into the pipeline groups, in the
// pipeline's order (cobra's alphabetical sorting is switched off for that);
// a group with no command is left out of the help.
func groupCommands(root *cobra.Command) {
	cobra.EnableCommandSorting = false
	all := root.Commands()
	root.RemoveCommand(all...)
	byName := map[string]*cobra.Command{}
	for _, c := range all {
		byName[c.Name()] = c
	}
	for _, g := range pipeline {
		added := false
		for _, name := range g.commands {
			c, ok := byName[name]
			if !ok {
				continue
			}
			if !added {
				root.AddGroup(&cobra.Group{ID: g.id, Title: g.title})
				added = true
			}
			c.GroupID = g.id
			root.AddCommand(c)
			delete(byName, name)
		}
	}
	for _, c := range all {
		if _, ok := byName[c.Name()]; ok {
			root.AddCommand(c)
		}
	}
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
