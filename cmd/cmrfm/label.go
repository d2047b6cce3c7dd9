package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/internal/progress"
	"github.com/cmrfm/cmrfm/label"
)

const labelExit = `
EXIT STATUS
  0  every report labelled
  3  partial success: some reports (or labels) failed; their rows say why
  1  nothing labelled, or bad input (the message names the file and field)
  2  usage error`

func newLabelCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "label",
		Short: "Disease labels from reports: rule-based or a local LLM server; agreement; merge into index.csv",
		Long: `label is the step between "cmrfm ingest" (reports.jsonl, index.csv) and
"cmrfm finetune": it reads free-text reports and writes disease labels.

  label rules   keywords + NegEx-style negation/uncertainty (no GPU, transparent)
  label llm     an OpenAI-compatible chat server (vLLM, llama.cpp, Ollama, LM Studio)
  label agree   prevalence, Cohen's kappa, sensitivity/specificity (Wilson 95% CI)
  label merge   label columns into index.csv, ready for finetune

Label tables (labels.csv): study_key, status (ok/partial/failed), error, and
per label <label> (present/absent/uncertain, empty if failed) and
<label>_evidence (the sentence that decided it). See docs/labels.md.`,
	}
	cmd.AddCommand(newLabelRulesCmd(a), newLabelLLMCmd(a), newLabelAgreeCmd(a), newLabelMergeCmd(a))
	return cmd
}

func addReadFlags(cmd *cobra.Command, reports *string, o *label.ReadOptions) {
	f := cmd.Flags()
	f.StringVar(reports, "reports", "", "reports: JSON lines (ingest's reports.jsonl), .csv or .tsv (required)")
	f.StringVar(&o.KeyColumn, "key-column", "study_key", "study key column of the reports")
	f.StringVar(&o.TextColumn, "text-column", "text", "report text column")
	f.IntVar(&o.Limit, "limit", 0, "label only the first N reports (0: all)")
}

func labelOutcome(a *app, s *label.RunSummary) error {
	fmt.Fprintf(a.stdout, "%d reports: %d ok, %d partial, %d failed → %s\n", s.Reports, s.OK, s.Partial, s.Failed, s.Out)
	if c := s.Outcome(); c != 0 {
		return exitCode(c)
	}
	return nil
}

func newLabelRulesCmd(a *app) *cobra.Command {
	var c label.RulesRun
	cmd := &cobra.Command{
		Use:   "rules --reports reports.jsonl [--rules rules.yaml] --out labels.csv",
		Short: "Label reports with keywords and negation/uncertainty scopes",
		Long: `rules splits each report into sentences (cmrfm's report splitter), skips the
indication and history sections, finds each label's keywords, and reads each
mention as affirmed, negated ("no", "without", "ruled out"), uncertain
("possible", "cannot be excluded", "?") or ignored ("family history of") by
the nearest trigger within --rules' max_words. A label is present if any
mention is affirmed, else uncertain, else absent.

--rules takes a YAML rule file or a built-in one: builtin:phantom (the
phantom cohort's normal, dcm, hcm, infarct, effusion; the default) or
builtin:mtsamples (pericardial effusion, LV hypertrophy, LV and LA dilation,
aortic stenosis in echo/cardiology reports).` + labelExit,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.Reports == "" || c.Out == "" {
				return errors.New("label rules: --reports and --out are required")
			}
			var bar *progress.Bar
			c.Progress = func(done, total int) {
				if bar == nil {
					bar = progress.New(a.stderr, total, "label rules", "reports")
				}
				bar.Add(1)
			}
			s, err := label.RunRules(cmd.Context(), c)
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			return labelOutcome(a, s)
		},
	}
	addReadFlags(cmd, &c.Reports, &c.Read)
	f := cmd.Flags()
	f.StringVar(&c.Rules, "rules", "builtin:phantom", "rule file (YAML) or builtin:phantom / builtin:mtsamples")
	f.StringVar(&c.Out, "out", "", "label table to write (required)")
	return cmd
}

