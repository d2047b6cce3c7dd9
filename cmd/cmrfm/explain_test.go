package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// cmrfm explain views on the authors' validation tables: exit 0, the CSV
// and heat maps printed, the Hypertrophic.Cardiomyopathy 2CH value theirs.
func TestExplainViewsCLI(t *testing.T) {
	dir := testenv.SharedData(t, "cmr_transformer-raw_dataframes", "internal_classification_val", "val_artifacts")
	out := t.TempDir()
	code, stdout, stderr := evalCLI(t, "explain", "views", "--predictions", dir, "--out", out, "--bootstrap", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "view attention of 35 targets") || !strings.Contains(stdout, filepath.Join(out, "view_attention.png")) {
		t.Errorf("stdout %q", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "view_attention.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "Hypertrophic.Cardiomyopathy,all,2CH,1.0402694824932") {
		t.Error("HCM 2CH is not the authors' 1.040")
	}
}

// Bad input exits 1 with a message naming the file; missing flags exit 1
// with the flag named.
func TestExplainErrorsCLI(t *testing.T) {
	dir := t.TempDir()
	noattn := filepath.Join(dir, "lvef.csv")
	os.WriteFile(noattn, []byte("filenames,preds,labels\na,50,55\n"), 0o644)
	code, _, stderr := evalCLI(t, "explain", "views", "--predictions", noattn, "--out", dir)
	if code != 1 || !strings.Contains(stderr, noattn) || !strings.Contains(stderr, `no "views" column`) {
		t.Errorf("views without attention: exit %d, %q", code, stderr)
	}
	emb := filepath.Join(dir, "emb.csv")
	os.WriteFile(emb, []byte("1,2,3\n4,5\n"), 0o644)
	code, _, stderr = evalCLI(t, "explain", "umap", "--embeddings", emb, "--out", dir)
	if code != 1 || !strings.Contains(stderr, emb) || !strings.Contains(stderr, "line 2: 2 values, the first row has 3") {
		t.Errorf("ragged embeddings: exit %d, %q", code, stderr)
	}
	code, _, stderr = evalCLI(t, "explain", "attention", "--store", dir, "--out", dir, "--study", "x-y.h5", "--weights", "w.safetensors")
	if code != 1 || !strings.Contains(stderr, `study "x-y.h5" is not in the store`) {
		t.Errorf("unknown study: exit %d, %q", code, stderr)
	}
	code, _, stderr = evalCLI(t, "explain", "attention", "--store", dir, "--out", dir, "--scale", "log")
	if code != 1 || !strings.Contains(stderr, `scale "log"`) {
		t.Errorf("bad scale: exit %d, %q", code, stderr)
	}
}

// cmrfm explain umap on a CSV of points with a labels file: the outputs.
func TestExplainUMAPCLI(t *testing.T) {
	dir := t.TempDir()
	var pts, labs strings.Builder
	labs.WriteString("filenames,group\n")
	for i := range 60 {
		g := i % 3
		pts.WriteString(strings.Join([]string{strconv.Itoa(g*10 + i%7), strconv.Itoa(g * 10), strconv.Itoa(i % 5)}, ",") + "\n")
		labs.WriteString("p" + strconv.Itoa(i) + ",g" + strconv.Itoa(g) + "\n")
	}
	emb, lab := filepath.Join(dir, "x.csv"), filepath.Join(dir, "labels.csv")
	os.WriteFile(emb, []byte(pts.String()), 0o644)
	os.WriteFile(lab, []byte(labs.String()), 0o644)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := evalCLI(t, "explain", "umap", "--embeddings", emb, "--labels", lab, "--color-by", "group", "--out", out, "--epochs", "50")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{"umap.csv", "umap.png", "umap.svg", "umap.json"} {
		if !strings.Contains(stdout, filepath.Join(out, f)) {
			t.Errorf("%s not printed: %q", f, stdout)
		}
	}
	if !strings.Contains(stdout, "UMAP of 60 points (3-d, spectral") {
		t.Errorf("stdout %q", stdout)
	}
}
