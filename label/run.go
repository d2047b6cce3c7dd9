package label

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/store"
)

// RunSummary counts the rows of a labelling run's output.
type RunSummary struct {
	Reports, OK, Partial, Failed int
	Out                          string
}

// Outcome maps a summary to cmrfm's batch exit codes: 0 every report
// labelled, 3 some failed or partial, 1 none labelled.
func (s *RunSummary) Outcome() int {
	switch {
	case s.Reports > 0 && s.OK == s.Reports:
		return 0
	case s.OK+s.Partial > 0:
		return 3
	}
	return 1
}

func summarize(labels []string, rs []Result, out string) *RunSummary {
	s := &RunSummary{Reports: len(rs), Out: out}
	for _, r := range rs {
		switch r.Status(labels) {
		case "ok":
			s.OK++
		case "partial":
			s.Partial++
		default:
			s.Failed++
		}
	}
	return s
}

// RulesRun is one "cmrfm label rules" run.
type RulesRun struct {
	Reports  string // reports file (JSONL, CSV, TSV)
	Read     ReadOptions
	Rules    string // rule file or builtin:NAME
	Out      string // label table to write
	Progress func(done, total int)
}

// RunRules reads the reports, labels them with the rules and writes the
// label table atomically.
func RunRules(ctx context.Context, c RulesRun) (*RunSummary, error) {
	rules, err := LoadRules(c.Rules)
	if err != nil {
		return nil, err
	}
	reports, err := ReadReports(c.Reports, c.Read)
	if err != nil {
		return nil, err
	}
	rs, err := rules.LabelReports(ctx, reports, c.Progress)
	if err != nil {
		return nil, err
	}
	if err := WriteTableFile(c.Out, rules.Labels(), rs); err != nil {
		return nil, err
	}
	return summarize(rules.Labels(), rs, c.Out), nil
}

// LLMRun is one "cmrfm label llm" run.
type LLMRun struct {
	Reports string
	Read    ReadOptions
	Prompts string   // prompt file or builtin:NAME
	Labels  []string // subset of the prompt file's labels (nil: all)
	Out     string
	// CachePath is the answer cache (JSON lines; "" : <Out>.cache.jsonl).
	CachePath string
	LLM       LLMOptions
}

// LoadRun reads the prompt file and the reports of a run (what --dry-run
// needs without contacting the server).
func (c *LLMRun) LoadRun() (*Prompts, []Report, error) {
	p, err := LoadPrompts(c.Prompts)
	if err != nil {
		return nil, nil, err
	}
	if p, err = p.Select(c.Labels); err != nil {
		return nil, nil, err
	}
	reports, err := ReadReports(c.Reports, c.Read)
	if err != nil {
		return nil, nil, err
	}
	return p, reports, nil
}

// DryRun writes the request the run would send first: the first label of
// the first readable report.
func (c *LLMRun) DryRun(w io.Writer) error {
	p, reports, err := c.LoadRun()
	if err != nil {
		return err
	}
	for _, r := range reports {
		if r.Problem != "" {
			continue
		}
		l := p.Labels()[0]
		b, err := RenderRequest(p, l, c.LLM.Model, r.Text, c.LLM.Format, c.LLM.Stream)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "# POST %s/v1/chat/completions — study %s, label %s, prompt %s (%d reports × %d labels = %d requests)\n",
			c.LLM.Server, r.Key, l, p.Version(l), len(reports), len(p.Labels()), len(reports)*len(p.Labels()))
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	return fmt.Errorf("label: %s: no readable report", c.Reports)
}

// RunLLM labels the reports through the server and writes the label table
// atomically. The table is written even when the run stops early on a
// server error (failed cells say why); the cache keeps every answer.
func RunLLM(ctx context.Context, c LLMRun) (*RunSummary, *LLMSummary, error) {
	p, reports, err := c.LoadRun()
	if err != nil {
		return nil, nil, err
	}
	if c.CachePath == "" {
		c.CachePath = c.Out + ".cache.jsonl"
	}
	cache, err := OpenCache(c.CachePath)
	if err != nil {
		return nil, nil, err
	}
	defer cache.Close()
	o := c.LLM
	o.Cache = cache
	rs, ls, runErr := LabelLLM(ctx, reports, p, o)
	if rs == nil {
		return nil, nil, runErr
	}
	if err := WriteTableFile(c.Out, p.Labels(), rs); err != nil {
		return nil, ls, err
	}
	return summarize(p.Labels(), rs, c.Out), ls, runErr
}

// AgreeRun is one "cmrfm label agree" run.
type AgreeRun struct {
	Pred, Truth       string
	PredKey, TruthKey string
	Options           AgreeOptions
	// Out, if set, receives the per-label CSV; Disagreements, if set, one
	// row per disagreeing (label, key) with both answers and the evidence.
	Out, Disagreements string
}

// RunAgree compares two label tables and writes the requested files.
func RunAgree(c AgreeRun) ([]Agreement, error) {
	pred, err := ReadTable(c.Pred, c.PredKey)
	if err != nil {
		return nil, err
	}
	truth, err := ReadTable(c.Truth, c.TruthKey)
	if err != nil {
		return nil, err
	}
	as, err := Agree(pred, truth, c.Options)
	if err != nil {
		return nil, err
	}
	if c.Out != "" {
		if err := fsutil.WriteFileAtomic(c.Out, func(w io.Writer) error { return WriteAgreementCSV(w, as) }); err != nil {
			return nil, fmt.Errorf("label: %w", err)
		}
	}
	if c.Disagreements != "" {
		err := fsutil.WriteFileAtomic(c.Disagreements, func(w io.Writer) error { return writeDisagreements(w, as, pred, truth, c.Options) })
		if err != nil {
			return nil, fmt.Errorf("label: %w", err)
		}
	}
	return as, nil
}

// MergeRun is one "cmrfm label merge" run.
type MergeRun struct {
	Labels  string // label table
	Index   string // dataset index to read
	Out     string // index to write ("": replace Index, atomically)
	Options MergeOptions
}

// RunMerge merges a label table into a dataset index.
func RunMerge(c MergeRun) (*MergeSummary, error) {
	t, err := ReadTable(c.Labels, "")
	if err != nil {
		return nil, err
	}
	f, err := os.Open(c.Index)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	idx, err := store.ReadIndex(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("label: %s: %w", c.Index, err)
	}
	s, err := Merge(idx, t, c.Options)
	if err != nil {
		return nil, err
	}
	out := c.Out
	if out == "" {
		out = c.Index
	}
	if err := fsutil.WriteFileAtomic(out, idx.Write); err != nil {
		return nil, fmt.Errorf("label: writing %s: %w", out, err)
	}
	return s, nil
}
