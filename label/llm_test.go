package label

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// llmFixture: a few phantom-style reports, the phantom prompt file, and a
// double whose oracle is the phantom rule labeller (its evidence is a real
// sentence of the report, so answers validate).
type llmFixture struct {
	reports []Report
	prompts *Prompts
	double  *chatDouble
	rules   *Rules
}

var fixtureReports = []string{
	"FINDINGS:\nThe left ventricle is normal in size and wall thickness.\nNo pericardial effusion.\n\nIMPRESSION: Structurally normal heart.",
	"INDICATION: Family history of hypertrophic cardiomyopathy.\n\nFINDINGS:\nMaximal wall thickness 21 mm.\n\nIMPRESSION: Appearances are consistent with hypertrophic cardiomyopathy (MWT 21 mm).",
	"FINDINGS:\nDilated LV, EDV 250 mL.\nThere is a small circumferential pericardial effusion measuring up to 8 mm.\n\nIMPRESSION:\n1. DCM phenotype, LVEF 25%.\n2. Associated pericardial effusion.",
}

func newLLMFixture(t *testing.T) *llmFixture {
	t.Helper()
	f := &llmFixture{rules: phantomRules(t)}
	for i, txt := range fixtureReports {
		f.reports = append(f.reports, Report{Key: string(rune('a' + i)), Text: txt, Line: i + 1})
	}
	var err error
	if f.prompts, err = LoadPrompts("builtin:phantom"); err != nil {
		t.Fatal(err)
	}
	f.double = newChatDouble(t, f.oracle)
	return f
}

// oracle answers as the phantom rules do; a present or uncertain answer
// without a deciding sentence ("normal": none of the diseases) quotes the
// report's last sentence.
func (f *llmFixture) oracle(label, report string) (Answer, string) {
	x := f.rules.Label(report)[label]
	if x.Answer != Absent && x.Evidence == "" {
		ss := f.rules.split.Sentences(report)
		x.Evidence = ss[len(ss)-1]
	}
	return x.Answer, x.Evidence
}

func (f *llmFixture) opts() LLMOptions {
	return LLMOptions{Server: f.double.URL(), Model: "test-model", Concurrency: 3, BaseBackoff: 5 * time.Millisecond,
		MaxBackoff: 2 * time.Second, Timeout: 5 * time.Second}
}

func (f *llmFixture) run(t *testing.T, o LLMOptions) ([]Result, *LLMSummary, error) {
	t.Helper()
	return LabelLLM(context.Background(), f.reports, f.prompts, o)
}

// want checks every label of every report against the rule oracle.
func (f *llmFixture) want(t *testing.T, rs []Result) {
	t.Helper()
	for i, r := range rs {
		for _, l := range f.prompts.Labels() {
			a, ev := f.oracle(l, f.reports[i].Text)
			if r.Labels[l].Answer != a || r.Labels[l].Evidence != ev {
				t.Errorf("report %s, %s: got %+v, want %s %q", r.Key, l, r.Labels[l], a, ev)
			}
		}
	}
}

func TestLLMRequests(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "stream"}[stream], func(t *testing.T) {
			f := newLLMFixture(t)
			o := f.opts()
			o.Stream = stream
			rs, s, err := f.run(t, o)
			if err != nil {
				t.Fatal(err)
			}
			f.want(t, rs)
			n := len(f.reports) * len(f.prompts.Labels())
			if f.double.count() != n || s.Answered != n || s.Failed != 0 || s.Retries != 0 || s.Format != FormatAuto {
				t.Errorf("%d requests for %d questions; summary %+v", f.double.count(), n, s)
			}
			if s.CompletionTokens == 0 || s.PromptTokens == 0 || s.ServerModel != "test-model" {
				t.Errorf("usage not read: %+v", s)
			}
			req := f.double.requests[0]
			if *req.Temperature != 0 || req.ResponseFormat["type"] != "json_schema" || req.Stream != stream || *req.Seed != 0 {
				t.Errorf("request: %+v", req)
			}
			if stream && req.StreamOptions["include_usage"] != true {
				t.Errorf("stream_options: %v", req.StreamOptions)
			}
			if req.Messages[0].Role != "system" || !strings.Contains(req.Messages[1].Content, fixtureReports[0]) && !strings.Contains(req.Messages[1].Content, fixtureReports[1]) &&
				!strings.Contains(req.Messages[1].Content, fixtureReports[2]) {
				t.Errorf("messages: %+v", req.Messages)
			}
		})
	}
}

