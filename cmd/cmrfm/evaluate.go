package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/report"
	"github.com/cmrfm/cmrfm/stats"
	"github.com/cmrfm/cmrfm/stats/evaluate"
)

const evaluateInputs = `Inputs (--pred, --baseline) are W&B table exports (*.table.json: "columns"
and "data", cells may be strings), CSV files with a header row, or a folder
with one sub-folder per target holding one such table each, as in the paper's
raw_dataframes/internal_classification_test/internal_test_artifacts. Every row
is used, in file order (duplicates included, as the paper did).

Numbers in the output CSVs are written as R's write.csv writes them (15
significant digits), with R's row-name column; NA marks an undefined value.

Rows with an empty label or prediction, or with an error from 'cmrfm
predict', are left out of the statistics and counted.

EXIT STATUS
  0  success
  1  bad input (the message names the file, row and column) or a write error
  2  usage error (a missing or bad flag)`

func newEvaluateCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "AUROC, DeLong CIs and tests, thresholds, regression metrics and Bland–Altman from prediction tables",
		Long: `evaluate computes the statistics of the paper from prediction tables, with
R pROC's rules (automatic ROC direction, DeLong CI clipped to [0,1], paired
DeLong test only when the label vectors are identical, otherwise the unpaired
test with Welch degrees of freedom). On the paper's own tables it reproduces
the published CSVs.

` + evaluateInputs,
	}
	cmd.AddCommand(newEvaluateClassificationCmd(a), newEvaluateRegressionCmd(a), newEvaluateRetrievalCmd(a))
	return cmd
}

type classFlags struct {
	opt                         evaluate.ClassOptions
	out, prevalence, thresholds string
	tests, plot                 string
	direction, paired, ci       string
	bootN                       int
	seed                        uint64
}

