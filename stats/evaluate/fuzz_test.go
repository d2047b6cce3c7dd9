package evaluate

import (
	"errors"
	"testing"
)

// FuzzReadTable feeds arbitrary prediction tables (W&B JSON and CSV) to the
// readers: every refusal wraps ErrBadTable, and what is accepted has one
// cell per column in every row and survives Floats and Labels.
func FuzzReadTable(f *testing.F) {
	f.Add([]byte(`{"columns":["filenames","probs","labels"],"data":[["a","0.5","1"],["b","0.1","0"]],"nrows":2,"ncols":3}`), true)
	f.Add([]byte("filenames,preds,labels\na,55.2,60\nb,NaN,\n"), false)
	f.Add([]byte(`{"columns":["x"],"data":[[1],[null],[{"a":1}]]}`), true)
	f.Fuzz(func(t *testing.T, b []byte, json bool) {
		var tb *Table
		var err error
		if json {
			tb, err = parseWandB("fuzz.json", b)
		} else {
			tb, err = parseCSV("fuzz.csv", b)
		}
		if err != nil {
			if !errors.Is(err, ErrBadTable) {
				t.Fatalf("error does not wrap ErrBadTable: %v", err)
			}
			return
		}
		for i, r := range tb.Rows {
			if len(r) != len(tb.Columns) {
				t.Fatalf("row %d: %d cells, %d columns", i, len(r), len(tb.Columns))
			}
		}
		for _, c := range tb.Columns {
			tb.Floats(c)
			tb.Labels(c)
		}
	})
}
