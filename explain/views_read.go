package explain

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// StudyAttention is one study's bag as a prediction table records it: the
// view of every clip and the clip's softmax MIL attention (summing to 1).
type StudyAttention struct {
	Key string
	// Label is the study's label (NaN when the table has none).
	Label float64
	Views []string
	Attn  []float64
}

// ViewTable is one target's predictions in bag form.
type ViewTable struct {
	// Target names the prediction target (a disease, LVEF).
	Target string
	// Source is the file the table was read from.
	Source  string
	Studies []StudyAttention
}

// Table files a folder of per-target predictions may hold, in the order
// ReadViewTables looks for them: cmrfm predict's per-study table, cmrfm
// predict --clips' per-clip table, the authors' W&B validation table.
var tableNames = []string{"predictions.csv", "clips.csv", "preds_output.table.json"}

// ReadViewTables reads prediction tables with per-clip attention. Each path
// is a file (see [ReadViewTable]) or a folder holding one
// <target>/predictions.csv (cmrfm predict --out with several targets) or
// <target>/preds_output.table.json (the authors' val_artifacts) per target.
func ReadViewTables(paths []string) ([]*ViewTable, error) {
	var out []*ViewTable
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("explain: predictions: %w", err)
		}
		if !st.IsDir() {
			t, err := ReadViewTable(p, "")
			if err != nil {
				return nil, err
			}
			out = append(out, t)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("explain: predictions: %w", err)
		}
		n := 0
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			for _, name := range tableNames {
				f := filepath.Join(p, e.Name(), name)
				if _, err := os.Stat(f); err != nil {
					continue
				}
				t, err := ReadViewTable(f, e.Name())
				if err != nil {
					return nil, err
				}
				out = append(out, t)
				n++
				break
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("explain: predictions folder %s holds no <target>/{%s}", p, strings.Join(tableNames, ","))
		}
	}
	return out, nil
}

// ReadViewTable reads one prediction table with per-clip attention:
//
//   - cmrfm predict's per-study CSV (filenames, probs|preds, labels, views
//     and softmax_attn ';'-joined in bag order);
//   - cmrfm predict --clips' per-clip CSV (one row per clip: filenames,
//     views, softmax_attn; a study's clips are contiguous rows);
//   - a W&B table JSON (*.table.json, the authors' preds_output: columns
//     probs, labels, filenames, views, softmax_attn, one row per clip,
//     a study's clips contiguous).
//
// target names the table; "" derives it from the file: the parent folder for
// predictions.csv / preds_output.table.json, else the file name's stem.
// Every study's attention must sum to 1 (±1e-3): a table whose contiguous
// rows of one study do not, or that lacks an attention column, is an error
// naming the file.
func ReadViewTable(path, target string) (*ViewTable, error) {
	if target == "" {
		target = targetName(path)
	}
	t := &ViewTable{Target: target, Source: path}
	var err error
	if strings.HasSuffix(path, ".json") {
		t.Studies, err = readWandB(path)
	} else {
		t.Studies, err = readPredictionsCSV(path)
	}
	if err != nil {
		return nil, err
	}
	if len(t.Studies) == 0 {
		return nil, fmt.Errorf("explain: %s: no studies", path)
	}
	for i, s := range t.Studies {
		sum := 0.0
		for _, a := range s.Attn {
			if math.IsNaN(a) || a < 0 || a > 1+1e-6 {
				return nil, fmt.Errorf("explain: %s: study %d (%s): attention %v is not a softmax weight", path, i+1, s.Key, a)
			}
			sum += a
		}
		if math.Abs(sum-1) > 1e-3 {
			return nil, fmt.Errorf("explain: %s: study %d (%s): its %d clips' attention sums to %.6g, not 1 (two studies' rows merged, or not softmax attention)",
				path, i+1, s.Key, len(s.Attn), sum)
		}
	}
	return t, nil
}