func newEvaluateClassificationCmd(a *app) *cobra.Command {
	var f classFlags
	cmd := &cobra.Command{
		Use:   "classification --pred PATH [--baseline PATH] --out results.csv",
		Short: "AUROC with CI, DeLong test against a baseline, prevalence and operating points per target",
		Long: `classification evaluates binary predictions (columns --score-col and
--label-col, labels 0/1) per target: AUROC, its confidence interval
(DeLong by default), and, with --baseline, DeLong's test of baseline minus
pretrained AUROC.

--out writes the paper's layout: "", target, auc_baseline, upper_baseline,
lower_baseline, auc_pretrained, upper_pretrained, lower_pretrained, p_val
(with --baseline) or "", target, auc, upper, lower (without).
--prevalence writes "", target, prevalence (positives over all rows).
--thresholds writes the operating points (Youden's J, sensitivity >= 0.90,
specificity >= 0.90) with accuracy, sensitivity, specificity, PPV and NPV.
--tests writes the test details: paired or unpaired, statistic, df, p.
--plot writes one ROC figure per target (PNG and SVG).

Reproduce the paper's internal test set:
  cmrfm evaluate classification \
    --pred     cmr_transformer-raw_dataframes/internal_classification_test/internal_test_artifacts \
    --baseline cmr_transformer-raw_dataframes/internal_classification_test/internal_test_kinetics_baseline_artefacts \
    --out results.csv --prevalence prevalence.csv --plot figures

` + evaluateInputs,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEvaluateClassification(a, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.opt.Pred, "pred", "", "predictions of the (pretrained) model: table file or folder of targets (required)")
	fl.StringVar(&f.opt.Baseline, "baseline", "", "predictions of the baseline model, same layout")
	fl.StringVar(&f.opt.Target, "target", "", "target name for a single-file input (default: the file name)")
	fl.StringVar(&f.opt.LabelCol, "label-col", "labels", "column of the 0/1 labels")
	fl.StringVar(&f.opt.ScoreCol, "score-col", "probs", "column of the scores")
	fl.StringVar(&f.out, "out", "", `results CSV in the paper's layout ("-" for standard output) (required)`)
	fl.StringVar(&f.prevalence, "prevalence", "", "also write the prevalence CSV here")
	fl.StringVar(&f.thresholds, "thresholds", "", "also write the operating points CSV here")
	fl.StringVar(&f.tests, "tests", "", "also write the DeLong test details CSV here (with --baseline)")
	fl.StringVar(&f.plot, "plot", "", "write ROC figures (PNG and SVG) into this folder")
	fl.StringVar(&f.direction, "direction", "auto", `ROC direction: auto (pROC's median rule), "<" (higher score = case) or ">"`)
	fl.StringVar(&f.paired, "paired", "auto", "DeLong test: auto (paired iff the label vectors are identical), yes or no")
	fl.Float64Var(&f.opt.Level, "conf-level", 0.95, "confidence level")
	fl.StringVar(&f.ci, "ci", "delong", "AUROC interval: delong or bootstrap (stratified percentile)")
	fl.IntVar(&f.bootN, "boot-n", 2000, "bootstrap resamples (with --ci bootstrap)")
	fl.Uint64Var(&f.seed, "seed", 1, "bootstrap seed (with --ci bootstrap)")
	fl.StringVar(&f.opt.PredName, "pred-name", "pretrained", "name of the --pred model in figures")
	fl.StringVar(&f.opt.BaselineName, "baseline-name", "baseline", "name of the --baseline model in figures")
	fl.Float64Var(&f.opt.MinSensitivity, "min-sensitivity", 0.90, "operating point: best specificity at this sensitivity or more")
	fl.Float64Var(&f.opt.MinSpecificity, "min-specificity", 0.90, "operating point: best sensitivity at this specificity or more")
	_ = cmd.MarkFlagRequired("pred")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func runEvaluateClassification(a *app, f *classFlags) error {
	var err error
	if f.opt.Direction, err = stats.ParseDirection(f.direction); err != nil {
		return usagef("--direction: %w", err)
	}
	switch f.paired {
	case "auto":
		f.opt.Pairing = stats.PairAuto
	case "yes":
		f.opt.Pairing = stats.Paired
	case "no":
		f.opt.Pairing = stats.Unpaired
	default:
		return usagef("--paired %q: want auto, yes or no", f.paired)
	}
	switch f.ci {
	case "delong":
		f.opt.CI = evaluate.DeLong
	case "bootstrap":
		f.opt.CI = evaluate.Bootstrap
		if f.bootN <= 0 {
			return usagef("--boot-n %d: want a positive number", f.bootN)
		}
		f.opt.Bootstrap = stats.Bootstrap{Reps: f.bootN, Seed: f.seed}
	default:
		return usagef("--ci %q: want delong or bootstrap", f.ci)
	}
	if f.tests != "" && f.opt.Baseline == "" {
		return usageError{errors.New("--tests needs --baseline")}
	}
	rep, err := evaluate.Classify(f.opt)
	if err != nil {
		return err
	}
	for _, t := range rep.Targets {
		reportExcluded(a, t.Name, "pretrained", t.Pretrained.Excluded)
		if t.Baseline != nil {
			reportExcluded(a, t.Name, "baseline", t.Baseline.Excluded)
		}
	}
	a.log.Info("evaluated", "targets", len(rep.Targets), "pred", f.opt.Pred, "baseline", f.opt.Baseline)
	for _, o := range []struct {
		path  string
		write func(io.Writer) error
	}{
		{f.out, rep.WriteResults},
		{f.prevalence, rep.WritePrevalence},
		{f.thresholds, rep.WriteThresholds},
		{f.tests, rep.WriteTests},
	} {
		if err := writeOutput(a, o.path, o.write); err != nil {
			return err
		}
	}
	if f.plot != "" {
		files, err := report.ClassificationPlots(f.plot, rep)
		if err != nil {
			return err
		}
		a.log.Info("wrote figures", "dir", f.plot, "files", len(files))
	}
	if f.out != "-" {
		return rep.Summary(a.stdout)
	}
	return nil
}

type regFlags struct {
	opt       evaluate.RegOptions
	out, plot string
}

func newEvaluateRegressionCmd(a *app) *cobra.Command {
	var f regFlags
	cmd := &cobra.Command{
		Use:   "regression --pred PATH [--baseline PATH] --out results.csv",
		Short: "MAE, MSE, RMSE, Pearson r, Bland–Altman and the AUROC of a cut-off (LVEF < 40) per target",
		Long: `regression evaluates continuous predictions (columns --pred-col and
--label-col) per target: MAE and MSE (plain means over every row), RMSE,
Pearson's r, Bland–Altman bias and limits of agreement (predicted − reference,
bias ± 1.96 SD) with their 95 % CIs, and the AUROC of the predictions for the
outcome reference < --cutoff (heart failure, LVEF < 40 %), with its DeLong
CI; with --baseline, also DeLong's test of the two cut-off AUROCs.

--out writes one row per target; with --baseline every column appears twice,
suffixed _baseline and _pretrained, followed by hf_p_val.
--plot writes Bland–Altman, scatter and cut-off ROC figures (PNG and SVG).

` + evaluateInputs,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEvaluateRegression(a, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.opt.Pred, "pred", "", "predictions of the (pretrained) model: table file or folder of targets (required)")
	fl.StringVar(&f.opt.Baseline, "baseline", "", "predictions of the baseline model, same layout")
	fl.StringVar(&f.opt.Target, "target", "", "target name for a single-file input (default: the file name)")
	fl.StringVar(&f.opt.LabelCol, "label-col", "labels", "column of the reference values")
	fl.StringVar(&f.opt.PredCol, "pred-col", "preds", "column of the predicted values")
	fl.Float64Var(&f.opt.Cutoff, "cutoff", 40, "AUROC outcome: reference value below this cut-off")
	fl.Float64Var(&f.opt.Level, "conf-level", 0.95, "confidence level of the AUROC")
	fl.StringVar(&f.out, "out", "", `results CSV ("-" for standard output) (required)`)
	fl.StringVar(&f.plot, "plot", "", "write Bland–Altman, scatter and ROC figures (PNG and SVG) into this folder")
	_ = cmd.MarkFlagRequired("pred")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func runEvaluateRegression(a *app, f *regFlags) error {
	if f.opt.Cutoff == 0 {
		return usageError{errors.New("--cutoff 0: want a non-zero cut-off")}
	}
	rep, err := evaluate.Regress(f.opt)
	if err != nil {
		return err
	}
	for _, t := range rep.Targets {
		reportExcluded(a, t.Name, "pretrained", t.Pretrained.Excluded)
		if t.Baseline != nil {
			reportExcluded(a, t.Name, "baseline", t.Baseline.Excluded)
		}
	}
	a.log.Info("evaluated", "targets", len(rep.Targets), "pred", f.opt.Pred, "baseline", f.opt.Baseline)
	if err := writeOutput(a, f.out, rep.WriteResults); err != nil {
		return err
	}
	if f.plot != "" {
		files, err := report.RegressionPlots(f.plot, rep)
		if err != nil {
			return err
		}
		a.log.Info("wrote figures", "dir", f.plot, "files", len(files))
	}
	if f.out != "-" {
		return rep.Summary(a.stdout)
	}
	return nil
}

// writeOutput writes one output file (nothing when path is empty, standard
// output for "-") through a temporary file renamed into place, so a failed
// run never leaves a half-written CSV.
func writeOutput(a *app, path string, write func(io.Writer) error) error {
	switch path {
	case "":
		return nil
	case "-":
		return write(a.stdout)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	a.log.Info("wrote", "file", path)
	return nil
}

// reportExcluded says how many rows of a table the statistics left out.
func reportExcluded(a *app, target, model string, ex evaluate.Excluded) {
	if ex.NoLabel+ex.NoPrediction == 0 {
		return
	}
	fmt.Fprintf(a.stdout, "%s (%s): left out %d rows without a label and %d without a prediction\n", target, model, ex.NoLabel, ex.NoPrediction)
}
