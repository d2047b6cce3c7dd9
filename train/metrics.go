package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File names inside a run folder.
const (
	MetricsCSV   = "metrics.csv"
	MetricsJSONL = "metrics.jsonl"
)

// Row is one line of the metrics files: the update count, epoch and
// learning rate, and named values (training means over the rows' window,
// validation results where validation ran). A missing value is an empty
// CSV cell (NaN in pandas) and an absent JSON key.
type Row struct {
	Step   int                `json:"step"`
	Epoch  int                `json:"epoch"`
	LR     float64            `json:"lr"`
	Values map[string]float64 `json:"values,omitempty"`
}

// Set records a value; NaN and ±Inf are left out (missing).
func (r *Row) Set(name string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if r.Values == nil {
		r.Values = map[string]float64{}
	}
	r.Values[name] = v
}

// Get returns a value and whether it is present.
func (r Row) Get(name string) (float64, bool) {
	v, ok := r.Values[name]
	return v, ok
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Metrics writes the metrics of a run as metrics.csv and metrics.jsonl
// (one object per row, keys in column order). Values are formatted in
// Go's shortest round-trip form, so the files are a deterministic function
// of the rows: a resumed run writes the same bytes as an uninterrupted one.
type Metrics struct {
	columns    []string
	csv, jsonl *os.File
	rows       []Row
	csvPath    string
	jsonlPath  string
}

// OpenMetrics creates dir/metrics.csv and dir/metrics.jsonl for the named
// value columns. keep > 0 (resuming) keeps the first keep rows of an
// existing metrics.jsonl and rewrites both files from them; fewer rows
// than keep is an error (the files do not belong to the checkpoint).
func OpenMetrics(dir string, columns []string, keep int) (*Metrics, error) {
	m := &Metrics{columns: columns, csvPath: filepath.Join(dir, MetricsCSV), jsonlPath: filepath.Join(dir, MetricsJSONL)}
	var old []Row
	if keep > 0 {
		rows, err := ReadMetrics(m.jsonlPath)
		if err != nil {
			return nil, fmt.Errorf("train: resuming metrics: %w", err)
		}
		if len(rows) < keep {
			return nil, fmt.Errorf("train: resuming metrics: %s has %d rows, the checkpoint counted %d", m.jsonlPath, len(rows), keep)
		}
		old = rows[:keep]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: metrics: %w", err)
	}
	var err error
	if m.csv, err = os.Create(m.csvPath); err != nil {
		return nil, fmt.Errorf("train: metrics: %w", err)
	}
	if m.jsonl, err = os.Create(m.jsonlPath); err != nil {
		m.csv.Close()
		return nil, fmt.Errorf("train: metrics: %w", err)
	}
	head := append([]string{"step", "epoch", "lr"}, columns...)
	if _, err := fmt.Fprintln(m.csv, strings.Join(head, ",")); err != nil {
		m.Close()
		return nil, fmt.Errorf("train: metrics: %w", err)
	}
	for _, r := range old {
		if err := m.Add(r); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

// Columns returns the value columns.
func (m *Metrics) Columns() []string { return m.columns }

// CSVLine renders a row as a metrics.csv line for these columns.
func CSVLine(r Row, columns []string) string {
	f := make([]string, 0, 3+len(columns))
	f = append(f, strconv.Itoa(r.Step), strconv.Itoa(r.Epoch), fmtFloat(r.LR))
	for _, c := range columns {
		if v, ok := r.Values[c]; ok {
			f = append(f, fmtFloat(v))
		} else {
			f = append(f, "")
		}
	}
	return strings.Join(f, ",")
}

// JSONLine renders a row as one metrics.jsonl object, keys in column
// order.
func JSONLine(r Row, columns []string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"step":%d,"epoch":%d,"lr":%s`, r.Step, r.Epoch, fmtFloat(r.LR))
	for _, c := range columns {
		if v, ok := r.Values[c]; ok {
			k, _ := json.Marshal(c)
			fmt.Fprintf(&b, ",%s:%s", k, fmtFloat(v))
		}
	}
	b.WriteByte('}')
	return b.String()
}

// Add appends a row to both files.
func (m *Metrics) Add(r Row) error {
	if _, err := fmt.Fprintln(m.csv, CSVLine(r, m.columns)); err != nil {
		return fmt.Errorf("train: metrics %s: %w", m.csvPath, err)
	}
	if _, err := fmt.Fprintln(m.jsonl, JSONLine(r, m.columns)); err != nil {
		return fmt.Errorf("train: metrics %s: %w", m.jsonlPath, err)
	}
	m.rows = append(m.rows, r)
	return nil
}

// Rows returns the rows written so far (including kept ones).
func (m *Metrics) Rows() []Row { return m.rows }

// Sync flushes both files to disk.
func (m *Metrics) Sync() error {
	if err := m.csv.Sync(); err != nil {
		return err
	}
	return m.jsonl.Sync()
}

// Close closes both files.
func (m *Metrics) Close() error {
	var errs []error
	for _, f := range []*os.File{m.csv, m.jsonl} {
		if f != nil {
			if err := f.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("train: metrics: %v", errs)
	}
	return nil
}

// ReadMetrics reads a metrics.jsonl file.
func ReadMetrics(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var obj map[string]float64
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			return nil, fmt.Errorf("train: %s line %d: %w", path, line, err)
		}
		r := Row{Step: int(obj["step"]), Epoch: int(obj["epoch"]), LR: obj["lr"]}
		for k, v := range obj {
			if k != "step" && k != "epoch" && k != "lr" {
				r.Set(k, v)
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	return rows, nil
}
