package umap

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// sklearnData is where Debian's python3-sklearn keeps its bundled data
// sets.
const sklearnData = "/usr/lib/python3/dist-packages/sklearn/datasets/data"

// dataset is a labelled point set.
type dataset struct {
	name   string
	x      Data
	labels []string
}

// loadSklearn reads one of sklearn's bundled data sets: digits (64
// features and the label per line, gzipped) or iris, wine and
// breast_cancer (a header line "n,d,class names…", then features and the
// label).
func loadSklearn(t testing.TB, name string) dataset {
	t.Helper()
	testenv.Python(t, "sklearn") // the files ship with Debian's python3-sklearn
	file := map[string]string{"digits": "digits.csv.gz", "iris": "iris.csv", "wine": "wine_data.csv", "breast_cancer": "breast_cancer.csv"}[name]
	f, err := os.Open(filepath.Join(sklearnData, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(file, ".gz") {
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := csv.NewReader(bufio.NewReader(r)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if name != "digits" {
		recs = recs[1:]
	}
	ds := dataset{name: name}
	ds.x.D = len(recs[0]) - 1
	for _, rec := range recs {
		for _, s := range rec[:ds.x.D] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			ds.x.X = append(ds.x.X, float32(v))
		}
		ds.labels = append(ds.labels, rec[ds.x.D])
		ds.x.N++
	}
	return ds
}

func writeCSV(t testing.TB, path string, x Data) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range x.N {
		for k, v := range x.Row(i) {
			if k > 0 {
				w.WriteByte(',')
			}
			w.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func readFloats(t testing.TB, path string) [][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float64, len(recs))
	for i, rec := range recs {
		for _, s := range rec {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				t.Fatalf("%s line %d: %v", path, i+1, err)
			}
			out[i] = append(out[i], v)
		}
	}
	return out
}

// uwot runs testdata/gen/explain/umap/uwot.R.
func uwot(t testing.TB, mode string, x Data, extra ...string) string {
	t.Helper()
	rs := testenv.Tool(t, "Rscript")
	if out, err := exec.Command(rs, "-e", "library(uwot)").CombinedOutput(); err != nil {
		if testenv.InCI() {
			t.Fatalf("MISSING IN CI: R package uwot (Debian r-cran-uwot): %s", out)
		}
		t.Skipf("SKIPPED — R package uwot is not installed (Debian r-cran-uwot); CI runs this test")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "x.csv")
	writeCSV(t, in, x)
	prefix := filepath.Join(dir, "out")
	script := filepath.Join(testenv.RepoRoot(t), "testdata", "gen", "explain", "umap", "uwot.R")
	args := append([]string{script, mode, in, prefix}, extra...)
	if out, err := exec.Command(rs, args...).CombinedOutput(); err != nil {
		t.Fatalf("uwot %s: %v\n%s", mode, err, out)
	}
	return prefix
}

func TestSmokeDigits(t *testing.T) {
	ds := loadSklearn(t, "digits")
	r, err := Fit(t.Context(), ds.x, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tw, _ := Trustworthiness(ds.x, r.Embedding, 2, 15)
	acc, _ := KNNAccuracy(r.Embedding, 2, ds.labels, 5)
	fmt.Println("ours", tw, acc, r.Init, r.A, r.B)
	p := uwot(t, "embed", ds.x)
	y := readFloats(t, p+".embedding.csv")
	var flat []float64
	for _, r := range y {
		flat = append(flat, r...)
	}
	tw2, _ := Trustworthiness(ds.x, flat, 2, 15)
	acc2, _ := KNNAccuracy(flat, 2, ds.labels, 5)
	fmt.Println("uwot", tw2, acc2)
	_ = math.Abs
}
