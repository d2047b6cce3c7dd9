package label

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/cmrfm/cmrfm/internal/fsutil"
)

// Answer is a labeller's verdict on one label for one report.
type Answer string

// The three answers. An empty Answer means the labeller failed (the row's
// error says why).
const (
	Present   Answer = "present"
	Absent    Answer = "absent"
	Uncertain Answer = "uncertain"
)

// ParseAnswer reads an answer cell: present/absent/uncertain, or the 0/1
// (true/false, yes/no, positive/negative) of a ground-truth table. An
// empty cell gives "" and no error.
func ParseAnswer(s string) (Answer, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "present", "1", "1.0", "true", "yes", "positive", "pos":
		return Present, nil
	case "absent", "0", "0.0", "false", "no", "negative", "neg":
		return Absent, nil
	case "uncertain", "possible", "maybe", "unknown", "-1":
		return Uncertain, nil
	}
	return "", fmt.Errorf("label value %q: want present, absent, uncertain, 1 or 0", s)
}

// Finding is one label's answer for one report, the sentence quoted as
// evidence, and, if the labeller failed on this label, why.
type Finding struct {
	Answer   Answer
	Evidence string
	Err      string
}

// Result is one report's labels. Err is set when the whole report failed
// (no text, unreadable line); a label that failed on its own has its
// Finding.Err set.
type Result struct {
	Key    string
	Labels map[string]Finding
	Err    string
}

// Status is ok (every label answered), partial (some failed) or failed.
func (r Result) Status(labels []string) string {
	if r.Err != "" {
		return "failed"
	}
	bad := 0
	for _, l := range labels {
		if f := r.Labels[l]; f.Answer == "" {
			bad++
		}
	}
	switch {
	case bad == 0:
		return "ok"
	case bad == len(labels):
		return "failed"
	}
	return "partial"
}

// errors joins the report error and the per-label errors.
func (r Result) errors(labels []string) string {
	var parts []string
	if r.Err != "" {
		parts = append(parts, r.Err)
	}
	for _, l := range labels {
		f := r.Labels[l]
		if f.Answer == "" && f.Err != "" {
			parts = append(parts, l+": "+f.Err)
		}
	}
	return strings.Join(parts, "; ")
}

// WriteTable writes results as a label table (see the package comment) to
// w.
func WriteTable(w io.Writer, labels []string, results []Result) error {
	cw := csv.NewWriter(w)
	head := []string{"study_key", "status", "error"}
	for _, l := range labels {
		head = append(head, l, l+"_evidence")
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range results {
		row := []string{r.Key, r.Status(labels), r.errors(labels)}
		for _, l := range labels {
			f := r.Labels[l]
			row = append(row, string(f.Answer), f.Evidence)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTableFile writes the label table to path atomically (temporary
// file, fsync, rename).
func WriteTableFile(path string, labels []string, results []Result) error {
	if err := fsutil.WriteFileAtomic(path, func(w io.Writer) error { return WriteTable(w, labels, results) }); err != nil {
		return fmt.Errorf("label: writing %s: %w", path, err)
	}
	return nil
}

// Table is a label table read back: a label table written by this package,
// a ground-truth CSV with 0/1 columns (phantom's labels.csv, a
// hand-labelled file), or a dataset index (index.csv).
type Table struct {
	Name    string
	Columns []string
	Keys    []string // row keys in file order
	// Rows maps a key to its cells by column name.
	Rows map[string]map[string]string
}

// ReadTable reads a CSV table keyed by keyColumn; "" picks study_key, then
// filenames, then parent_folder-accession (a dataset index: the key is the
// reference loader's study key, as in ingest's reports.jsonl). A repeated
// key is an error naming both lines.
func ReadTable(path, keyColumn string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	defer f.Close()
	t, err := readTable(f, path, keyColumn)
	if err != nil {
		return nil, fmt.Errorf("label: %s: %w", path, err)
	}
	return t, nil
}

func readTable(r io.Reader, name, keyColumn string) (*Table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	col := map[string]int{}
	for i, h := range head {
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("header: duplicate column %q", h)
		}
		col[h] = i
	}
	key := func(rec []string) string { return "" }
	cell := func(rec []string, c string) string {
		if i, ok := col[c]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	switch {
	case keyColumn != "":
		if _, ok := col[keyColumn]; !ok {
			return nil, fmt.Errorf("no key column %q (have %s)", keyColumn, strings.Join(head, ","))
		}
		key = func(rec []string) string { return cell(rec, keyColumn) }
	case has(col, "study_key"):
		key = func(rec []string) string { return cell(rec, "study_key") }
	case has(col, "filenames"):
		key = func(rec []string) string { return cell(rec, "filenames") }
	case has(col, "parent_folder") && has(col, "accession"):
		key = func(rec []string) string { return cell(rec, "parent_folder") + "-" + cell(rec, "accession") }
	default:
		return nil, fmt.Errorf("no key column: want study_key, filenames or parent_folder+accession, or name one (have %s)", strings.Join(head, ","))
	}
	t := &Table{Name: name, Columns: head, Rows: map[string]map[string]string{}}
	lines := map[string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		k := key(rec)
		if k == "" || k == "-" {
			return nil, fmt.Errorf("line %d: empty key", line)
		}
		if first, dup := lines[k]; dup {
			return nil, fmt.Errorf("line %d: key %q already on line %d", line, k, first)
		}
		lines[k] = line
		row := make(map[string]string, len(head))
		for i, h := range head {
			if i < len(rec) {
				row[h] = strings.TrimSpace(rec[i])
			}
		}
		t.Keys = append(t.Keys, k)
		t.Rows[k] = row
	}
}

func has(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// HasColumn reports whether the table has column c.
func (t *Table) HasColumn(c string) bool {
	for _, h := range t.Columns {
		if h == c {
			return true
		}
	}
	return false
}

// LabelColumns returns the columns of a label table written by this
// package (those with a <name>_evidence partner), in file order.
func (t *Table) LabelColumns() []string {
	var out []string
	for _, h := range t.Columns {
		if t.HasColumn(h + "_evidence") {
			out = append(out, h)
		}
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
