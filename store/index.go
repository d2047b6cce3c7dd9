package store

import (
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Index is the dataset index: one row per study with its split and label
// columns, in the shape of the reference's master_csv (docs/reference.md §2.1):
// required columns parent_folder, accession and split, then any label
// columns, kept in file order.
type Index struct {
	// Columns lists every column in order, the three required ones included.
	Columns []string
	Rows    []IndexRow
}

// IndexRow is one study. Values holds every column but the three fixed ones,
// as text ("" for empty cells).
type IndexRow struct {
	ParentFolder string // e.g. "site_3fa9c0d1"; never contains '-'
	Accession    string // the file name, e.g. "7b1e44.h5"
	Split        string // train, val, test or external_test
	Values       map[string]string
}

// Splits lists the split names the reference knows.
var validSplits = map[string]bool{"train": true, "val": true, "test": true, "external_test": true}

// Filename returns the reference loader's study key, parent_folder-accession.
func (r IndexRow) Filename() string { return r.ParentFolder + "-" + r.Accession }

// Path returns the study file's path under a store root.
func (r IndexRow) Path(root string) string { return filepath.Join(root, r.ParentFolder, r.Accession) }

// Float returns a label column as a number; ok is false for empty, NaN or
// non-numeric cells (the reference keeps such rows; callers decide).
func (r IndexRow) Float(col string) (v float64, ok bool) {
	s := strings.TrimSpace(r.Values[col])
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v != v {
		return 0, false
	}
	return v, true
}

// ReadIndex parses a master_csv. The error names the line and the problem.
func ReadIndex(r io.Reader) (*Index, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("index: header: %w", err)
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	col := map[string]int{}
	for i, h := range head {
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("index: header: duplicate column %q", h)
		}
		col[h] = i
	}
	for _, req := range []string{"parent_folder", "accession", "split"} {
		if _, ok := col[req]; !ok {
			return nil, fmt.Errorf("index: header: missing required column %q (have %s)", req, strings.Join(head, ","))
		}
	}
	idx := &Index{Columns: head}
	seen := map[string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		if len(rec) != len(head) {
			return nil, fmt.Errorf("index: line %d: %d fields, header has %d", line, len(rec), len(head))
		}
		row := IndexRow{
			ParentFolder: rec[col["parent_folder"]],
			Accession:    rec[col["accession"]],
			Split:        rec[col["split"]],
			Values:       map[string]string{},
		}
		if err := row.check(); err != nil {
			return nil, fmt.Errorf("index: line %d: %w", line, err)
		}
		if prev, dup := seen[row.Filename()]; dup {
			return nil, fmt.Errorf("index: line %d: study %s already listed on line %d", line, row.Filename(), prev)
		}
		seen[row.Filename()] = line
		for i, h := range head {
			switch h {
			case "parent_folder", "accession", "split":
			default:
				row.Values[h] = rec[i]
			}
		}
		idx.Rows = append(idx.Rows, row)
	}
	return idx, nil
}

func (r IndexRow) check() error {
	switch {
	case r.ParentFolder == "" || strings.ContainsAny(r.ParentFolder, `-/\`):
		return fmt.Errorf("parent_folder %q must be non-empty without '-', '/' or '\\' (the loader splits keys at the first '-')", r.ParentFolder)
	case r.Accession == "" || strings.ContainsAny(r.Accession, `/\`):
		return fmt.Errorf("accession %q must be a file name", r.Accession)
	case r.Split != "" && !validSplits[r.Split]:
		return fmt.Errorf("split %q: want train, val, test or external_test", r.Split)
	}
	return nil
}

// Write writes the index as CSV with its columns in order.
func (idx *Index) Write(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(idx.Columns); err != nil {
		return err
	}
	rec := make([]string, len(idx.Columns))
	for _, r := range idx.Rows {
		if err := r.check(); err != nil {
			return fmt.Errorf("index: study %s: %w", r.Filename(), err)
		}
		for i, c := range idx.Columns {
			switch c {
			case "parent_folder":
				rec[i] = r.ParentFolder
			case "accession":
				rec[i] = r.Accession
			case "split":
				rec[i] = r.Split
			default:
				rec[i] = r.Values[c]
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Filter returns the rows of one split.
func (idx *Index) Filter(split string) []IndexRow {
	var out []IndexRow
	for _, r := range idx.Rows {
		if r.Split == split {
			out = append(out, r)
		}
	}
	return out
}

// AssignSplits sets Split on every row by patient (parent_folder), so that a
// patient's studies never straddle splits. fractions gives train, val and
// test shares (normalised); the assignment depends only on the seed and the
// set of patients, not on row order.
func (idx *Index) AssignSplits(train, val, test float64, seed uint64) error {
	sum := train + val + test
	if train < 0 || val < 0 || test < 0 || sum <= 0 {
		return fmt.Errorf("index: split fractions %v/%v/%v must be non-negative with a positive sum", train, val, test)
	}
	var patients []string
	have := map[string]bool{}
	for _, r := range idx.Rows {
		if !have[r.ParentFolder] {
			have[r.ParentFolder] = true
			patients = append(patients, r.ParentFolder)
		}
	}
	sort.Strings(patients)
	h := fnv.New64a()
	io.WriteString(h, strings.Join(patients, "\x00"))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	rng.Shuffle(len(patients), func(i, j int) { patients[i], patients[j] = patients[j], patients[i] })
	n := len(patients)
	nTrain := int(float64(n)*train/sum + 0.5)
	nVal := int(float64(n)*val/sum + 0.5)
	if nTrain+nVal > n {
		nVal = n - nTrain
	}
	split := map[string]string{}
	for i, p := range patients {
		switch {
		case i < nTrain:
			split[p] = "train"
		case i < nTrain+nVal:
			split[p] = "val"
		default:
			split[p] = "test"
		}
	}
	for i := range idx.Rows {
		idx.Rows[i].Split = split[idx.Rows[i].ParentFolder]
	}
	return nil
}
