package score

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cmrfm/cmrfm/stats/evaluate"
)

// Task kinds (the same strings as serve/db's).
const (
	Regression     = "regression"
	Classification = "classification"
)

// ErrInvalid wraps every validation error of a submission.
var ErrInvalid = errors.New("invalid submission")

// Task is what scoring needs to know about a task: its kind, targets and
// hidden studies.
type Task struct {
	Kind    string
	Targets []string
	Cutoff  float64 // regression: heart-failure outcome is label < Cutoff
	MinBin  int     // studies aggregated per plotted point (≥ 1)
	Keys    []string
	Public  []bool
	Labels  [][]float64 // [study][target]
	index   map[string]int
}

// Index returns the position of study key, or -1.
func (t *Task) Index(key string) int {
	if t.index == nil {
		t.index = make(map[string]int, len(t.Keys))
		for i, k := range t.Keys {
			t.index[k] = i
		}
	}
	if i, ok := t.index[key]; ok {
		return i
	}
	return -1
}

// PredColumn is the prediction column of the task's kind: "preds" or "probs".
func (t *Task) PredColumn() string {
	if t.Kind == Regression {
		return "preds"
	}
	return "probs"
}

// Preds holds one prediction per target and study, in task order:
// Preds[target][study].
type Preds [][]float64

// File is one uploaded file: the form field it came in, its (sanitised)
// name and its content.
type File struct {
	Field, Name string
	Data        []byte
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}

// checkText refuses content that is not a text table: a ZIP or gzip
// archive, or binary bytes.
func checkText(f File) error {
	b := f.Data
	switch {
	case len(bytes.TrimSpace(b)) == 0:
		return invalid("%s: the file is empty", f.Name)
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return invalid("%s: this is a ZIP archive, not a CSV file: upload the predictions CSV itself", f.Name)
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return invalid("%s: this is a gzip archive, not a CSV file: upload the predictions CSV itself", f.Name)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return invalid("%s: binary content (a NUL byte at offset %d): want a CSV text file", f.Name, i)
	}
	if !utf8.Valid(b) {
		return invalid("%s: not UTF-8 text: want a CSV text file", f.Name)
	}
	return nil
}

// Parse validates the uploaded files against the task and returns the
// predictions in task order. A regression task or a single-target
// classification task takes one file with columns filenames and
// preds|probs; a task with several targets takes either one file with
// probs_<target> columns or one file per target, each sent in a form field
// named after its target, with a probs column.
func Parse(t *Task, files []File) (Preds, error) {
	if len(files) == 0 {
		return nil, invalid("no file uploaded")
	}
	out := make(Preds, len(t.Targets))
	seenTarget := map[string]string{}
	for _, f := range files {
		if err := checkText(f); err != nil {
			return nil, err
		}
		tab, err := evaluate.ParseTable(f.Name, f.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", err, ErrInvalid)
		}
		// Which targets does this file carry, and in which column?
		cols := map[int]string{}
		switch j := targetIndex(t, f.Field); {
		case j >= 0:
			cols[j] = t.PredColumn()
		case len(t.Targets) == 1:
			col := t.PredColumn()
			if !has(tab.Columns, col) && has(tab.Columns, col+"_"+t.Targets[0]) {
				col += "_" + t.Targets[0]
			}
			cols[0] = col
		default:
			for j, tg := range t.Targets {
				if c := t.PredColumn() + "_" + tg; has(tab.Columns, c) {
					cols[j] = c
				}
			}
			if len(cols) == 0 {
				return nil, invalid("%s: no column %s_<target> for any of this task's targets (%s); columns: %s",
					f.Name, t.PredColumn(), strings.Join(t.Targets, ", "), strings.Join(tab.Columns, ", "))
			}
		}
		if err := hint(t, f.Name, tab.Columns, cols); err != nil {
			return nil, err
		}
		rows, err := studyRows(t, f.Name, tab)
		if err != nil {
			return nil, err
		}
		for j, col := range cols {
			if prev, dup := seenTarget[t.Targets[j]]; dup {
				return nil, invalid("%s: target %s is already given by %s", f.Name, t.Targets[j], prev)
			}
			seenTarget[t.Targets[j]] = f.Name
			vals, err := tab.Floats(col)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", err, ErrInvalid)
			}
			p := make([]float64, len(t.Keys))
			for r, v := range vals {
				if t.Kind == Classification && !(v >= 0 && v <= 1) {
					return nil, invalid("%s: row %d, column %q: %s is not a probability in [0, 1]", f.Name, r+1, col, tab.Rows[r][colIndex(tab.Columns, col)])
				}
				p[rows[r]] = v
			}
			out[j] = p
		}
	}
	for j, tg := range t.Targets {
		if out[j] == nil {
			return nil, invalid("no predictions for target %s: send a column %s_%s, or a file in a form field named %s",
				tg, t.PredColumn(), tg, tg)
		}
	}
	return out, nil
}

// hint explains the commonest mistake, a regression table for a
// classification task or the reverse.
func hint(t *Task, name string, columns []string, cols map[int]string) error {
	for _, col := range cols {
		if has(columns, col) {
			continue
		}
		other := "probs"
		if t.Kind == Classification {
			other = "preds"
		}
		msg := fmt.Sprintf("%s: no column %q (columns: %s)", name, col, strings.Join(columns, ", "))
		if has(columns, other) {
			msg += fmt.Sprintf("; this is a %s task, so the table needs %q, not %q", t.Kind, t.PredColumn(), other)
		}
		return invalid("%s", msg)
	}
	return nil
}

// studyRows maps each row of tab to its study, refusing unknown, duplicate
// and missing studies.
func studyRows(t *Task, name string, tab *evaluate.Table) ([]int, error) {
	kc := colIndex(tab.Columns, "filenames")
	if kc < 0 {
		return nil, invalid("%s: no column %q naming the studies (columns: %s)", name, "filenames", strings.Join(tab.Columns, ", "))
	}
	rows := make([]int, len(tab.Rows))
	first := make(map[int]int, len(tab.Rows))
	for r, row := range tab.Rows {
		key := strings.TrimSpace(row[kc])
		i := t.Index(key)
		if i < 0 {
			return nil, invalid("%s: row %d: study %q is not in this task's test set", name, r+1, clip(key, 80))
		}
		if prev, dup := first[i]; dup {
			return nil, invalid("%s: row %d: study %q is listed twice (also row %d)", name, r+1, key, prev+1)
		}
		first[i] = r
		rows[r] = i
	}
	if len(first) < len(t.Keys) {
		var missing []string
		for i, k := range t.Keys {
			if _, ok := first[i]; !ok {
				missing = append(missing, k)
			}
		}
		ex := missing
		if len(ex) > 5 {
			ex = ex[:5]
		}
		return nil, invalid("%s: %d of the %d test studies have no prediction (e.g. %s)", name, len(missing), len(t.Keys), strings.Join(ex, ", "))
	}
	return rows, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func has(cols []string, c string) bool { return colIndex(cols, c) >= 0 }

func colIndex(cols []string, c string) int {
	for i, x := range cols {
		if x == c {
			return i
		}
	}
	return -1
}

func targetIndex(t *Task, field string) int {
	for j, tg := range t.Targets {
		if field == tg && len(t.Targets) > 1 {
			return j
		}
	}
	return -1
}
