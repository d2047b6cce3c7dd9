package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/report"
	"github.com/cmrfm/cmrfm/retrieval"
)

func newEvaluateRetrievalCmd(a *app) *cobra.Command {
	var files, names []string
	var o retrieval.RetrievalOptions
	var pool string
	var asJSON bool
	var plotDir string
	var plotK int
	cmd := &cobra.Command{
		Use:   "retrieval --index emb.h5 [--index control.h5 …] [--split test] [--pool 32|all]",
		Short: "Text↔video retrieval of a cmrfm embed file: recall@1/5/10 both directions, median rank, chance",
		Long: `retrieval scores cross-modal retrieval between the study (video) embeddings and
the report (text) embeddings of the same studies in a 'cmrfm embed' file —
pretraining's validation metric, on any split and pool size:

  recall@k video→text  the fraction of studies whose own report ranks in the top k
  recall@k text→video  the fraction of reports whose own study ranks in the top k
  median rank          of the partner (1 = first), both directions

--pool 32 ranks each query among 32 candidates (consecutive pools in file
order, a remainder smaller than a pool left out, as pretraining's validation
does); --pool all (default) among every pair of the split. Chance is k/pool
for recall@k and (pool+1)/2 for the median rank.

One rank convention for every recall in cmrfm: rank = 1 + the number of
other candidates scoring at least as high as the partner — ties count
against the model, so a constant (collapsed) model scores recall@k = 0 below
the pool size and median rank = pool, never a perfect score.

Several --index files are scored side by side (e.g. a model and its
shuffled-pairs control); --name labels them (default: the file names).
--plot writes recall@k curves (PNG and SVG).

EXIT STATUS
  0  success
  1  error (no pairs in the split, unreadable file, …)`,
		Example: `  cmrfm evaluate retrieval --index emb.h5 --split test
  cmrfm evaluate retrieval --index matched.h5 --index control.h5 --split test --pool 32 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return fmt.Errorf("evaluate retrieval: --index is required")
			}
			if len(names) > 0 && len(names) != len(files) {
				return fmt.Errorf("evaluate retrieval: %d --name for %d --index", len(names), len(files))
			}
			switch strings.ToLower(pool) {
			case "all", "", "0":
				o.Pool = 0
			default:
				if _, err := fmt.Sscanf(pool, "%d", &o.Pool); err != nil || o.Pool < 2 {
					return fmt.Errorf("evaluate retrieval: --pool %q: want a number ≥ 2 or all", pool)
				}
			}
			var results []*retrieval.RetrievalResult
			for i, p := range files {
				f, err := retrieval.ReadFile(p)
				if err != nil {
					return err
				}
				name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
				if len(names) > 0 {
					name = names[i]
				}
				r, err := retrieval.EvaluateRetrieval(f, name, o)
				if err != nil {
					return err
				}
				results = append(results, r)
			}
			if plotDir != "" {
				p, err := retrieval.RecallPlot("Text↔video retrieval (split "+splitName(o.Split)+")", results, plotK)
				if err != nil {
					return err
				}
				out, err := report.Save(p, plotDir, "retrieval-recall")
				if err != nil {
					return err
				}
				for _, f := range out {
					a.log.Info("plot", "file", f)
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(results)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			head := "model\tsplit\tpairs\tpool"
			for _, k := range results[0].K {
				head += fmt.Sprintf("\tR@%d t→v\tR@%d v→t", k, k)
			}
			fmt.Fprintln(tw, head+"\tmedian rank t→v\tv→t")
			for _, r := range results {
				line := fmt.Sprintf("%s\t%s\t%d\t%d", r.Name, splitName(r.Split), r.Pairs, r.Pool)
				for i := range r.K {
					line += fmt.Sprintf("\t%.3f\t%.3f", r.TextToVideo[i], r.VideoToText[i])
				}
				fmt.Fprintln(tw, line+fmt.Sprintf("\t%g\t%g", r.MedianRankT2V, r.MedianRankV2T))
			}
			r := results[0]
			line := fmt.Sprintf("chance\t\t\t%d", r.Pool)
			for i := range r.K {
				line += fmt.Sprintf("\t%.3f\t%.3f", r.Chance[i], r.Chance[i])
			}
			fmt.Fprintln(tw, line+fmt.Sprintf("\t%g\t%g", r.ChanceMedian, r.ChanceMedian))
			tw.Flush()
			fmt.Fprintln(a.stdout, "ranks:", retrieval.RankConvention)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&files, "index", nil, "embeddings file from cmrfm embed (repeat to compare)")
	f.StringArrayVar(&names, "name", nil, "name of each --index in the output (default: file name)")
	f.StringVar(&o.Split, "split", "", "only studies of this split (default: all)")
	f.StringVar(&pool, "pool", "all", "candidates per query: a number (consecutive pools) or all")
	f.IntSliceVar(&o.K, "k", []int{1, 5, 10}, "recall cut-offs")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.StringVar(&plotDir, "plot", "", "write retrieval-recall.png/.svg (recall@k curves) into this folder")
	f.IntVar(&plotK, "plot-k", 50, "largest k plotted")
	return cmd
}

func splitName(s string) string {
	if s == "" {
		return "all"
	}
	return s
}
