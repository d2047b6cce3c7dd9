package label

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadReports: every unusable report becomes a failed row naming its
// line and reason; none is dropped, none stops the run.
func TestBadReports(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "reports.jsonl")
	body := `{"study_key": "a", "text": "IMPRESSION: Hypertrophic cardiomyopathy."}
{"study_key": "b", "text": ""}
{"study_key": "c"}
not json at all
{"text": "No key here."}
{"study_key": "a", "text": "Repeated key."}
{"study_key": 7, "text": "Numeric key. Pericardial effusion."}
{"study_key": "d", "text": ["not", "a", "string"]}
`
	if err := os.WriteFile(in, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "labels.csv")
	s, err := RunRules(context.Background(), RulesRun{Reports: in, Rules: "builtin:phantom", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if s.Reports != 8 || s.OK != 2 || s.Failed != 6 || s.Outcome() != 3 {
		t.Fatalf("summary %+v (outcome %d)", s, s.Outcome())
	}
	tab, err := ReadTable(out, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"b":        "line 2: report has no text",
		"c":        "line 3: no column text",
		"line-4":   "line 4: invalid JSON",
		"line-5":   "line 5: no column study_key",
		"a#line-6": "line 6: study key repeated (first on line 1)",
		"d":        "line 8: column text is not a string",
		"a":        "",
		"7":        "",
	}
	for k, e := range want {
		row, ok := tab.Rows[k]
		if !ok {
			t.Errorf("no row %q in %v", k, tab.Keys)
			continue
		}
		if !strings.HasPrefix(row["error"], e) || (e == "") != (row["status"] == "ok") {
			t.Errorf("row %q: status %q error %q, want error %q", k, row["status"], row["error"], e)
		}
	}
	if tab.Rows["a"]["hcm"] != "present" || tab.Rows["7"]["effusion"] != "present" {
		t.Errorf("good rows: %v %v", tab.Rows["a"], tab.Rows["7"])
	}
	// A CSV without the text column is one clear error.
	csvIn := filepath.Join(dir, "r.csv")
	os.WriteFile(csvIn, []byte("study_key,report\na,x\n"), 0o644)
	if _, err := ReadReports(csvIn, ReadOptions{}); err == nil || !strings.Contains(err.Error(), `"text"`) || !strings.Contains(err.Error(), csvIn) {
		t.Errorf("CSV without text column: %v", err)
	}
	if _, err := ReadReports(filepath.Join(dir, "missing.jsonl"), ReadOptions{}); err == nil {
		t.Error("missing file: no error")
	}
}
