package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/text"
)

// runText runs the binary's command line with stdin.
func runText(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestTextTokenizeCmd(t *testing.T) {
	tok, err := text.Load("builtin:bert-base-uncased")
	if err != nil {
		t.Fatal(err)
	}
	in := "LVEF 55%\n2.5x3.1 cm, i.e. normal\n\n"
	out, err := runText(t, in, "text", "tokenize", "--vocab", "builtin:bert-base-uncased")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{"LVEF 55%", "2.5x3.1 cm, i.e. normal", ""}
	if len(lines) != len(want) {
		t.Fatalf("output %q", out)
	}
	for i, w := range want {
		var ids []int32
		if err := json.Unmarshal([]byte(lines[i]), &ids); err != nil {
			t.Fatal(err)
		}
		if e := tok.Encode(w, 0); !equalIDs(ids, e.IDs) {
			t.Errorf("line %d: %v, want %v", i, ids, e.IDs)
		}
	}
	// bert-base-uncased: [CLS]=101, [SEP]=102; the cut keeps [SEP]
	out, err = runText(t, "left ventricular ejection fraction\n", "text", "tokenize", "--vocab", "builtin:bert-base-uncased", "--max-length", "3")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int32
	if err := json.Unmarshal([]byte(out), &ids); err != nil || len(ids) != 3 || ids[0] != 101 || ids[2] != 102 {
		t.Errorf("--max-length 3: %q (%v)", out, err)
	}
	if _, err := runText(t, "", "text", "tokenize", "--max-length", "1"); err == nil {
		t.Error("--max-length 1 accepted")
	}
	if _, err := runText(t, "", "text", "tokenize", "--vocab", "builtin:nope"); err == nil {
		t.Error("unknown vocabulary accepted")
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTextSentencesCmd(t *testing.T) {
	out, err := runText(t, "\"FINDINGS:\\n1. Normal LV.\\n2. Normal RV.\"\n\"\"\n", "text", "sentences", "--json-input")
	if err != nil {
		t.Fatal(err)
	}
	if want := "[\"Normal LV.\",\"Normal RV.\"]\n[]\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	out, err = runText(t, "FINDINGS:,1.  Normal LV.,2.  Normal RV.\n", "text", "sentences", "--comma-line-breaks", "--keep-headers")
	if err != nil {
		t.Fatal(err)
	}
	if want := "[\"FINDINGS:\",\"Normal LV.\",\"Normal RV.\"]\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if _, err := runText(t, "not json\n", "text", "sentences", "--json-input"); err == nil {
		t.Error("bad --json-input line accepted")
	}
}

func TestTextIndexCmd(t *testing.T) {
	dir := t.TempDir()
	reports := filepath.Join(dir, "reports.csv")
	studies := filepath.Join(dir, "master.csv")
	os.WriteFile(reports, []byte("key,report\nsite_1-a.h5,\"Normal LV. Normal RV.\"\nsite_9-z.h5,Orphan report.\nsite_2-b.h5,\n"), 0o644)
	os.WriteFile(studies, []byte("parent_folder,accession,split\nsite_1,a.h5,train\nsite_2,b.h5,val\nsite_3,c.h5,test\n"), 0o644)
	out := filepath.Join(dir, "index", "reports.json")
	stdout, err := runText(t, "", "text", "index", "--reports", reports, "--out", out, "--key-column", "key", "--text-column", "report",
		"--studies", studies, "--vocab", "builtin:bert-base-uncased")
	if exitStatus(err) != exitPartial { // one report is empty
		t.Fatalf("exit status %d (%v), want %d", exitStatus(err), err, exitPartial)
	}
	for _, w := range []string{"1 studies, 2 sentences", "skipped 1: empty report", "skipped 1: no study with this key", "2 studies have no report"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary %q lacks %q", stdout, w)
		}
	}
	idx, err := text.LoadIndex(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Studies) != 1 || idx.Studies["site_1-a.h5"] == nil || len(idx.Missing) != 2 {
		t.Errorf("index %+v", idx)
	}
	if _, err := runText(t, "", "text", "index", "--reports", reports); err == nil {
		t.Error("missing --out accepted")
	}
	if _, err := runText(t, "", "text", "index", "--reports", filepath.Join(dir, "nope.csv"), "--out", out); err == nil {
		t.Error("missing reports file accepted")
	}
}
