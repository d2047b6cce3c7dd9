package text

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// IndexFormat names the report index layout written by WriteIndex.
const IndexFormat = "cmrfm-report-index/1"

// Index is the report index: for every study key, the report's sentences and
// their WordPiece ids (without [CLS]/[SEP]), with what produced them. It is
// the "single indexed JSON file" of the paper's methods.
type Index struct {
	Format    string        `json:"format"`
	Tokenizer TokenizerInfo `json:"tokenizer"`
	Splitter  Splitter      `json:"splitter"`
	Source    SourceInfo    `json:"source"`
	// Skipped lists the input rows that gave no study entry, with why.
	Skipped []Skipped `json:"skipped"`
	// Missing lists the known studies (IndexOptions.Studies) with no report.
	Missing []string `json:"missing"`
	// Studies maps a study key to its report.
	Studies map[string]*Report `json:"studies"`
}

// TokenizerInfo records the tokenizer an index was built with; ids are only
// meaningful with a vocabulary of the same SHA256.
type TokenizerInfo struct {
	Vocab        string `json:"vocab"`
	VocabSHA256  string `json:"vocab_sha256"`
	VocabSize    int    `json:"vocab_size"`
	Lowercase    bool   `json:"lowercase"`
	StripAccents bool   `json:"strip_accents"`
	ClsID        int32  `json:"cls_id"`
	SepID        int32  `json:"sep_id"`
	PadID        int32  `json:"pad_id"`
	UnkID        int32  `json:"unk_id"`
}

// SourceInfo says which file and columns the reports came from.
type SourceInfo struct {
	Path       string `json:"path"`
	Format     string `json:"format"`
	KeyColumn  string `json:"key_column"`
	TextColumn string `json:"text_column"`
	Rows       int    `json:"rows"`
}

// Report is one study's report: its sentences, the section each falls
// under, and each sentence's WordPiece ids.
type Report struct {
	Sentences []string  `json:"sentences"`
	Sections  []string  `json:"sections"`
	IDs       [][]int32 `json:"ids"`
}

// Skipped is an input row that did not become a study entry.
type Skipped struct {
	Key    string `json:"key"`
	Line   int    `json:"line"` // 1-based line (JSONL) or record number counting the header (CSV)
	Reason string `json:"reason"`
}

// IndexOptions configures BuildIndex. The zero value reads the format from
// the file extension, the key from column "study_key" and the text from
// column "text", and accepts every key.
type IndexOptions struct {
	// Format is "csv", "tsv" or "jsonl"; "" decides by extension (.csv, .tsv,
	// else JSON lines).
	Format string
	// KeyColumn and TextColumn name the study key and report text columns
	// (default "study_key" and "text").
	KeyColumn, TextColumn string
	// Splitter splits each report into sentences.
	Splitter Splitter
	// Studies, when not nil, is the set of study keys that exist (e.g. the
	// dataset index's parent_folder-accession names): a report whose key is
	// not in it is skipped, and a study without a report is listed in
	// Index.Missing.
	Studies map[string]bool
	// VocabName is recorded in the index (e.g. the vocab path).
	VocabName string
}

func (o *IndexOptions) defaults(path string) error {
	if o.KeyColumn == "" {
		o.KeyColumn = "study_key"
	}
	if o.TextColumn == "" {
		o.TextColumn = "text"
	}
	if o.Format == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv":
			o.Format = "csv"
		case ".tsv":
			o.Format = "tsv"
		default:
			o.Format = "jsonl"
		}
	}
	switch o.Format {
	case "csv", "tsv", "jsonl":
		return nil
	}
	return fmt.Errorf("text: report format %q: want csv, tsv or jsonl", o.Format)
}

// row is one report read from the input.
type row struct {
	line      int
	key, text string
	bad       string // why the row cannot be used, if it cannot
}

// BuildIndexFile reads reports from path and builds the index.
func BuildIndexFile(path string, tok *Tokenizer, o IndexOptions) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("text: reports: %w", err)
	}
	defer f.Close()
	idx, err := BuildIndex(f, path, tok, o)
	if err != nil {
		return nil, err
	}
	return idx, nil
}