func targetName(path string) string {
	base := filepath.Base(path)
	switch base {
	case "predictions.csv", "preds_output.table.json", "clips.csv":
		if d := filepath.Base(filepath.Dir(path)); d != "." && d != string(filepath.Separator) {
			return d
		}
	}
	base = strings.TrimSuffix(base, ".table.json")
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// clipRow is one clip of a per-clip table.
type clipRow struct {
	key, view string
	label     float64
	attn      float64
}

// groupContiguous turns per-clip rows into studies: a study is a run of
// contiguous rows with the same key (the authors' tables repeat a file name
// in separate blocks when a study was drawn twice).
func groupContiguous(rows []clipRow) []StudyAttention {
	var out []StudyAttention
	for i, r := range rows {
		if i == 0 || r.key != rows[i-1].key {
			out = append(out, StudyAttention{Key: r.key, Label: r.label})
		}
		s := &out[len(out)-1]
		s.Views = append(s.Views, r.view)
		s.Attn = append(s.Attn, r.attn)
	}
	return out
}

// readWandB reads a W&B table JSON: {"columns": [...], "data": [[...]]}.
// Values may be strings or numbers.
func readWandB(path string) ([]StudyAttention, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	var tab struct {
		Columns []string            `json:"columns"`
		Data    [][]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &tab); err != nil {
		return nil, fmt.Errorf("explain: %s: not a W&B table: %w", path, err)
	}
	col := map[string]int{}
	for i, c := range tab.Columns {
		col[c] = i
	}
	for _, need := range []string{"filenames", "views", "softmax_attn"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("explain: %s: no %q column (have %v); view attention needs the per-clip table with MIL attention (preds_output)",
				path, need, tab.Columns)
		}
	}
	li, hasLabel := col["labels"]
	rows := make([]clipRow, 0, len(tab.Data))
	for i, rec := range tab.Data {
		if len(rec) != len(tab.Columns) {
			return nil, fmt.Errorf("explain: %s: row %d has %d values for %d columns", path, i+1, len(rec), len(tab.Columns))
		}
		r := clipRow{label: math.NaN()}
		var e error
		if r.key, e = jsonString(rec[col["filenames"]]); e == nil {
			if r.view, e = jsonString(rec[col["views"]]); e == nil {
				r.attn, e = jsonNumber(rec[col["softmax_attn"]])
			}
		}
		if e == nil && hasLabel {
			r.label, e = jsonNumber(rec[li])
		}
		if e != nil {
			return nil, fmt.Errorf("explain: %s: row %d: %w", path, i+1, e)
		}
		rows = append(rows, r)
	}
	return groupContiguous(rows), nil
}

func jsonString(m json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(m, &s); err == nil {
		return s, nil
	}
	var f float64
	if err := json.Unmarshal(m, &f); err == nil {
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("value %s is not a string", string(m))
}

// jsonNumber reads a number given as a JSON number or string ("" and null
// are NaN).
func jsonNumber(m json.RawMessage) (float64, error) {
	var f float64
	if err := json.Unmarshal(m, &f); err == nil {
		return f, nil
	}
	var s *string
	if err := json.Unmarshal(m, &s); err != nil {
		return 0, fmt.Errorf("value %s is not a number", string(m))
	}
	if s == nil || strings.TrimSpace(*s) == "" {
		return math.NaN(), nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(*s), 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", *s)
	}
	return f, nil
}

// readPredictionsCSV reads cmrfm predict's per-study table or its per-clip
// table (told apart by the ';'-joined views of the first).
func readPredictionsCSV(path string) ([]StudyAttention, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("explain: %s: empty file", path)
		}
		return nil, fmt.Errorf("explain: %s: %w", path, err)
	}
	col := map[string]int{}
	for i, c := range head {
		col[strings.TrimSpace(c)] = i
	}
	for _, need := range []string{"filenames", "views", "softmax_attn"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("explain: %s: no %q column (columns %v): view attention needs predictions with per-clip MIL attention (cmrfm predict writes views and softmax_attn)",
				path, need, head)
		}
	}
	labelCol := -1
	if i, ok := col["labels"]; ok {
		labelCol = i
	}
	_, perClip := col["clip"]
	var studies []StudyAttention
	var clips []clipRow
	line := 1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("explain: %s: %w", path, err)
		}
		if len(rec) != len(head) {
			return nil, fmt.Errorf("explain: %s line %d: %d fields for %d columns", path, line, len(rec), len(head))
		}
		label := math.NaN()
		if labelCol >= 0 && strings.TrimSpace(rec[labelCol]) != "" {
			if label, err = strconv.ParseFloat(strings.TrimSpace(rec[labelCol]), 64); err != nil {
				return nil, fmt.Errorf("explain: %s line %d: labels %q is not a number", path, line, rec[labelCol])
			}
		}
		key := rec[col["filenames"]]
		views := strings.Split(rec[col["views"]], ";")
		attnText := strings.Split(rec[col["softmax_attn"]], ";")
		if strings.TrimSpace(rec[col["softmax_attn"]]) == "" {
			return nil, fmt.Errorf("explain: %s line %d (%s): empty softmax_attn", path, line, key)
		}
		if len(views) != len(attnText) {
			return nil, fmt.Errorf("explain: %s line %d (%s): %d views but %d attention values", path, line, key, len(views), len(attnText))
		}
		attn := make([]float64, len(attnText))
		for k, s := range attnText {
			if attn[k], err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
				return nil, fmt.Errorf("explain: %s line %d (%s): softmax_attn %q is not a number", path, line, key, s)
			}
		}
		if perClip {
			if len(views) != 1 {
				return nil, fmt.Errorf("explain: %s line %d (%s): a per-clip table holds one view per row, found %d", path, line, key, len(views))
			}
			clips = append(clips, clipRow{key: key, view: views[0], label: label, attn: attn[0]})
			continue
		}
		studies = append(studies, StudyAttention{Key: key, Label: label, Views: views, Attn: attn})
	}
	if perClip {
		return groupContiguous(clips), nil
	}
	return studies, nil
}