// TestLLMRetries: 429 with Retry-After, 500s, slow answers past the
// timeout, streams cut before [DONE] and a 200 that is not JSON are
// retried; Retry-After is
// honoured (the base backoff is 5 ms, so only the header explains a 1 s
// gap).
func TestLLMRetries(t *testing.T) {
	f := newLLMFixture(t)
	f.reports = f.reports[:1]
	f.prompts, _ = f.prompts.Select([]string{"hcm", "effusion"})
	f.double.misbehave = func(n int, label string) *action {
		switch n {
		case 1:
			return &action{status: 429, retryAfter: "1"}
		case 2:
			return &action{status: 500}
		case 3:
			return &action{status: 503}
		case 4:
			return &action{delay: 2 * time.Second} // past the 300 ms timeout
		case 5:
			return &action{cutStream: true}
		case 6:
			return &action{raw: "<html><body>502 Bad Gateway</body></html>"}
		}
		return nil
	}
	o := f.opts()
	o.Concurrency, o.Stream, o.Timeout, o.MaxAttempts = 1, true, 300*time.Millisecond, 8
	rs, s, err := f.run(t, o)
	if err != nil {
		t.Fatal(err)
	}
	f.want(t, rs)
	if s.Retries != 6 || s.Answered != 2 || f.double.count() != 8 {
		t.Errorf("retries %d, answered %d, requests %d: %+v", s.Retries, s.Answered, f.double.count(), s)
	}
	if gap := f.double.times[1].Sub(f.double.times[0]); gap < time.Second {
		t.Errorf("second request %v after a 429 with Retry-After: 1", gap)
	}
	// Not streamed, a 200 whose body is not a chat completion is retried too.
	f.double.n = 0
	f.double.misbehave = func(n int, label string) *action {
		if n == 1 {
			return &action{raw: "<html><body>upstream error</body></html>"}
		}
		return nil
	}
	o.Stream = false
	rs, s, err = f.run(t, o)
	if err != nil || s.Retries != 1 || s.Answered != 2 {
		t.Errorf("non-JSON body: %v %+v", err, s)
	}
	f.want(t, rs)
	// A server that keeps failing: the label fails after MaxAttempts, with
	// the reason; the other label still gets its answer.
	f.double.misbehave = func(n int, label string) *action {
		if label == "hcm" {
			return &action{status: 502}
		}
		return nil
	}
	f.double.n = 0
	o.MaxAttempts = 3
	rs, s, err = f.run(t, o)
	if err != nil {
		t.Fatal(err)
	}
	if e := rs[0].Labels["hcm"].Err; rs[0].Labels["hcm"].Answer != "" || !strings.Contains(e, "gave up after 3 attempts") || !strings.Contains(e, "HTTP 502") {
		t.Errorf("hcm: %+v", rs[0].Labels["hcm"])
	}
	if rs[0].Labels["effusion"].Answer != Absent || rs[0].Status(f.prompts.Labels()) != "partial" || s.Failed != 1 {
		t.Errorf("effusion: %+v; summary %+v", rs[0].Labels["effusion"], s)
	}
}