// BuildIndex reads reports (CSV, TSV or JSON lines) from r, splits and
// tokenizes each one, and returns the index. name is used in messages and
// recorded as the source path. A row with no key, an empty report, a report
// with no sentence, a repeated key or a key outside o.Studies is listed in
// Index.Skipped; a structurally broken file is an error.
func BuildIndex(r io.Reader, name string, tok *Tokenizer, o IndexOptions) (*Index, error) {
	if err := o.defaults(name); err != nil {
		return nil, err
	}
	var rows []row
	var err error
	if o.Format == "jsonl" {
		rows, err = readJSONL(r, name, o)
	} else {
		rows, err = readCSV(r, name, o)
	}
	if err != nil {
		return nil, err
	}
	cls, sep, pad, unk := tok.SpecialIDs()
	c := tok.Config()
	idx := &Index{
		Format: IndexFormat,
		Tokenizer: TokenizerInfo{Vocab: o.VocabName, VocabSHA256: tok.Vocab().SHA256(), VocabSize: tok.Vocab().Size(),
			Lowercase: c.Lowercase, StripAccents: c.StripAccents, ClsID: cls, SepID: sep, PadID: pad, UnkID: unk},
		Splitter: o.Splitter,
		Source:   SourceInfo{Path: name, Format: o.Format, KeyColumn: o.KeyColumn, TextColumn: o.TextColumn, Rows: len(rows)},
		Skipped:  []Skipped{},
		Missing:  []string{},
		Studies:  map[string]*Report{},
	}
	firstLine := map[string]int{}
	for _, rw := range rows {
		skip := func(reason string) {
			idx.Skipped = append(idx.Skipped, Skipped{Key: rw.key, Line: rw.line, Reason: reason})
		}
		switch {
		case rw.bad != "":
			skip(rw.bad)
			continue
		case strings.TrimSpace(rw.key) == "":
			skip("no study key (column " + o.KeyColumn + " empty)")
			continue
		case firstLine[rw.key] != 0:
			skip(fmt.Sprintf("duplicate study key (first on line %d)", firstLine[rw.key]))
			continue
		}
		firstLine[rw.key] = rw.line
		if o.Studies != nil && !o.Studies[rw.key] {
			skip("no study with this key")
			continue
		}
		if strings.TrimSpace(rw.text) == "" {
			skip("empty report")
			continue
		}
		ss := o.Splitter.Split(rw.text)
		if len(ss) == 0 {
			skip("no sentences (only headers or punctuation)")
			continue
		}
		rep := &Report{Sentences: make([]string, len(ss)), Sections: make([]string, len(ss)), IDs: make([][]int32, len(ss))}
		for i, s := range ss {
			rep.Sentences[i], rep.Sections[i] = s.Text, s.Section
			rep.IDs[i] = tok.Tokenize(s.Text)
		}
		idx.Studies[rw.key] = rep
	}
	for k := range o.Studies {
		if _, ok := idx.Studies[k]; !ok {
			idx.Missing = append(idx.Missing, k)
		}
	}
	sort.Strings(idx.Missing)
	return idx, nil
}

func readJSONL(r io.Reader, name string, o IndexOptions) ([]row, error) {
	var rows []row
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			rows = append(rows, jsonRow(b, line, o))
		}
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("text: %s: line %d: %w", name, line, err)
		}
	}
}

func jsonRow(b []byte, line int, o IndexOptions) row {
	rw := row{line: line}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		rw.bad = "invalid JSON: " + err.Error()
		return rw
	}
	str := func(col string) (string, string) {
		v, ok := m[col]
		if !ok || string(v) == "null" {
			return "", ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			return s, ""
		}
		var n json.Number
		if err := json.Unmarshal(v, &n); err == nil {
			return n.String(), ""
		}
		return "", fmt.Sprintf("column %s is not a string or number", col)
	}
	var bad string
	rw.key, bad = str(o.KeyColumn)
	if bad == "" {
		rw.text, bad = str(o.TextColumn)
	}
	if bad == "" && rw.key == "" {
		if _, ok := m[o.KeyColumn]; !ok {
			bad = "no column " + o.KeyColumn
		}
	}
	rw.bad = bad
	return rw
}

