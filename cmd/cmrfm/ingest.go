package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/internal/progress"
)

func newIngestCmd(a *app) *cobra.Command {
	var (
		cfgPath string
		flags   *configFlags
	)
	cmd := &cobra.Command{
		Use:   "ingest --input PATH... --out DIR [--config ingest.yaml]",
		Short: "DICOM (or NIfTI) archive → de-identified HDF5 study store, resumable",
		Long: `ingest reads folders of studies at any nesting, one-study .tar/.tgz/.zip archives,
ACDC-style NIfTI folders and list files of inputs; assigns 4CH/3CH/2CH/SAX views
(the reference's SeriesDescription maps, your --series-map, then geometry);
pre-processes frames (reference 480→360 by default); and writes one .h5 per
study under pseudonymous names, with a JSONL manifest line per study saying
what was written, excluded or failed and why. Rerunning skips finished work.

Flags override the --config file (each flag's help names its key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := ingest.Config{}
			if cfgPath != "" {
				var err error
				if cfg, err = ingest.LoadConfig(cfgPath); err != nil {
					return err
				}
			}
			if err := flags.apply(&cfg); err != nil {
				return err
			}
			if cfg.Workers == 0 {
				cfg.Workers = a.workers
			}
			report, finish := progress.Counter(a.stderr, "ingest", "units")
			sum, err := ingest.Run(cmd.Context(), cfg, a.log, report)
			finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "ingested %d units (%d resumed) in %s: %d studies — %d written (%d views), %d without usable views, %d failed\n",
				sum.Units, sum.UnitsResumed, sum.Elapsed.Round(time.Millisecond), sum.Studies, sum.OK, sum.Views, sum.NoViews, sum.Failed)
			fmt.Fprintf(a.stdout, "store:    %s\nmanifest: %s\nindex:    %s\n", cfg.Out, sum.Manifest, sum.Index)
			if sum.Reports != "" {
				fmt.Fprintf(a.stdout, "reports:  %s\n", sum.Reports)
			}
			if sum.SaltNew {
				fmt.Fprintf(a.stdout, "salt:     %s (new — keep it private and keep it: re-ingesting needs the same salt)\n", sum.SaltFile)
			}
			if len(sum.Duplicates) > 0 {
				fmt.Fprintf(a.stdout, "warning:  %d groups of studies with identical pixels (see duplicate_of in the manifest)\n", len(sum.Duplicates))
			}
			// A study that failed or has no usable view is an item not done
			// (the manifest says why); an input with no study at all failed.
			notDone := sum.Failed + sum.NoViews
			if sum.Studies == 0 {
				return fmt.Errorf("ingest: no study found in %d input units", sum.Units)
			}
			return outcome("ingest", notDone, sum.Studies)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "", "YAML config (keys as in docs/ingest.md)")
	flags = newConfigFlags[ingest.Config](f).
		flag("input", "inputs", "folder, archive, NIfTI folder or list file (repeatable)").
		flag("out", "out", "store root").
		flag("site", "site", `site prefix of patient folders (default "site")`).
		flag("salt-file", "salt_file", "de-identification salt file (default <out>.salt; created if absent)").
		flag("crosswalk", "crosswalk", "write pseudonym↔identifier crosswalk CSV here (only if given)").
		flag("series-map", "series_map", "CSV series_description,view that extends/overrides the built-in maps").
		flag("no-default-series-map", "no_default_series_map", "assign views by geometry only").
		flag("frames", "frames", "reference (480→crop 360, default), model (264→crop 224) or original").
		flag("intensity", "intensity", "window (percentile window to uint8, default) or raw (stored values, float32)").
		flag("channels", "channels", "3 (default, reference compatible) or 1").
		flag("max-frames", "max_frames_per_series", "cap on frames per series (default 2500)").
		flag("shard", "shard", "process only shard i/n of the units (Slurm/Kubernetes job arrays)").
		flag("reports", "reports", "reports (JSONL/CSV keyed by AccessionNumber) to write de-identified").
		flag("labels", "labels", "labels CSV keyed by AccessionNumber, joined into index.csv").
		flag("no-report-deid", "no_report_deid", "do not de-identify report text (only the row's own identifiers are removed)").
		flag("report-dates", "report_dates", "dates in reports: remove (default, → [DATE]) or shift (per-patient salted offset)").
		flag("plain-paths", "plain_paths", "log and record input paths as they are (may contain identifiers)")
	return cmd
}
