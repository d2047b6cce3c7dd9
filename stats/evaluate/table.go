package evaluate

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrBadTable reports a prediction table that cannot be used: unreadable,
// malformed, a missing column, a cell that is not a number, a non-finite
// value or a label other than 0/1. Errors wrap it and name the file, the
// row and the column.
var ErrBadTable = errors.New("bad prediction table")

// Table is a prediction table as read from disk: column names and the raw
// cells of every row, in file order.
type Table struct {
	Path    string
	Columns []string
	Rows    [][]string
}

// ReadTable reads a W&B table export (*.json, docs/reference.md §4.3: an object
// with "columns" and "data", cells usually strings) or a CSV file with a
// header row (*.csv). Every data row must have one cell per column.
func ReadTable(path string) (*Table, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".csv":
	default:
		return nil, fmt.Errorf("evaluate: %s: want a W&B table (.json) or a CSV file (.csv): %w", path, ErrBadTable)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return ParseTable(path, b)
}

// ParseTable parses a table already in memory (an upload, say): a W&B
// table export when name ends in .json, otherwise CSV with a header row.
// name only labels the errors and is never opened. The work is bounded by
// len(b).
func ParseTable(name string, b []byte) (*Table, error) {
	if strings.ToLower(filepath.Ext(name)) == ".json" {
		return parseWandB(name, b)
	}
	return parseCSV(name, b)
}

func badf(path, format string, args ...any) error {
	return fmt.Errorf("evaluate: %s: %s: %w", path, fmt.Sprintf(format, args...), ErrBadTable)
}

