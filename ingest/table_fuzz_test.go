package ingest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadTable feeds arbitrary label/report tables (CSV and JSON lines) to
// ingest's table reader.
func FuzzReadTable(f *testing.F) {
	f.Add([]byte("accession,lvef,patient_name\nA1,55,SMITH^JANE\n"), false)
	f.Add([]byte("\ufeffa,b\n\"x\ny\",2\n"), false)
	f.Add([]byte(`{"accession":"A1","report":"LVEF 55%","n":3,"z":null}`+"\n\n"+`{"accession":["x"]}`), true)
	f.Fuzz(func(t *testing.T, b []byte, jsonl bool) {
		p := filepath.Join(t.TempDir(), "t.csv")
		if jsonl {
			p = filepath.Join(filepath.Dir(p), "t.jsonl")
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		head, rows, err := readTable(p)
		if err != nil {
			return
		}
		for _, r := range rows {
			if len(r) > len(head) {
				t.Fatalf("row with %d fields, header %d", len(r), len(head))
			}
		}
	})
}
