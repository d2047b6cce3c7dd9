package text

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testTokenizer(t testing.TB, name string) *Tokenizer {
	t.Helper()
	v, err := Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := NewDefault(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestBuildIndexJSONL(t *testing.T) {
	tok := testTokenizer(t, "bert-base-uncased")
	in := `{"study_key": "site_a-s1.h5", "text": "FINDINGS: Normal LV. LVEF 55%.\nIMPRESSION: Normal study."}
{"study_key": "site_a-s2.h5", "text": ""}
{"study_key": "site_b-s3.h5", "text": "  ::  "}

{"study_key": "site_a-s1.h5", "text": "again"}
{"text": "no key"}
{"study_key": "site_c-s9.h5", "text": "Unknown study."}
{not json
{"study_key": 42, "text": "Numeric key."}
{"study_key": "site_d-s4.h5", "text": ["not", "text"]}
`
	studies := map[string]bool{"site_a-s1.h5": true, "site_a-s2.h5": true, "site_b-s3.h5": true, "42": true,
		"site_d-s4.h5": true, "site_e-s5.h5": true}
	idx, err := BuildIndex(strings.NewReader(in), "reports.jsonl", tok, IndexOptions{Studies: studies, VocabName: "builtin:bert-base-uncased"})
	if err != nil {
		t.Fatal(err)
	}
	if got := idx.Keys(); !slices.Equal(got, []string{"42", "site_a-s1.h5"}) {
		t.Fatalf("studies %v", got)
	}
	rep := idx.Studies["site_a-s1.h5"]
	if !slices.Equal(rep.Sentences, []string{"Normal LV.", "LVEF 55%.", "Normal study."}) ||
		!slices.Equal(rep.Sections, []string{"FINDINGS", "FINDINGS", "IMPRESSION"}) {
		t.Errorf("report %+v", rep)
	}
	for i, s := range rep.Sentences {
		if !slices.Equal(rep.IDs[i], tok.Tokenize(s)) {
			t.Errorf("sentence %d ids %v, tokenizer %v", i, rep.IDs[i], tok.Tokenize(s))
		}
	}
	wantSkipped := []Skipped{
		{"site_a-s2.h5", 2, "empty report"},
		{"site_b-s3.h5", 3, "no sentences (only headers or punctuation)"},
		{"site_a-s1.h5", 5, "duplicate study key (first on line 1)"},
		{"", 6, "no column study_key"},
		{"site_c-s9.h5", 7, "no study with this key"},
	}
	if len(idx.Skipped) != len(wantSkipped)+2 {
		t.Fatalf("skipped %+v", idx.Skipped)
	}
	for i, w := range wantSkipped {
		if idx.Skipped[i] != w {
			t.Errorf("skipped[%d] = %+v, want %+v", i, idx.Skipped[i], w)
		}
	}
	if s := idx.Skipped[5]; s.Line != 8 || !strings.HasPrefix(s.Reason, "invalid JSON") {
		t.Errorf("bad JSON line: %+v", s)
	}
	if s := idx.Skipped[6]; s.Line != 10 || s.Reason != "column text is not a string or number" {
		t.Errorf("non-string text: %+v", s)
	}
	if !slices.Equal(idx.Missing, []string{"site_a-s2.h5", "site_b-s3.h5", "site_d-s4.h5", "site_e-s5.h5"}) {
		t.Errorf("missing %v", idx.Missing)
	}
	ti := idx.Tokenizer
	if ti.VocabSHA256 != "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3" || ti.VocabSize != 30522 ||
		ti.ClsID != 101 || ti.SepID != 102 || ti.PadID != 0 || ti.UnkID != 100 {
		t.Errorf("tokenizer info %+v", ti)
	}

	// round trip through the file format
	path := filepath.Join(t.TempDir(), "out", "reports.json")
	if err := idx.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := idx.Write(&a); err != nil {
		t.Fatal(err)
	}
	if err := back.Write(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("round trip differs:\n%s\n---\n%s", a.String(), b.String())
	}
	if err := back.CheckVocab(tok.Vocab()); err != nil {
		t.Error(err)
	}
	if err := back.CheckVocab(testTokenizer(t, "pubmedbert").Vocab()); err == nil {
		t.Error("index accepted the wrong vocabulary")
	}
}

func TestBuildIndexCSV(t *testing.T) {
	tok := testTokenizer(t, "pubmedbert")
	in := "\uFEFFaccession,report_text,other\n" +
		"s1,\"FINDINGS:\nNormal LV, normal RV.\",x\n" +
		"s2,\"Line one, with \"\"quotes\"\".\",y\n" +
		"s3\n"
	idx, err := BuildIndex(strings.NewReader(in), "r.csv", tok, IndexOptions{KeyColumn: "accession", TextColumn: "report_text"})
	if err != nil {
		t.Fatal(err)
	}
	if got := idx.Studies["s2"].Sentences; !slices.Equal(got, []string{`Line one, with "quotes".`}) {
		t.Errorf("s2 %q", got)
	}
	if got := idx.Studies["s1"].Sentences; !slices.Equal(got, []string{"Normal LV, normal RV."}) {
		t.Errorf("s1 %q", got)
	}
	if len(idx.Skipped) != 1 || idx.Skipped[0].Line != 4 || !strings.Contains(idx.Skipped[0].Reason, "fewer than the header") {
		t.Errorf("skipped %+v", idx.Skipped)
	}
	_, err = BuildIndex(strings.NewReader(in), "r.csv", tok, IndexOptions{TextColumn: "report_text"})
	if err == nil || !strings.Contains(err.Error(), `no column "study_key"`) || !strings.Contains(err.Error(), "accession, report_text, other") {
		t.Errorf("missing key column: %v", err)
	}
	if _, err := BuildIndex(strings.NewReader(in), "r.xml", tok, IndexOptions{Format: "xml"}); err == nil {
		t.Error("format xml accepted")
	}
}

func TestReadIndexRejectsBadFiles(t *testing.T) {
	for name, in := range map[string]string{
		"not JSON":     "{",
		"wrong format": `{"format": "other", "studies": {}}`,
		"count":        `{"format": "cmrfm-report-index/1", "tokenizer": {"vocab_size": 10}, "studies": {"a": {"sentences": ["x"], "ids": []}}}`,
		"id range":     `{"format": "cmrfm-report-index/1", "tokenizer": {"vocab_size": 10}, "studies": {"a": {"sentences": ["x"], "ids": [[10]]}}}`,
	} {
		if _, err := ReadIndex(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadStudyKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	master := write("master.csv", "parent_folder,accession,split,LVEF\nsite_1,a.h5,train,55\nsite_2,b.h5,test,40\n")
	keys, err := ReadStudyKeys(master, "")
	if err != nil || len(keys) != 2 || !keys["site_1-a.h5"] || !keys["site_2-b.h5"] {
		t.Errorf("master_csv keys %v, %v", keys, err)
	}
	keys, err = ReadStudyKeys(master, "accession")
	if err != nil || !keys["a.h5"] || !keys["b.h5"] {
		t.Errorf("column keys %v, %v", keys, err)
	}
	if _, err := ReadStudyKeys(master, "nope"); err == nil {
		t.Error("missing column accepted")
	}
	keys, err = ReadStudyKeys(write("list.txt", "k1\n\nk2\n"), "")
	if err != nil || len(keys) != 2 || !keys["k1"] || !keys["k2"] {
		t.Errorf("list keys %v, %v", keys, err)
	}
}
