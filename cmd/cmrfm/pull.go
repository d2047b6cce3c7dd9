package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/dicomweb"
	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/pull"
)

func newPullCmd(a *app) *cobra.Command {
	var (
		o                           pull.Options
		auth, credFile, accessions  string
		query, store, ingestCfgPath string
		seriesMap                   string
	)
	cmd := &cobra.Command{
		Use:   "pull --server URL (--study UID... | --accessions FILE | --query KEYS) (--out DIR | --ingest STORE)",
		Short: "Fetch studies from a PACS over DICOMweb (QIDO-RS/WADO-RS), resumably; optionally ingest them",
		Long: `pull searches a DICOMweb server (Orthanc, dcm4chee, a cloud endpoint) for studies
by StudyInstanceUID, AccessionNumber (a CSV file) or QIDO-RS matching keys, and
downloads the series ingest would use — localizers, late enhancement and other
non-cine series are skipped unless --all-series — in their stored transfer
syntax, over --transfers concurrent requests.

Everything is written under --out (mode 0700): journal.jsonl, .partial/ while
a study downloads, dicom/<folder>/ when it is complete, and studies.csv, which
maps the folder names used in logs to the studies' UIDs and says what happened
to each. A killed pull, run again, continues without downloading a finished
instance again.

--ingest STORE ingests each study as soon as it is complete (the same store,
manifest and index as "cmrfm ingest --input DIR/dicom --out STORE") and then
deletes its DICOM files unless --keep; DIR defaults to STORE.pull, beside the
store.

Credentials never go on the command line: --auth basic reads
CMRFM_DICOMWEB_USER and CMRFM_DICOMWEB_PASSWORD, --auth bearer reads
CMRFM_DICOMWEB_TOKEN, or --credentials-file FILE (mode 600) holds
user:password or the token.

Exit status: 0 every study pulled, 3 some failed or were not found (a rerun
continues them), 1 none pulled, the pull could not start, or bad flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Server.URL == "" || o.Out == "" && store == "" {
				return fmt.Errorf("pull: --server and --out (or --ingest) are required")
			}
			if o.Server.Auth, err = dicomweb.LoadAuth(auth, credFile, os.Getenv); err != nil {
				return err
			}
			if accessions != "" {
				if o.Accessions, err = pull.ReadAccessions(accessions); err != nil {
					return err
				}
			}
			if query != "" {
				if o.Query, err = pull.ParseQuery(query); err != nil {
					return err
				}
			}
			var icfg ingest.Config
			if ingestCfgPath != "" {
				if icfg, err = ingest.LoadConfig(ingestCfgPath); err != nil {
					return err
				}
			}
			if seriesMap != "" {
				icfg.SeriesMap = seriesMap
			}
			if store != "" {
				icfg.Out = store
				if icfg.Workers == 0 {
					icfg.Workers = a.workers
				}
				o.Ingest = &icfg
			} else if ingestCfgPath != "" {
				return fmt.Errorf("pull: --ingest-config needs --ingest STORE")
			}
			if o.SeriesMap, err = icfg.LoadSeriesMap(); err != nil {
				return err
			}
			o.Log = a.log
			var bar *progress.Bar
			var last time.Time
			o.Events = func(e pull.Event) {
				pr := e.Progress
				switch e.Kind {
				case pull.EventSearched:
					bar = progress.New(a.stderr, pr.Studies, "pull", "studies")
				case pull.EventStudyDone, pull.EventStudyFailed:
					bar.Add(1)
				}
				if bar != nil && time.Since(last) > 200*time.Millisecond {
					last = time.Now()
					mbs := float64(pr.Bytes) / 1e6 / max(pr.Elapsed.Seconds(), 1e-3)
					bar.Describe(fmt.Sprintf("pull %d/%d instances, %.1f MB/s", pr.InstancesDone, pr.Instances, mbs))
				}
			}
			sum, err := pull.Run(cmd.Context(), o)
			if bar != nil {
				bar.Finish()
			}
			if sum != nil {
				printPullSummary(a, sum, o.Ingest != nil)
			}
			if err != nil {
				if sum != nil && sum.Complete > 0 {
					fmt.Fprintln(a.stderr, "cmrfm:", err)
					return exitCode(3)
				}
				return err
			}
			switch {
			case sum.Failed == 0 && sum.NotFound == 0:
				return nil
			case sum.Complete > 0:
				return exitCode(3)
			default:
				return exitCode(1)
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Server.URL, "server", "", "DICOMweb root URL, e.g. http://pacs:8042/dicom-web (required)")
	f.StringVar(&auth, "auth", "", "basic or bearer (credentials from the environment or --credentials-file)")
	f.StringVar(&credFile, "credentials-file", "", "file (mode 600) holding user:password (basic) or the token (bearer)")
	f.StringVar(&o.Server.CABundle, "ca-bundle", "", "PEM file of certificate authorities to trust besides the system's")
	f.StringSliceVar(&o.Studies, "study", nil, "StudyInstanceUID to pull (repeatable)")
	f.StringVar(&accessions, "accessions", "", "CSV of accession numbers (column accession/accession_number/AccessionNumber, or one column)")
	f.StringVar(&query, "query", "", `QIDO-RS study matching keys, e.g. 'ModalitiesInStudy=MR&StudyDate=20240101-20241231'`)
	f.StringVar(&o.Out, "out", "", "pull directory (created mode 0700; default with --ingest: STORE.pull)")
	f.StringVar(&store, "ingest", "", "ingest each complete study into this store")
	f.StringVar(&ingestCfgPath, "ingest-config", "", "ingest YAML config (keys as in docs/ingest.md) for --ingest")
	f.BoolVar(&o.Keep, "keep", false, "keep the DICOM files of ingested studies")
	f.BoolVar(&o.AllSeries, "all-series", false, "download every series, not only those ingest would use")
	f.StringVar(&seriesMap, "series-map", "", "CSV series_description,view extending ingest's built-in map (as cmrfm ingest)")
	f.IntVar(&o.Transfers, "transfers", 4, "concurrent HTTP requests")
	f.IntVar(&o.Server.Retries, "retries", 4, "retries of a failed request (exponential backoff)")
	f.DurationVar(&o.Server.RetryWait, "retry-wait", time.Second, "wait before the first retry (doubles each time, up to 30s)")
	f.DurationVar(&o.Server.StallTimeout, "stall-timeout", time.Minute, "abort a request that receives nothing for this long")
	return cmd
}

func printPullSummary(a *app, s *pull.Summary, ingested bool) {
	mbs := float64(s.Bytes) / 1e6 / max(s.Elapsed.Seconds(), 1e-3)
	fmt.Fprintf(a.stdout, "pulled %d of %d studies in %s (%d already done, %d failed, %d changed on the server during the pull); %d requested keys matched nothing\n",
		s.Complete, s.Studies, s.Elapsed.Round(time.Millisecond), s.AlreadyDone, s.Failed, s.Changed, s.NotFound)
	fmt.Fprintf(a.stdout, "instances: %d downloaded, %d resumed from disk, %d fetched again, %d dropped; %d series used, %d skipped; %.1f MB at %.1f MB/s\n",
		s.Downloaded, s.Resumed, s.Refetched, s.Dropped, s.SeriesUsed, s.SeriesSkipped, float64(s.Bytes)/1e6, mbs)
	for _, f := range s.Failures {
		fmt.Fprintf(a.stdout, "failed:   %s: %s\n", f.Study, f.Err)
	}
	if ingested {
		fmt.Fprintf(a.stdout, "ingested: %d studies in %d ingest runs\n", s.Ingested, s.IngestRuns)
		if s.Ingest != nil {
			fmt.Fprintf(a.stdout, "store:    manifest %s, index %s\n", s.Ingest.Manifest, s.Ingest.Index)
		}
	} else {
		fmt.Fprintf(a.stdout, "dicom:    %s\n", s.DICOM)
	}
	if s.Report != "" {
		fmt.Fprintf(a.stdout, "report:   %s (folder ↔ study UIDs; keep it private)\n", s.Report)
	}
}