// TestLLMValidation: truncated JSON, wrong schemas, made-up evidence and
// prose are retried; an answer that never validates is a failure, never a
// label.
func TestLLMValidation(t *testing.T) {
	bad := []string{
		`{"answer": "pres`,                                          // truncated
		`{"label": "hcm", "value": true}`,                           // wrong schema
		`{"answer": "yes", "evidence": ""}`,                         // not in the enum
		`{"answer": "present", "evidence": "The patient has HCM."}`, // evidence not in the report
		`{"answer": "present", "evidence": ""}`,                     // present without a quote
		`Sure! The answer is present.`,                              // prose
		`{"answer": "absent", "evidence": "", "note": "x"}`,         // extra key
		`{"answer": "absent", "evidence": ""} trailing`,             // text after the object
	}
	for i, content := range bad {
		f := newLLMFixture(t)
		f.reports = f.reports[1:2]
		f.prompts, _ = f.prompts.Select([]string{"hcm"})
		c := content
		f.double.misbehave = func(n int, label string) *action {
			if n == 1 {
				return &action{content: &c}
			}
			return nil
		}
		rs, s, err := f.run(t, f.opts())
		if err != nil {
			t.Fatal(err)
		}
		if rs[0].Labels["hcm"].Answer != Present || s.Invalid != 1 || f.double.count() != 2 {
			t.Errorf("case %d %q: %+v, summary %+v", i, content, rs[0].Labels["hcm"], s)
		}
	}
	// finish_reason "length" is a truncated answer even if it parses.
	f := newLLMFixture(t)
	f.reports = f.reports[1:2]
	f.prompts, _ = f.prompts.Select([]string{"hcm"})
	always := `{"answer": "present", "evidence": "made up"}`
	f.double.misbehave = func(n int, label string) *action { return &action{content: &always, finish: "length"} }
	rs, s, err := f.run(t, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	fd := rs[0].Labels["hcm"]
	if fd.Answer != "" || !strings.Contains(fd.Err, "no valid answer after 3 tries") || !strings.Contains(fd.Err, "truncated") || s.Failed != 1 {
		t.Errorf("never valid: %+v %+v", fd, s)
	}
	// A fenced JSON answer is accepted.
	fenced := "```json\n{\"answer\": \"present\", \"evidence\": \"Maximal wall thickness 21 mm.\"}\n```"
	f.double.misbehave = func(n int, label string) *action { return &action{content: &fenced} }
	rs, _, _ = f.run(t, f.opts())
	if rs[0].Labels["hcm"].Answer != Present {
		t.Errorf("fenced: %+v", rs[0].Labels["hcm"])
	}
}

// TestLLMFormatFallback: a server without json_schema support gets JSON
// mode, and the run remembers it.
func TestLLMFormatFallback(t *testing.T) {
	f := newLLMFixture(t)
	f.double.noSchema = true
	o := f.opts()
	o.Concurrency = 1
	rs, s, err := f.run(t, o)
	if err != nil {
		t.Fatal(err)
	}
	f.want(t, rs)
	n := len(f.reports) * len(f.prompts.Labels())
	if s.Format != FormatJSONObject || f.double.count() != n+1 || s.Retries != 0 {
		t.Errorf("format %s after %d requests for %d questions", s.Format, f.double.count(), n)
	}
	// Asked for json_schema explicitly, the 400 is a failure, not a silent
	// downgrade.
	f.double.n = 0
	o.Format = FormatJSONSchema
	rs, _, _ = f.run(t, o)
	if rs[0].Labels["dcm"].Answer != "" || !strings.Contains(rs[0].Labels["dcm"].Err, "json_schema is not supported") {
		t.Errorf("explicit json_schema: %+v", rs[0].Labels["dcm"])
	}
}

// TestLLMServerProblems: a server that is down, refuses the key or does
// not serve the model stops the run with one clear error.
func TestLLMServerProblems(t *testing.T) {
	f := newLLMFixture(t)
	o := f.opts()
	o.Model = "other-model"
	if _, _, err := f.run(t, o); !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), `does not serve model "other-model" (it serves test-model)`) {
		t.Errorf("unknown model: %v", err)
	}
	o = f.opts()
	f.double.misbehave = func(n int, label string) *action { return &action{status: 401} }
	rs, _, err := f.run(t, o)
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "API key") || rs == nil {
		t.Errorf("401: %v", err)
	}
	if f.double.count() > o.Concurrency {
		t.Errorf("401: %d requests sent after the server refused the key", f.double.count())
	}
	url := f.double.URL()
	f.double.srv.Close()
	o.Server = url
	if _, _, err := f.run(t, o); !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "not reachable") {
		t.Errorf("server down: %v", err)
	}
}

