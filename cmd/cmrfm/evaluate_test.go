package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
	"github.com/cmrfm/cmrfm/stats/evaluate"
)

func evalCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// sameCSV checks that got (a CSV cmrfm wrote) has the header, row names and
// strings of want (a CSV R wrote) and every number within rel relative
// error.
func sameCSV(t *testing.T, gotPath, wantPath string, rel float64) {
	t.Helper()
	read := func(p string) [][]string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return recs
	}
	g, w := read(gotPath), read(wantPath)
	if len(g) != len(w) || !slices.Equal(g[0], w[0]) {
		t.Fatalf("%s: %d rows, header %q; %s: %d rows, header %q", gotPath, len(g), g[0], wantPath, len(w), w[0])
	}
	worst := 0.0
	for i := 1; i < len(w); i++ {
		for j := range w[i] {
			wv, err := strconv.ParseFloat(w[i][j], 64)
			if err != nil || j == 0 {
				if g[i][j] != w[i][j] {
					t.Errorf("%s row %d %s: %q, want %q", filepath.Base(gotPath), i, w[0][j], g[i][j], w[i][j])
				}
				continue
			}
			gv, err := strconv.ParseFloat(g[i][j], 64)
			d := math.Abs(gv-wv) / math.Max(math.Abs(gv), math.Abs(wv))
			if gv == wv {
				d = 0
			}
			worst = max(worst, d)
			if err != nil || d > rel {
				t.Errorf("%s row %d (%s) %s: %s, want %s", filepath.Base(gotPath), i, w[i][1], w[0][j], g[i][j], w[i][j])
			}
		}
	}
	t.Logf("%s: %d rows match %s, max rel. diff %.2g", filepath.Base(gotPath), len(w)-1, filepath.Base(wantPath), worst)
}

