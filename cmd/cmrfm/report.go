package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/report"
)

func newReportCmd(a *app) *cobra.Command {
	var o report.HTMLOptions
	cmd := &cobra.Command{
		Use:   "report --run DIR… [--predictions P…] [--explain DIR] --out report.html",
		Short: "One self-contained HTML page: cohort, the paper's tables and figures, training curves, attention, provenance",
		Long: `report writes one HTML file that a clinician or reviewer opens in any browser,
offline: styles, scripts and figures are inside the file, and nothing is
fetched (a Content-Security-Policy forbids it).

It shows
  - the cohort: studies per split, label prevalence or mean ± SD per split,
    views found in the study files (--store, or the store a run trained on);
  - per predictions table (cmrfm predict output; --baseline pairs a second
    model's table with it, by position): for LVEF-style regression MAE, RMSE,
    Pearson r, Bland–Altman bias and limits of agreement, the AUROC of the
    cut-off outcome (LVEF < 40) with DeLong's 95 % CI, scatter, Bland–Altman
    and ROC figures; for each disease AUROC with DeLong's 95 % CI, the
    operating points (Youden's J, sensitivity 0.90, specificity 0.90) and
    the ROC curve; with a baseline, both models and DeLong's test;
  - a sortable table of every study (prediction, label, error, attention per
    view), its best and worst studies linked to their attention videos;
  - per run (--run: a cmrfm finetune or pretrain folder) the training curves,
    the final metrics and the configuration;
  - with --explain (a cmrfm explain folder) the view-attention map, the UMAP
    and the attention videos;
  - provenance: cmrfm version, this command line, the machine, and the
    SHA-256 of every checkpoint and predictions table.
The page prints cleanly and reads on a phone.

EXIT STATUS
  0  the report was written
  1  an input is missing or malformed (the message names it)
  2  usage error`,
		Example: `  cmrfm report --run runs/lvef --predictions runs/lvef/test.csv --out report.html
  cmrfm report --run runs/dx --predictions runs/dx/test --baseline runs/dx-kinetics/test --explain runs/explain --out dx.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			usage := func(msg string) error {
				fmt.Fprintf(a.stderr, "cmrfm report: %s\n%s", msg, cmd.UsageString())
				return exitCode(2)
			}
			if o.Out == "" {
				return usage("--out is required")
			}
			if len(o.Runs) == 0 && len(o.Predictions) == 0 {
				return usage("give at least one --run or --predictions")
			}
			o.Version = versionString()
			o.Command = append([]string{"cmrfm"}, os.Args[1:]...)
			p, err := report.WriteHTML(o)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s (%d tasks, %d runs)\n", o.Out, len(p.Tasks), len(p.Runs))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Runs, "run", nil, "training run folder (cmrfm finetune/pretrain --out); repeatable")
	f.StringArrayVar(&o.Predictions, "predictions", nil, "cmrfm predict table (CSV, or a folder of one per target); repeatable")
	f.StringArrayVar(&o.Baselines, "baseline", nil, "baseline predictions paired by position with --predictions; repeatable")
	f.StringVar(&o.ModelName, "model-name", "model", "name of the evaluated model in tables and figures")
	f.StringVar(&o.BaselineName, "baseline-name", "baseline", "name of the baseline model")
	f.StringVar(&o.Explain, "explain", "", "cmrfm explain output folder")
	f.StringVar(&o.Store, "store", "", "study store for the cohort section (default: the first run's store)")
	f.StringVar(&o.Index, "index", "", "dataset index CSV (default <store>/index.csv)")
	f.StringVar(&o.Title, "title", "cmrfm report", "page title")
	f.StringVar(&o.Out, "out", "", "HTML file to write")
	return cmd
}