func parseWandB(path string, b []byte) (*Table, error) {
	var raw struct {
		Columns []string            `json:"columns"`
		Data    [][]json.RawMessage `json:"data"`
		NRows   *int                `json:"nrows"`
		NCols   *int                `json:"ncols"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, badf(path, "not a W&B table: %v", err)
	}
	if len(raw.Columns) == 0 {
		return nil, badf(path, `not a W&B table: no "columns"`)
	}
	if raw.NRows != nil && *raw.NRows != len(raw.Data) {
		return nil, badf(path, `"nrows" is %d but "data" holds %d rows`, *raw.NRows, len(raw.Data))
	}
	if raw.NCols != nil && *raw.NCols != len(raw.Columns) {
		return nil, badf(path, `"ncols" is %d but "columns" names %d`, *raw.NCols, len(raw.Columns))
	}
	t := &Table{Path: path, Columns: raw.Columns, Rows: make([][]string, len(raw.Data))}
	for i, row := range raw.Data {
		if len(row) != len(raw.Columns) {
			return nil, badf(path, "row %d has %d cells for %d columns", i+1, len(row), len(raw.Columns))
		}
		cells := make([]string, len(row))
		for j, c := range row {
			s, err := cellString(c)
			if err != nil {
				return nil, badf(path, "row %d, column %q: %v", i+1, raw.Columns[j], err)
			}
			cells[j] = s
		}
		t.Rows[i] = cells
	}
	return t, nil
}

// cellString turns a JSON cell into text: strings as they are, numbers as
// written, booleans as true/false, null as "" (reported as empty later).
func cellString(c json.RawMessage) (string, error) {
	c = bytes.TrimSpace(c)
	switch {
	case len(c) == 0 || string(c) == "null":
		return "", nil
	case c[0] == '"':
		var s string
		err := json.Unmarshal(c, &s)
		return s, err
	case c[0] == '{' || c[0] == '[':
		return "", fmt.Errorf("cell is a JSON %s, want a value", map[byte]string{'{': "object", '[': "array"}[c[0]])
	}
	return string(c), nil // number or boolean literal
}

func parseCSV(path string, b []byte) (*Table, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, badf(path, "no CSV header: %v", err)
	}
	t := &Table{Path: path, Columns: header}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badf(path, "%v", err)
		}
		if len(rec) != len(header) {
			line, _ := r.FieldPos(0)
			return nil, badf(path, "row %d (line %d) has %d cells for %d columns", len(t.Rows)+1, line, len(rec), len(header))
		}
		t.Rows = append(t.Rows, rec)
	}
	return t, nil
}

func (t *Table) column(name string) (int, error) {
	if i := slices.Index(t.Columns, name); i >= 0 {
		return i, nil
	}
	return 0, badf(t.Path, "no column %q (columns: %s)", name, strings.Join(t.Columns, ", "))
}

// Excluded counts the rows an evaluation left out.
type Excluded struct {
	// NoLabel rows have an empty label cell (a study without a reference
	// value); NoPrediction rows an empty prediction cell or a non-empty
	// "error" column (cmrfm predict's row for a study it could not read).
	NoLabel, NoPrediction int
}

// usable returns the table without the rows that have no label or no
// prediction, and how many of each it left out. A missing column is left
// for Floats and Labels to report.
func (t *Table) usable(labelCol, predCol string) (*Table, Excluded) {
	var ex Excluded
	li := slices.Index(t.Columns, labelCol)
	pi := slices.Index(t.Columns, predCol)
	ei := slices.Index(t.Columns, "error")
	out := &Table{Path: t.Path, Columns: t.Columns}
	for _, row := range t.Rows {
		switch {
		case ei >= 0 && strings.TrimSpace(row[ei]) != "", pi >= 0 && emptyCell(row[pi]):
			ex.NoPrediction++
		case li >= 0 && emptyCell(row[li]):
			ex.NoLabel++
		default:
			out.Rows = append(out.Rows, row)
		}
	}
	return out, ex
}

// emptyCell reports a cell that holds no value: blank (pandas writes a
// missing value so), JSON null, R's NA. "NaN" is a value — a broken one,
// which Floats refuses.
func emptyCell(s string) bool {
	switch strings.TrimSpace(s) {
	case "", "NA", "null", "None":
		return true
	}
	return false
}

// Floats parses column name as finite numbers. An error names the row
// (1-based, data rows only) and the column.
func (t *Table) Floats(name string) ([]float64, error) {
	j, err := t.column(name)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(t.Rows))
	for i, row := range t.Rows {
		s := strings.TrimSpace(row[j])
		if s == "" {
			return nil, badf(t.Path, "row %d, column %q: empty cell", i+1, name)
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, badf(t.Path, "row %d, column %q: %q is not a number", i+1, name, row[j])
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, badf(t.Path, "row %d, column %q: %q is not finite", i+1, name, row[j])
		}
		out[i] = v
	}
	return out, nil
}

// Labels parses column name as binary labels: 0/1 (also written 0.0/1.0)
// or false/true. An error names the row and the column.
func (t *Table) Labels(name string) ([]bool, error) {
	j, err := t.column(name)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(t.Rows))
	for i, row := range t.Rows {
		s := strings.TrimSpace(row[j])
		switch strings.ToLower(s) {
		case "1", "1.0", "true":
			out[i] = true
		case "0", "0.0", "false":
		case "":
			return nil, badf(t.Path, "row %d, column %q: empty cell", i+1, name)
		default:
			return nil, badf(t.Path, "row %d, column %q: %q is not a 0/1 label", i+1, name, row[j])
		}
	}
	return out, nil
}

// Source is one prediction table and the target it belongs to.
type Source struct {
	Target string
	Path   string
}

// FindSources lists the prediction tables under path. A file is one table
// (target name: the name given, or the file name without .table.json, .json
// or .csv). A folder holds one sub-folder per target, named after it, each
// with exactly one table (*.json or *.csv), as in the paper's
// raw_dataframes/<site>/<model>/<target>/final_test_output.table.json.
// Targets are sorted as R sorts them in an English locale (ignoring case),
// the order of the paper's CSVs.
func FindSources(path, name string) ([]Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if !st.IsDir() {
		if name == "" {
			name = tableStem(filepath.Base(path))
		}
		return []Source{{Target: name, Path: path}}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	var out []Source
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(path, e.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		var tables []string
		for _, f := range files {
			ext := strings.ToLower(filepath.Ext(f.Name()))
			if !f.IsDir() && (ext == ".json" || ext == ".csv") {
				tables = append(tables, f.Name())
			}
		}
		switch len(tables) {
		case 0:
			return nil, fmt.Errorf("evaluate: %s: no prediction table (*.json or *.csv) for target %q: %w", dir, e.Name(), ErrBadTable)
		case 1:
			out = append(out, Source{Target: e.Name(), Path: filepath.Join(dir, tables[0])})
		default:
			return nil, fmt.Errorf("evaluate: %s: %d tables for target %q (%s), want one: %w", dir, len(tables), e.Name(), strings.Join(tables, ", "), ErrBadTable)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("evaluate: %s: no target sub-folders with prediction tables: %w", path, ErrBadTable)
	}
	slices.SortFunc(out, func(a, b Source) int { return compareTargets(a.Target, b.Target) })
	return out, nil
}

func tableStem(base string) string {
	for _, ext := range []string{".table.json", ".json", ".csv"} {
		if strings.HasSuffix(strings.ToLower(base), ext) {
			return base[:len(base)-len(ext)]
		}
	}
	return base
}

// compareTargets orders target names case-insensitively, then bytewise.
func compareTargets(a, b string) int {
	if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// TooFew explains why the table cannot be evaluated, or returns "" when it
// can: fewer than two rows with a numeric label in labelCol, or, for binary
// labels, a single class (no ROC curve). A missing column is left to the
// evaluation to report.
func (t *Table) TooFew(labelCol string, binary bool) string {
	j := slices.Index(t.Columns, labelCol)
	if j < 0 {
		return ""
	}
	n, pos := 0, 0
	for _, r := range t.Rows {
		v, err := strconv.ParseFloat(strings.TrimSpace(r[j]), 64)
		if err != nil || math.IsNaN(v) {
			continue
		}
		n++
		if v == 1 {
			pos++
		}
	}
	switch {
	case n < 2:
		return fmt.Sprintf("%d labelled studies: too few for statistics", n)
	case binary && (pos == 0 || pos == n):
		return fmt.Sprintf("all %d labelled studies are in one class: no ROC curve", n)
	}
	return ""
}