func readCSV(r io.Reader, name string, o IndexOptions) ([]row, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	if o.Format == "tsv" {
		cr.Comma = '\t'
		cr.LazyQuotes = true
	}
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("text: %s: header: %w", name, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	}
	col := func(want string) (int, error) {
		for i, h := range header {
			if strings.TrimSpace(h) == want {
				return i, nil
			}
		}
		return 0, fmt.Errorf("text: %s: no column %q (columns: %s)", name, want, strings.Join(header, ", "))
	}
	ki, err := col(o.KeyColumn)
	if err != nil {
		return nil, err
	}
	ti, err := col(o.TextColumn)
	if err != nil {
		return nil, err
	}
	var rows []row
	for rec := 2; ; rec++ {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("text: %s: %w", name, err)
		}
		rw := row{line: rec}
		if ki < len(fields) {
			rw.key = strings.TrimSpace(fields[ki])
		}
		if ti < len(fields) {
			rw.text = fields[ti]
		}
		if ki >= len(fields) || ti >= len(fields) {
			rw.bad = "row has " + strconv.Itoa(len(fields)) + " fields, fewer than the header"
		}
		rows = append(rows, rw)
	}
}

// Keys returns the study keys in sorted order.
func (idx *Index) Keys() []string {
	keys := make([]string, 0, len(idx.Studies))
	for k := range idx.Studies {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Write writes the index as JSON: the header fields indented, then one line
// per study in key order, so the file stays readable and diffable.
func (idx *Index) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	head := []struct {
		name string
		v    any
	}{{"format", idx.Format}, {"tokenizer", idx.Tokenizer}, {"splitter", idx.Splitter}, {"source", idx.Source}}
	bw.WriteString("{\n")
	for _, h := range head {
		b, err := json.Marshal(h.v)
		if err != nil {
			return fmt.Errorf("text: index %s: %w", h.name, err)
		}
		fmt.Fprintf(bw, "%q: %s,\n", h.name, b)
	}
	list := func(name string, n int, item func(i int) any) error {
		fmt.Fprintf(bw, "%q: [", name)
		for i := range n {
			b, err := json.Marshal(item(i))
			if err != nil {
				return fmt.Errorf("text: index %s: %w", name, err)
			}
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString("\n  ")
			bw.Write(b)
		}
		if n > 0 {
			bw.WriteByte('\n')
		}
		bw.WriteString("],\n")
		return nil
	}
	if err := list("skipped", len(idx.Skipped), func(i int) any { return idx.Skipped[i] }); err != nil {
		return err
	}
	if err := list("missing", len(idx.Missing), func(i int) any { return idx.Missing[i] }); err != nil {
		return err
	}
	bw.WriteString("\"studies\": {")
	for i, k := range idx.Keys() {
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(idx.Studies[k])
		if err != nil {
			return fmt.Errorf("text: index study %s: %w", k, err)
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n  ")
		bw.Write(kb)
		bw.WriteString(": ")
		bw.Write(vb)
	}
	bw.WriteString("\n}\n}\n")
	return bw.Flush()
}

// WriteFile writes the index to path (through a temporary file renamed into
// place, so a reader never sees half an index).
func (idx *Index) WriteFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("text: index: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".index-*.json")
	if err != nil {
		return fmt.Errorf("text: index: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := idx.Write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("text: writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("text: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("text: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("text: index: %w", err)
	}
	return nil
}

// ReadIndex reads an index written by Write and checks that it is
// consistent (one ids list per sentence, ids inside the vocabulary).
func ReadIndex(r io.Reader) (*Index, error) {
	var idx Index
	if err := json.NewDecoder(bufio.NewReader(r)).Decode(&idx); err != nil {
		return nil, fmt.Errorf("text: report index: %w", err)
	}
	if idx.Format != IndexFormat {
		return nil, fmt.Errorf("text: report index: format %q, want %q", idx.Format, IndexFormat)
	}
	n := int32(idx.Tokenizer.VocabSize)
	for k, rep := range idx.Studies {
		if rep == nil || len(rep.IDs) != len(rep.Sentences) || (len(rep.Sections) != 0 && len(rep.Sections) != len(rep.Sentences)) {
			return nil, fmt.Errorf("text: report index: study %q: sentences, sections and ids differ in number", k)
		}
		for i, ids := range rep.IDs {
			for _, id := range ids {
				if id < 0 || id >= n {
					return nil, fmt.Errorf("text: report index: study %q sentence %d: id %d outside the vocabulary (%d)", k, i, id, n)
				}
			}
		}
	}
	return &idx, nil
}

// LoadIndex reads an index file.
func LoadIndex(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("text: %w", err)
	}
	defer f.Close()
	idx, err := ReadIndex(f)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return idx, nil
}

// CheckVocab returns an error unless the index was built with vocabulary v.
func (idx *Index) CheckVocab(v *Vocab) error {
	if idx.Tokenizer.VocabSHA256 != v.SHA256() {
		return fmt.Errorf("text: report index was built with vocab sha256 %s (%s), not %s", idx.Tokenizer.VocabSHA256, idx.Tokenizer.Vocab, v.SHA256())
	}
	return nil
}

// ReadStudyKeys reads the set of known study keys from a file: a dataset
// index CSV (columns parent_folder and accession, keys
// "parent_folder-accession" as the reference loader names studies), a CSV
// with a column named column, or a plain list with one key a line.
func ReadStudyKeys(path, column string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("text: studies: %w", err)
	}
	keys := map[string]bool{}
	first, _, _ := strings.Cut(string(b), "\n")
	if strings.Contains(first, ",") {
		cr := csv.NewReader(bytes.NewReader(b))
		cr.FieldsPerRecord = -1
		recs, err := cr.ReadAll()
		if err != nil {
			return nil, fmt.Errorf("text: studies %s: %w", path, err)
		}
		head := map[string]int{}
		for i, h := range recs[0] {
			head[strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))] = i
		}
		pf, okP := head["parent_folder"]
		ac, okA := head["accession"]
		kc, okK := head[column]
		switch {
		case column != "" && !okK:
			return nil, fmt.Errorf("text: studies %s: no column %q", path, column)
		case column == "" && !(okP && okA):
			return nil, fmt.Errorf("text: studies %s: no parent_folder and accession columns (or name the key column)", path)
		}
		for n, rec := range recs[1:] {
			get := func(i int) string {
				if i < len(rec) {
					return strings.TrimSpace(rec[i])
				}
				return ""
			}
			k := get(kc)
			if column == "" {
				k = get(pf) + "-" + get(ac)
			}
			if k == "" || k == "-" {
				return nil, fmt.Errorf("text: studies %s: record %d has no key", path, n+2)
			}
			keys[k] = true
		}
		return keys, nil
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			keys[l] = true
		}
	}
	return keys, nil
}

// IndexStats summarises an index.
type IndexStats struct {
	Studies, Sentences, Tokens, Unknown int
	// Skipped counts skipped rows by reason (details after "(" or ":" cut).
	Skipped map[string]int
	Missing int
}

// Stats counts studies, sentences, tokens ([UNK] among them) and skipped
// rows by reason.
func (idx *Index) Stats() IndexStats {
	s := IndexStats{Studies: len(idx.Studies), Skipped: map[string]int{}, Missing: len(idx.Missing)}
	for _, rep := range idx.Studies {
		s.Sentences += len(rep.Sentences)
		for _, ids := range rep.IDs {
			s.Tokens += len(ids)
			for _, id := range ids {
				if id == idx.Tokenizer.UnkID {
					s.Unknown++
				}
			}
		}
	}
	for _, sk := range idx.Skipped {
		r := sk.Reason
		if i := strings.IndexAny(r, "(:"); i > 0 {
			r = strings.TrimSpace(r[:i])
		}
		s.Skipped[r]++
	}
	return s
}