// TestLLMCacheResume: a killed run keeps what it was charged for; the
// rerun asks only the rest, and a third run asks nothing. A torn last
// cache line (killed mid-write) is ignored.
func TestLLMCacheResume(t *testing.T) {
	f := newLLMFixture(t)
	dir := t.TempDir()
	reportsPath := filepath.Join(dir, "reports.jsonl")
	var b strings.Builder
	for _, r := range f.reports {
		b.WriteString(`{"study_key": "` + r.Key + `", "text": ` + jsonString(r.Text) + "}\n")
	}
	b.WriteString(`{"study_key": "empty", "text": "  "}` + "\n")
	os.WriteFile(reportsPath, []byte(b.String()), 0o644)
	out := filepath.Join(dir, "labels.csv")
	run := LLMRun{Reports: reportsPath, Prompts: "builtin:phantom", Out: out, LLM: f.opts()}
	run.LLM.Concurrency = 1
	// Kill after 6 answers: cancel the context from the progress hook.
	ctx, cancel := context.WithCancel(context.Background())
	var answered atomic.Int32
	run.LLM.Progress = func(p LLMProgress) {
		if answered.Add(1) == 6 {
			cancel()
		}
	}
	_, _, err := RunLLM(ctx, run)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("killed run: %v", err)
	}
	first := f.double.count()
	// Tear the cache's last line as a kill mid-write would.
	cachePath := out + ".cache.jsonl"
	cb, _ := os.ReadFile(cachePath)
	os.WriteFile(cachePath, append(cb, []byte(`{"key": "abc", "answ`)...), 0o644)
	run.LLM.Progress = nil
	s, ls, err := RunLLM(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.reports) * len(f.prompts.Labels())
	if first < 6 || f.double.count() != n {
		t.Errorf("paid for %d questions in total (%d before the kill), want %d", f.double.count(), first, n)
	}
	if ls.Cached < 6 || ls.Cached+ls.Answered != n {
		t.Errorf("rerun: %+v", ls)
	}
	if s.Reports != 4 || s.OK != 3 || s.Failed != 1 || s.Outcome() != 3 {
		t.Errorf("summary %+v", s)
	}
	before := f.double.count()
	_, ls, err = RunLLM(context.Background(), run)
	if err != nil || f.double.count() != before || ls.Cached != n {
		t.Errorf("third run asked %d questions (%+v, %v)", f.double.count()-before, ls, err)
	}
	tab, err := ReadTable(out, "")
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows["b"]["hcm"] != "present" || tab.Rows["b"]["hcm_evidence"] == "" || tab.Rows["empty"]["status"] != "failed" {
		t.Errorf("table rows: %v %v", tab.Rows["b"], tab.Rows["empty"])
	}
	// Another model, or an edited prompt, is not served from the cache.
	f.double.models = append(f.double.models, "model-2")
	run.LLM.Model = "model-2"
	before = f.double.count()
	if _, ls, err = RunLLM(context.Background(), run); err != nil || ls.Cached != 0 || f.double.count()-before != n {
		t.Errorf("new model: %d cached, %d asked", ls.Cached, f.double.count()-before)
	}
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// TestPromptFiles: an unknown label, a duplicate, a missing question or
// version is one clear error; every built-in file loads; the paper's has
// the 35 targets.
func TestPromptFiles(t *testing.T) {
	p, err := LoadPrompts("builtin:paper")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Labels()) != 35 || p.Labels()[0] != "Amyloid" || p.Labels()[34] != "Ventricular.Septal.Defect" {
		t.Errorf("paper prompts: %v", p.Labels())
	}
	if _, err := p.Select([]string{"Amyloid", "dcm"}); err == nil || !strings.Contains(err.Error(), `no label "dcm"`) {
		t.Errorf("unknown label: %v", err)
	}
	for _, tc := range []struct {
		f    PromptFile
		want string
	}{
		{PromptFile{Labels: []PromptLabel{{Name: "a", Version: 1, Question: "q"}}}, "no version"},
		{PromptFile{Version: "v"}, "no labels"},
		{PromptFile{Version: "v", Labels: []PromptLabel{{Name: "a", Version: 1, Question: "q"}, {Name: "a", Version: 1, Question: "q"}}}, "twice"},
		{PromptFile{Version: "v", Labels: []PromptLabel{{Name: "a", Question: "q"}}}, "version"},
		{PromptFile{Version: "v", Labels: []PromptLabel{{Name: "a", Version: 1}}}, "no question"},
		{PromptFile{Version: "v", Template: "no slots", Labels: []PromptLabel{{Name: "a", Version: 1, Question: "q"}}}, "{{report}}"},
	} {
		if _, err := NewPrompts(tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.f, err, tc.want)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	os.WriteFile(path, []byte("version: v\nlabels:\n  - name: a\n    version: 1\n    question: q\n    typo: 1\n"), 0o644)
	if _, err := LoadPrompts(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "typo") {
		t.Errorf("unknown key: %v", err)
	}
	// --dry-run renders the first request without a server.
	rp := filepath.Join(dir, "r.jsonl")
	os.WriteFile(rp, []byte(`{"study_key": "x", "text": ""}`+"\n"+`{"study_key": "y", "text": "IMPRESSION: DCM."}`+"\n"), 0o644)
	var out strings.Builder
	run := LLMRun{Reports: rp, Prompts: "builtin:phantom", LLM: LLMOptions{Server: "http://127.0.0.1:9", Model: "m"}}
	if err := run.DryRun(&out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "study y, label normal") || !strings.Contains(s, `"json_schema"`) || !strings.Contains(s, "IMPRESSION: DCM.") {
		t.Errorf("dry run:\n%s", s)
	}
}
