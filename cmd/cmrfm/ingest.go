package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/ingest"
)

func newIngestCmd(a *app) *cobra.Command {
	var (
		cfgPath string
		c       ingest.Config
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

Flags override the --config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := ingest.Config{}
			if cfgPath != "" {
				var err error
				if cfg, err = ingest.LoadConfig(cfgPath); err != nil {
					return err
				}
			}
			merge(cmd, &cfg, &c)
			if cfg.Workers == 0 {
				cfg.Workers = a.workers
			}
			sum, err := ingest.Run(cmd.Context(), cfg, a.log, a.stderr)
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
	f.StringSliceVar(&c.Inputs, "input", nil, "folder, archive, NIfTI folder or list file (repeatable)")
	f.StringVar(&c.Out, "out", "", "store root")
	f.StringVar(&c.Site, "site", "", `site prefix of patient folders (default "site")`)
	f.StringVar(&c.SaltFile, "salt-file", "", "de-identification salt file (default <out>.salt; created if absent)")
	f.StringVar(&c.Crosswalk, "crosswalk", "", "write pseudonym↔identifier crosswalk CSV here (only if given)")
	f.StringVar(&c.SeriesMap, "series-map", "", "CSV series_description,view that extends/overrides the built-in maps")
	f.BoolVar(&c.NoDefaultSeriesMap, "no-default-series-map", false, "assign views by geometry only")
	f.StringVar(&c.Frames, "frames", "", "reference (480→crop 360, default), model (264→crop 224) or original")
	f.StringVar(&c.Intensity, "intensity", "", "window (percentile window to uint8, default) or raw (stored values, float32)")
	f.IntVar(&c.Channels, "channels", 0, "3 (default, reference compatible) or 1")
	f.IntVar(&c.MaxFramesPerSeries, "max-frames", 0, "cap on frames per series (default 2500)")
	f.StringVar(&c.Shard, "shard", "", "process only shard i/n of the units (Slurm/Kubernetes job arrays)")
	f.StringVar(&c.Reports, "reports", "", "reports (JSONL/CSV keyed by AccessionNumber) to write de-identified")
	f.StringVar(&c.Labels, "labels", "", "labels CSV keyed by AccessionNumber, joined into index.csv")
	f.BoolVar(&c.NoReportDeid, "no-report-deid", false, "do not de-identify report text (only the row's own identifiers are removed)")
	f.StringVar(&c.ReportDates, "report-dates", "", "dates in reports: remove (default, → [DATE]) or shift (per-patient salted offset)")
	f.BoolVar(&c.PlainPaths, "plain-paths", false, "log and record input paths as they are (may contain identifiers)")
	return cmd
}

// merge copies the flags the user set into cfg.
func merge(cmd *cobra.Command, cfg, flags *ingest.Config) {
	set := func(name string) bool { return cmd.Flags().Changed(name) }
	if set("input") {
		cfg.Inputs = flags.Inputs
	}
	if set("out") {
		cfg.Out = flags.Out
	}
	if set("site") {
		cfg.Site = flags.Site
	}
	if set("salt-file") {
		cfg.SaltFile = flags.SaltFile
	}
	if set("crosswalk") {
		cfg.Crosswalk = flags.Crosswalk
	}
	if set("series-map") {
		cfg.SeriesMap = flags.SeriesMap
	}
	if set("no-default-series-map") {
		cfg.NoDefaultSeriesMap = flags.NoDefaultSeriesMap
	}
	if set("frames") {
		cfg.Frames = flags.Frames
	}
	if set("intensity") {
		cfg.Intensity = flags.Intensity
	}
	if set("channels") {
		cfg.Channels = flags.Channels
	}
	if set("max-frames") {
		cfg.MaxFramesPerSeries = flags.MaxFramesPerSeries
	}
	if set("shard") {
		cfg.Shard = flags.Shard
	}
	if set("reports") {
		cfg.Reports = flags.Reports
	}
	if set("labels") {
		cfg.Labels = flags.Labels
	}
	if set("no-report-deid") {
		cfg.NoReportDeid = flags.NoReportDeid
	}
	if set("report-dates") {
		cfg.ReportDates = flags.ReportDates
	}
	if set("plain-paths") {
		cfg.PlainPaths = flags.PlainPaths
	}
}
