package demo

import (
	"bytes"
	"context"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestQuickDemo runs the smoke-test demo end to end: every stage runs or
// says why it skipped, the report is written and names both tasks, and
// Check refuses to call a model that saw six studies "learned".
func TestQuickDemo(t *testing.T) {
	out := t.TempDir()
	var progress bytes.Buffer
	r, err := Execute(context.Background(), Options{Out: out, Quick: true, Seed: 1, Workers: 2, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(r.Results), len(Stages()); got != want {
		t.Fatalf("%d stage results, want %d", got, want)
	}
	for _, res := range r.Results {
		if res.Summary == "" {
			t.Errorf("stage %s: no summary", res.Stage)
		}
		for _, o := range res.Outputs {
			if _, err := os.Stat(o); err != nil {
				t.Errorf("stage %s: output %s: %v", res.Stage, o, err)
			}
		}
		if !strings.Contains(progress.String(), "["+res.Stage+"] "+res.Summary) {
			t.Errorf("stage %s: its one-line result was not shown while running", res.Stage)
		}
	}
	page, err := os.ReadFile(r.Report())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="task-lvef"`, `id="task-dcm"`, "quick smoke test", `id="explain"`,
		`alt="contact sheet of `, ">rollout</a>"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Every link the report makes to the demo's outputs (attention videos,
	// contact sheets) leads to a file or folder the demo wrote.
	links := regexp.MustCompile(`href="([^"#][^"]*)"`).FindAllSubmatch(page, -1)
	if len(links) == 0 {
		t.Error("the report links to none of the explain outputs")
	}
	for _, m := range links {
		p := filepath.Join(filepath.Dir(r.Report()), filepath.FromSlash(html.UnescapeString(string(m[1]))))
		if _, err := os.Stat(p); err != nil {
			t.Errorf("report links to %s: %v", m[1], err)
		}
	}
	// The page itself in a real browser: no console error, no request.
	checkReportInChromium(t, out, false)
	err = r.Check()
	if err == nil || !strings.Contains(err.Error(), "test studies (want ≥ 30)") {
		t.Errorf("Check on the quick demo: %v, want a refusal naming the test split's size", err)
	}
	var sum bytes.Buffer
	r.WriteSummary(&sum)
	if !strings.Contains(sum.String(), "Open the report: "+r.Report()) {
		t.Errorf("summary does not end with the report's path:\n%s", sum.String())
	}
}