// The acceptance check: `cmrfm evaluate` reproduces every number of
// the paper's internal-test CSVs (written by the authors with R pROC 1.17)
// from the paper's prediction tables, and writes the figures.
func TestEvaluatePaperInternalTest(t *testing.T) {
	d := testenv.SharedData(t, "cmr_transformer-raw_dataframes", "internal_classification_test")
	out := t.TempDir()
	code, stdout, stderr := evalCLI(t, "evaluate", "classification",
		"--pred", filepath.Join(d, "internal_test_artifacts"),
		"--baseline", filepath.Join(d, "internal_test_kinetics_baseline_artefacts"),
		"--out", filepath.Join(out, "combined.csv"),
		"--prevalence", filepath.Join(out, "prevalence.csv"),
		"--thresholds", filepath.Join(out, "thresholds.csv"),
		"--tests", filepath.Join(out, "tests.csv"),
		"--plot", filepath.Join(out, "figures"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	sameCSV(t, filepath.Join(out, "combined.csv"), filepath.Join(d, "internal_test_auc_sig_results_combined.csv"), 1e-12)
	sameCSV(t, filepath.Join(out, "prevalence.csv"), filepath.Join(d, "internal_test_set_prevalence.csv"), 1e-12)
	if !strings.Contains(stdout, "35 targets") || !strings.Contains(stdout, "PureNormal") {
		t.Errorf("summary:\n%s", stdout)
	}
	figs, _ := filepath.Glob(filepath.Join(out, "figures", "roc_*"))
	if len(figs) != 70 {
		t.Errorf("%d figure files, want 35 PNG + 35 SVG", len(figs))
	}
	b, _ := os.ReadFile(filepath.Join(out, "thresholds.csv"))
	if n := strings.Count(string(b), `"sensitivity>=0.9"`); n != 70 {
		t.Errorf("thresholds.csv: %d sensitivity>=0.9 rows, want 70 (35 targets × 2 models)", n)
	}
	b, _ = os.ReadFile(filepath.Join(out, "tests.csv"))
	if n := strings.Count(string(b), "unpaired DeLong"); n != 12 {
		t.Errorf("tests.csv: %d unpaired tests, want 12 (docs/reference.md §5.2)", n)
	}

	code, _, stderr = evalCLI(t, "evaluate", "classification",
		"--pred", filepath.Join(d, "internal_test_artifacts"), "--out", filepath.Join(out, "auc_df.csv"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	sameCSV(t, filepath.Join(out, "auc_df.csv"), filepath.Join(d, "internal_test_auc_df.csv"), 1e-12)
}

func TestEvaluateRegressionCLI(t *testing.T) {
	dir := filepath.Join("..", "..", "stats", "testdata", "evaluate", "regression")
	pred := filepath.Join(dir, "pretrained_final_results.table.json")
	base := filepath.Join(dir, "baseline_final_results.table.json")
	out := t.TempDir()
	code, stdout, stderr := evalCLI(t, "evaluate", "regression", "--pred", pred, "--baseline", base,
		"--target", "LVEF", "--out", filepath.Join(out, "lvef.csv"), "--plot", filepath.Join(out, "fig"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// The command writes exactly what the package computes (whose numbers
	// stats/evaluate's tests check against R).
	rep, err := evaluate.Regress(evaluate.RegOptions{Pred: pred, Baseline: base, Target: "LVEF"})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := rep.WriteResults(&want); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(out, "lvef.csv"))
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("lvef.csv differs from evaluate.Regress's output:\n%s\nwant\n%s", got, want.String())
	}
	if !strings.Contains(stdout, "MAE") || !strings.Contains(stdout, "AUROC difference") {
		t.Errorf("summary:\n%s", stdout)
	}
	figs, _ := filepath.Glob(filepath.Join(out, "fig", "*"))
	if len(figs) != 10 {
		t.Errorf("%d figure files, want 10: %v", len(figs), figs)
	}
	// "-" writes the CSV to standard output (and no summary).
	code, stdout, _ = evalCLI(t, "evaluate", "regression", "--pred", pred, "--target", "LVEF", "--cutoff", "50", "--out", "-")
	if code != 0 || !strings.HasPrefix(stdout, `"","target","n","mae"`) || strings.Contains(stdout, "MAE") {
		t.Errorf("--out -: exit %d\n%s", code, stdout)
	}
}

func TestEvaluateBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "Amyloid.csv")
	if err := os.WriteFile(bad, []byte("filenames,probs,labels\na.h5,0.2,0\nb.h5,0.x,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results.csv")
	code, _, stderr := evalCLI(t, "evaluate", "classification", "--pred", bad, "--out", out)
	if code != 1 || !strings.Contains(stderr, bad) || !strings.Contains(stderr, `row 2, column "probs"`) {
		t.Errorf("exit %d, stderr %q: want 1 and the file, row and column", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("results.csv written despite the error")
	}
	for _, args := range [][]string{
		{"--paired", "maybe"}, {"--direction", "up"}, {"--ci", "jackknife"}, {"--tests", filepath.Join(dir, "t.csv")},
	} {
		good := filepath.Join("..", "..", "stats", "testdata", "evaluate", "classification", "pretrained")
		code, _, stderr := evalCLI(t, append([]string{"evaluate", "classification", "--pred", good, "--out", out}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if code, _, _ := evalCLI(t, "evaluate", "classification", "--out", out); code != exitUsage {
		t.Errorf("missing --pred: exit %d", code)
	}
}

func TestEvaluateBootstrapCLI(t *testing.T) {
	good := filepath.Join("..", "..", "stats", "testdata", "evaluate", "classification", "pretrained")
	dir := t.TempDir()
	var outs [2][]byte
	for i := range outs {
		p := filepath.Join(dir, strconv.Itoa(i)+".csv")
		if code, _, stderr := evalCLI(t, "evaluate", "classification", "--pred", good, "--out", p, "--ci", "bootstrap", "--boot-n", "500", "--seed", "9"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		outs[i], _ = os.ReadFile(p)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("the same --seed gave different bootstrap intervals")
	}
}
