package evaluate

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// paperRel is the agreement required with the paper's CSVs (computed by the
// authors with R pROC 1.17). The CSVs hold 15 significant digits, so 1e-12
// leaves three digits for floating-point differences; the test also logs
// the largest difference seen.
const paperRel = 1e-12

// CompareCSV compares a CSV written by cmrfm with a reference CSV: same
// header, same rows in the same order, string fields equal, numeric fields
// within rel relative error ("NA" only against "NA"). It returns the
// largest relative difference and the number of numeric fields whose text
// is byte-identical.
func compareCSV(t *testing.T, got []byte, wantPath string, rel float64) (maxRel float64, same, total int) {
	t.Helper()
	wb, err := os.ReadFile(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	g, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatalf("cmrfm CSV: %v", err)
	}
	w, err := csv.NewReader(bytes.NewReader(wb)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", wantPath, err)
	}
	if !slices.Equal(g[0], w[0]) {
		t.Fatalf("header %q, paper %q", g[0], w[0])
	}
	if len(g) != len(w) {
		t.Fatalf("%d rows, paper %d", len(g)-1, len(w)-1)
	}
	for i := 1; i < len(w); i++ {
		for j := range w[i] {
			gs, ws := g[i][j], w[i][j]
			wv, werr := strconv.ParseFloat(ws, 64)
			if werr != nil || j == 0 { // row name or string column
				if gs != ws {
					t.Errorf("row %d, %s: %q, paper %q", i, w[0][j], gs, ws)
				}
				continue
			}
			total++
			gv, err := strconv.ParseFloat(gs, 64)
			if err != nil {
				t.Errorf("row %d (%s), %s: %q is not a number (paper %s)", i, w[i][1], w[0][j], gs, ws)
				continue
			}
			if gs == ws {
				same++
			}
			d := 0.0
			if gv != wv {
				d = math.Abs(gv-wv) / math.Max(math.Abs(gv), math.Abs(wv))
			}
			maxRel = max(maxRel, d)
			if d > rel {
				t.Errorf("row %d (%s), %s = %s, paper %s (rel. diff %.2g)", i, w[i][1], w[0][j], gs, ws, d)
			}
		}
	}
	return maxRel, same, total
}

func paperDir(t *testing.T) string {
	return testenv.SharedData(t, "cmr_transformer-raw_dataframes", "internal_classification_test")
}

// TestPaperInternalTest reproduces every number of the paper's internal
// test-set CSVs from its published prediction tables.
func TestPaperInternalTest(t *testing.T) {
	dir := paperDir(t)
	rep, err := Classify(ClassOptions{
		Pred:     filepath.Join(dir, "internal_test_artifacts"),
		Baseline: filepath.Join(dir, "internal_test_kinetics_baseline_artefacts"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != 35 {
		t.Fatalf("%d targets, want 35", len(rep.Targets))
	}
	var buf bytes.Buffer
	if err := rep.WriteResults(&buf); err != nil {
		t.Fatal(err)
	}
	mx, same, n := compareCSV(t, buf.Bytes(), filepath.Join(dir, "internal_test_auc_sig_results_combined.csv"), paperRel)
	t.Logf("internal_test_auc_sig_results_combined.csv: %d values, max rel. diff %.2g, %d byte-identical", n, mx, same)

	buf.Reset()
	if err := rep.WritePrevalence(&buf); err != nil {
		t.Fatal(err)
	}
	mx, same, n = compareCSV(t, buf.Bytes(), filepath.Join(dir, "internal_test_set_prevalence.csv"), paperRel)
	t.Logf("internal_test_set_prevalence.csv: %d values, max rel. diff %.2g, %d byte-identical", n, mx, same)

	// docs/reference.md §5.2: which targets pROC tested unpaired, and the
	// directions it chose.
	wantUnpaired := []string{"Aortic.dilation", "Atrial.Septal.Defect", "LV.Non.Compaction", "Left.Atrial.Dilation",
		"Left.Ventricular.Dilation", "Left.Ventricular.Hypertrophy", "Lipomatous.Atrial.Wall", "Previous.Surgery",
		"Pulmonary.Dilation", "Pulmonary.Hypertension", "Right.Atrial.Dilation", "Severe.Mitral.Regurgitation"}
	var unpaired []string
	for _, tg := range rep.Targets {
		if !tg.Test.Paired {
			unpaired = append(unpaired, tg.Name)
		}
		if tg.Pretrained.N != 1218 || tg.Baseline.N != 1218 {
			t.Errorf("%s: %d and %d rows, want 1218 (duplicates kept)", tg.Name, tg.Pretrained.N, tg.Baseline.N)
		}
		dirs := tg.Pretrained.ROC.Direction().String() + "/" + tg.Baseline.ROC.Direction().String()
		want := "</<"
		switch tg.Name {
		case "Arrhythmogenic.right.ventricular.cardiomyopathy":
			want = "</>"
		case "Atrial.Myxoma":
			want = ">/>"
		}
		if dirs != want {
			t.Errorf("%s: directions pretrained/baseline %s, want %s", tg.Name, dirs, want)
		}
	}
	slices.Sort(unpaired)
	slices.Sort(wantUnpaired)
	if !slices.Equal(unpaired, wantUnpaired) {
		t.Errorf("unpaired targets %v, want %v", unpaired, wantUnpaired)
	}
}

func TestPaperInternalTestPretrainedOnly(t *testing.T) {
	dir := paperDir(t)
	rep, err := Classify(ClassOptions{Pred: filepath.Join(dir, "internal_test_artifacts")})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteResults(&buf); err != nil {
		t.Fatal(err)
	}
	mx, same, n := compareCSV(t, buf.Bytes(), filepath.Join(dir, "internal_test_auc_df.csv"), paperRel)
	t.Logf("internal_test_auc_df.csv: %d values, max rel. diff %.2g, %d byte-identical", n, mx, same)
}

// TestFormatRMatchesWriteCSV checks FormatR against every number R's
// write.csv wrote into the paper's CSVs.
func TestFormatRMatchesWriteCSV(t *testing.T) {
	dir := paperDir(t)
	n := 0
	for _, f := range []string{"internal_test_auc_sig_results_combined.csv", "internal_test_auc_df.csv", "internal_test_set_prevalence.csv"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs[1:] {
			for _, s := range rec[2:] {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatalf("%s: %q", f, s)
				}
				if got := FormatR(v); got != s {
					t.Errorf("FormatR(%v) = %s, R wrote %s", v, got, s)
				}
				n++
			}
		}
	}
	t.Logf("%d numbers formatted as R wrote them", n)
}