func newLabelLLMCmd(a *app) *cobra.Command {
	var (
		c       label.LLMRun
		format  string
		keyEnv  string
		dryRun  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "llm --reports reports.jsonl --server URL --model NAME [--prompts prompts.yaml] --out labels.csv",
		Short: "Label reports with a local LLM through an OpenAI-compatible chat server",
		Long: `llm asks an OpenAI-compatible /v1/chat/completions server (vLLM, llama.cpp's
llama-server, Ollama, LM Studio) one fixed, versioned question per label and
report, at temperature 0, for {"answer": present|absent|uncertain,
"evidence": "<sentence quoted from the report>"}. Structured output:
--response-format auto asks for a JSON schema and steps down to JSON mode,
then to the prompt alone, when the server rejects it. Every answer is
validated (the quote must be in the report) and retried up to 2 more times;
a label that never validates is left empty with the reason in the row.

Requests run --concurrency at a time, retry with exponential backoff on 429,
5xx, timeouts and broken connections (honouring Retry-After), and every
validated answer goes to the cache (--cache, default <out>.cache.jsonl,
keyed by model, prompt version and text, and report hash): a rerun or a
killed run asks only what is not cached.

--prompts takes a YAML prompt file or builtin:phantom (the phantom cohort's
labels; the default) or builtin:paper (the paper's 35 targets by name).
The API key, if the server needs one, is read from the environment variable
named by --api-key-env (never from a flag). --dry-run prints the first
request and exits.` + labelExit,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.Reports == "" || c.Out == "" && !dryRun || c.LLM.Server == "" || c.LLM.Model == "" {
				return errors.New("label llm: --reports, --server, --model and --out are required")
			}
			var err error
			if c.LLM.Format, err = label.ParseResponseFormat(format); err != nil {
				return err
			}
			c.LLM.Timeout = timeout
			if dryRun {
				return c.DryRun(a.stdout)
			}
			if keyEnv != "" {
				c.LLM.APIKey = os.Getenv(keyEnv)
			}
			c.LLM.Log = a.log
			var bar *progress.Bar
			c.LLM.Progress = func(p label.LLMProgress) {
				if bar == nil {
					bar = progress.New(a.stderr, p.Total, "label llm", "requests")
				}
				tps := 0.0
				if s := p.Elapsed.Seconds(); s > 0 {
					tps = float64(p.CompletionTokens) / s
				}
				bar.Describe(fmt.Sprintf("label llm (%d cached, %d failed, %.1f tok/s)", p.Cached, p.Failed, tps))
				bar.Add(1)
			}
			s, ls, err := label.RunLLM(cmd.Context(), c)
			if bar != nil {
				bar.Finish()
			}
			if ls != nil {
				a.log.Info("label llm", "requests", ls.Requests, "cached", ls.Cached, "answered", ls.Answered, "failed", ls.Failed,
					"retries", ls.Retries, "invalid answers", ls.Invalid, "prompt tokens", ls.PromptTokens,
					"completion tokens", ls.CompletionTokens, "response format", ls.Format, "server model", ls.ServerModel)
			}
			if s == nil {
				return err
			}
			if err != nil {
				fmt.Fprintln(a.stderr, "cmrfm:", err)
			}
			return labelOutcome(a, s)
		},
	}
	addReadFlags(cmd, &c.Reports, &c.Read)
	f := cmd.Flags()
	f.StringVar(&c.LLM.Server, "server", "", "server base URL, e.g. http://127.0.0.1:8080 (required)")
	f.StringVar(&c.LLM.Model, "model", "", "model name as the server knows it (required)")
	f.StringVar(&c.Prompts, "prompts", "builtin:phantom", "prompt file (YAML) or builtin:phantom / builtin:paper")
	f.StringSliceVar(&c.Labels, "labels", nil, "label only these labels of the prompt file (comma-separated)")
	f.StringVar(&c.Out, "out", "", "label table to write (required)")
	f.StringVar(&c.CachePath, "cache", "", "answer cache, JSON lines (default <out>.cache.jsonl)")
	f.IntVar(&c.LLM.Concurrency, "concurrency", 4, "requests in flight")
	f.StringVar(&format, "response-format", "auto", "structured output: auto, json_schema, json_object or none")
	f.BoolVar(&c.LLM.Stream, "stream", false, "ask for streamed (server-sent event) responses")
	f.DurationVar(&timeout, "timeout", 120*time.Second, "timeout of one request")
	f.IntVar(&c.LLM.MaxAttempts, "max-attempts", 6, "tries per request on 429/5xx/timeouts")
	f.IntVar(&c.LLM.MaxInvalid, "max-invalid-retries", 2, "extra tries for an answer that fails validation")
	f.StringVar(&keyEnv, "api-key-env", "CMRFM_LLM_API_KEY", "environment variable holding the API key (if the server needs one)")
	f.BoolVar(&dryRun, "dry-run", false, "print the first rendered request and exit")
	f.BoolVar(&c.LLM.SkipModelCheck, "skip-model-check", false, "do not check GET /v1/models for the model first")
	return cmd
}

