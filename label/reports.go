package label

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Report is one report to label. Problem, when set, says why it cannot be
// labelled (it still gets a row in the output, marked failed).
type Report struct {
	Key     string
	Text    string
	Line    int // 1-based line (JSONL) or row (CSV, header = 1) in the input
	Problem string
}

// Hash returns the SHA-256 of the report text (hex), the report part of
// the LLM cache key.
func (r Report) Hash() string {
	h := sha256.Sum256([]byte(r.Text))
	return hex.EncodeToString(h[:])
}

// ReadOptions selects the columns of a reports file.
type ReadOptions struct {
	// KeyColumn and TextColumn name the study key and report text
	// ("study_key" and "text", what cmrfm ingest and cmrfm phantom write).
	KeyColumn, TextColumn string
	// Limit keeps the first Limit reports (0: all).
	Limit int
}

func (o *ReadOptions) defaults() {
	if o.KeyColumn == "" {
		o.KeyColumn = "study_key"
	}
	if o.TextColumn == "" {
		o.TextColumn = "text"
	}
}

// ReadReports reads a JSON-lines file (one object a line: ingest's and
// phantom's reports.jsonl) or, by extension, a .csv or .tsv file with a
// header. Rows that cannot be labelled (invalid JSON, no key, no text, a
// key seen before) are returned with Problem set, in file order; only an
// unreadable file or a header without the key or text column is an error.
func ReadReports(path string, o ReadOptions) ([]Report, error) {
	o.defaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("label: reports: %w", err)
	}
	defer f.Close()
	var rs []Report
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		rs, err = readReportsCSV(f, path, ',', o)
	case ".tsv":
		rs, err = readReportsCSV(f, path, '\t', o)
	default:
		rs, err = readReportsJSONL(f, path, o)
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for i := range rs {
		r := &rs[i]
		if r.Problem == "" && strings.TrimSpace(r.Text) == "" {
			r.Problem = "report has no text"
		}
		if r.Key == "" {
			if r.Problem == "" {
				r.Problem = "no study key"
			}
			r.Key = fmt.Sprintf("line-%d", r.Line)
			continue
		}
		if first, dup := seen[r.Key]; dup {
			if r.Problem == "" {
				r.Problem = fmt.Sprintf("study key repeated (first on line %d)", first)
			}
			r.Key = fmt.Sprintf("%s#line-%d", r.Key, r.Line)
			continue
		}
		seen[r.Key] = r.Line
	}
	if o.Limit > 0 && len(rs) > o.Limit {
		rs = rs[:o.Limit]
	}
	return rs, nil
}

func readReportsJSONL(r io.Reader, name string, o ReadOptions) ([]Report, error) {
	var out []Report
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			out = append(out, jsonReport(b, line, o))
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("label: %s: line %d: %w", name, line, err)
		}
	}
}

func jsonReport(b []byte, line int, o ReadOptions) Report {
	rep := Report{Line: line}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		rep.Problem = "invalid JSON: " + err.Error()
		return rep
	}
	str := func(col string) (string, bool) {
		v, ok := m[col]
		if !ok || string(v) == "null" {
			return "", true
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s, true
		}
		var n json.Number
		if json.Unmarshal(v, &n) == nil {
			return n.String(), true
		}
		return "", false
	}
	var ok bool
	if rep.Key, ok = str(o.KeyColumn); !ok {
		rep.Problem = fmt.Sprintf("column %s is not a string or number", o.KeyColumn)
	}
	if rep.Text, ok = str(o.TextColumn); !ok && rep.Problem == "" {
		rep.Problem = fmt.Sprintf("column %s is not a string", o.TextColumn)
	}
	if _, has := m[o.KeyColumn]; !has && rep.Problem == "" {
		rep.Problem = "no column " + o.KeyColumn
	}
	if _, has := m[o.TextColumn]; !has && rep.Problem == "" {
		rep.Problem = "no column " + o.TextColumn
	}
	return rep
}

func readReportsCSV(r io.Reader, name string, comma rune, o ReadOptions) ([]Report, error) {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("label: %s: header: %w", name, err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	ki, ti := -1, -1
	for i, h := range head {
		switch h {
		case o.KeyColumn:
			ki = i
		case o.TextColumn:
			ti = i
		}
	}
	if ki < 0 || ti < 0 {
		return nil, fmt.Errorf("label: %s: header has no column %q or %q (have %s)", name, o.KeyColumn, o.TextColumn, strings.Join(head, ","))
	}
	var out []Report
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		rep := Report{Line: row}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("label: %s: row %d: %w", name, row, err)
			}
			rep.Problem = "unreadable CSV row: " + pe.Err.Error()
			out = append(out, rep)
			continue
		}
		if ki < len(rec) {
			rep.Key = strings.TrimSpace(rec[ki])
		}
		if ti < len(rec) {
			rep.Text = rec[ti]
		}
		out = append(out, rep)
	}
}