func newLabelAgreeCmd(a *app) *cobra.Command {
	var (
		c        label.AgreeRun
		maxKeys  int
		truthMap []string
	)
	cmd := &cobra.Command{
		Use:   "agree --pred labels.csv --truth labels.csv",
		Short: "Per-label agreement of a labeller with a reference: prevalence, kappa, sensitivity, specificity",
		Long: `agree compares two label tables key by key: a label table from "label rules" or
"label llm", and ground truth — any CSV with 0/1 (or present/absent) columns
of the same names: the phantom's labels.csv, a hand-labelled file, or an
index.csv (keyed by parent_folder-accession). It prints, per label, the
number compared, prevalence in both, Cohen's kappa, sensitivity and
specificity with Wilson 95% intervals, and the disagreeing keys.
Uncertain answers are left out by default (--uncertain drop) or counted as
0 or 1; failed cells and keys missing from one table are counted apart.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.Pred == "" || c.Truth == "" {
				return errors.New("label agree: --pred and --truth are required")
			}
			for _, m := range truthMap {
				p, t, ok := strings.Cut(m, "=")
				if !ok {
					return fmt.Errorf("label agree: --map %q: want PRED=TRUTH", m)
				}
				if c.Options.TruthColumns == nil {
					c.Options.TruthColumns = map[string]string{}
				}
				c.Options.TruthColumns[p] = t
			}
			as, err := label.RunAgree(c)
			if err != nil {
				return err
			}
			return label.WriteAgreementText(a.stdout, as, maxKeys)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Pred, "pred", "", "label table of the labeller (required)")
	f.StringVar(&c.Truth, "truth", "", "reference label table (required)")
	f.StringVar(&c.PredKey, "pred-key", "", "key column of --pred (default: study_key, filenames or parent_folder-accession)")
	f.StringVar(&c.TruthKey, "truth-key", "", "key column of --truth (default as --pred-key)")
	f.StringSliceVar(&c.Options.Labels, "labels", nil, "labels to compare (default: every label column both tables have)")
	f.StringSliceVar(&truthMap, "map", nil, "PRED=TRUTH: compare pred column PRED with truth column TRUTH (repeatable)")
	f.StringVar(&c.Options.Uncertain, "uncertain", "drop", "uncertain answers: drop, 0 or 1")
	f.StringVar(&c.Out, "out", "", "write the per-label table as CSV")
	f.StringVar(&c.Disagreements, "disagreements", "", "write every disagreement (label, key, both answers, evidence) as CSV")
	f.IntVar(&maxKeys, "show-keys", 20, "disagreeing keys printed per label (-1: all)")
	return cmd
}

func newLabelMergeCmd(a *app) *cobra.Command {
	var c label.MergeRun
	cmd := &cobra.Command{
		Use:   "merge --labels labels.csv --index index.csv [--out new-index.csv]",
		Short: "Merge a label table into the dataset index (index.csv) for finetune",
		Long: `merge writes the labels of a label table into a dataset index as 0/1 columns,
joined on the study key (ingest's reports.jsonl and index.csv use the same
key, parent_folder-accession). Uncertain answers become an empty cell (a
missing label, which finetune leaves out of the loss; --uncertain drop, the
default), 0 or 1; failed cells and studies without a label row stay empty.
--prefix names the new columns (rules_dcm) so they can sit beside ground
truth; an existing column is an error unless --overwrite. The index is
rewritten atomically (in place unless --out).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.Labels == "" || c.Index == "" {
				return errors.New("label merge: --labels and --index are required")
			}
			s, err := label.RunMerge(c)
			if err != nil {
				return err
			}
			out := c.Out
			if out == "" {
				out = c.Index
			}
			fmt.Fprintf(a.stdout, "merged %s into %s: %d studies labelled, %d without labels, %d label rows without a study\n",
				strings.Join(s.Columns, ","), out, s.Matched, s.Unlabelled, len(s.Orphans))
			for _, col := range s.Columns {
				if s.Empty[col] > 0 {
					fmt.Fprintf(a.stdout, "  %s: %d empty cells (failed, uncertain dropped, or no label row)\n", col, s.Empty[col])
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Labels, "labels", "", "label table (required)")
	f.StringVar(&c.Index, "index", "", "dataset index to merge into (required)")
	f.StringVar(&c.Out, "out", "", "index to write (default: replace --index)")
	f.StringSliceVar(&c.Options.Labels, "only", nil, "merge only these labels (comma-separated)")
	f.StringVar(&c.Options.Uncertain, "uncertain", "drop", "uncertain answers: drop (empty cell), 0 or 1")
	f.StringVar(&c.Options.Prefix, "prefix", "", "prefix for the new column names")
	f.BoolVar(&c.Options.Overwrite, "overwrite", false, "replace existing index columns of the same name")
	return cmd
}
