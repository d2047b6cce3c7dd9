package explain

import (
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/model/weights"
)

// predictRun writes what cmrfm predict --out --clips --embeddings writes
// for n studies of 3 clips each (views 4CH, SAX, SAX), with study
// embeddings in k clusters (width w) and view embeddings of width vw.
func predictRun(t *testing.T, dir string, n, w, vw int) (npz, preds, clips, index string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	set := weights.NewSet()
	study := make([]float32, n*w)
	var view []float32
	var owner []byte
	for i := range n {
		c := i % 3
		for j := range w {
			study[i*w+j] = float32(rng.NormFloat64()*0.3 + float64(c*(j%2)*4))
		}
		for range 3 {
			for range vw {
				view = append(view, float32(rng.NormFloat64()))
			}
			owner = binary.LittleEndian.AppendUint32(owner, uint32(i))
		}
	}
	set.Add(weights.FromFloat32("study_embedding", []int{n, w}, study))
	set.Add(weights.FromFloat32("view_embedding", []int{3 * n, vw}, view))
	set.Add(&weights.Tensor{Name: "view_study", DType: weights.I32, Shape: []int{3 * n}, Data: owner})
	npz = filepath.Join(dir, "emb.npz")
	f, err := os.Create(npz)
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.WriteNPZ(f, set); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var p, c, x strings.Builder
	p.WriteString("filenames,probs,labels,views,softmax_attn\n")
	c.WriteString("probs,labels,filenames,views,softmax_attn,clip,slice,start_frame,end_frame\n")
	x.WriteString("parent_folder,accession,split,dcm,vendor\n")
	for i := range n {
		key := fmt.Sprintf("s_%03d-a%03d.h5", i, i)
		fmt.Fprintf(&p, "%s,0.5,%d,4CH;SAX;SAX,0.4;0.3;0.3\n", key, i%3/2)
		for k, v := range []string{"4CH", "SAX", "SAX"} {
			fmt.Fprintf(&c, "0.5,%d,%s,%s,0.3,%d,0,0,16\n", i%3/2, key, v, k)
		}
		fmt.Fprintf(&x, "s_%03d,a%03d.h5,test,%d,%s\n", i, i, i%3/2, []string{"ge", "siemens", "philips"}[i%3])
	}
	preds, clips, index = filepath.Join(dir, "preds.csv"), filepath.Join(dir, "clips.csv"), filepath.Join(dir, "index.csv")
	os.WriteFile(preds, []byte(p.String()), 0o644)
	os.WriteFile(clips, []byte(c.String()), 0o644)
	os.WriteFile(index, []byte(x.String()), 0o644)
	return npz, preds, clips, index
}

func readUMAPCSV(t *testing.T, path string) [][]string {
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
	return recs
}

// Study embeddings named by the predictions, coloured by an index column;
// clip embeddings coloured by view from the per-clip table.
func TestUMAPStageOutputs(t *testing.T) {
	dir := t.TempDir()
	npz, preds, clips, index := predictRun(t, dir, 60, 16, 16)
	out := filepath.Join(dir, "studies")
	r, err := UMAP(t.Context(), UMAPOptions{Embeddings: npz, Predictions: preds, Labels: index, ColorBy: "vendor", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if r.Points != 60 || r.Dim != 16 || r.Array != ArrayStudy || r.Trustworthiness == nil || len(r.Files) != 4 {
		t.Fatalf("result %+v", r)
	}
	recs := readUMAPCSV(t, filepath.Join(out, UMAPCSV))
	if strings.Join(recs[0], ",") != "row,key,label,umap_1,umap_2" || len(recs) != 61 {
		t.Fatalf("umap.csv header %v, %d rows", recs[0], len(recs))
	}
	if recs[1][1] != "s_000-a000.h5" || recs[1][2] != "ge" || recs[2][2] != "siemens" {
		t.Errorf("row 0/1: %v %v", recs[1], recs[2])
	}
	// The three clusters separate: trustworthiness near 1.
	if *r.Trustworthiness < 0.9 {
		t.Errorf("trustworthiness %.3f of three separated clusters", *r.Trustworthiness)
	}
	for _, f := range r.Files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	out2 := filepath.Join(dir, "clips")
	r2, err := UMAP(t.Context(), UMAPOptions{Embeddings: npz, Array: ArrayView, Predictions: preds, Labels: clips, ColorBy: "views", Out: out2})
	if err != nil {
		t.Fatal(err)
	}
	recs = readUMAPCSV(t, filepath.Join(out2, UMAPCSV))
	if r2.Points != 180 || recs[1][2] != "4CH" || recs[2][2] != "SAX" || recs[4][1] != "s_001-a001.h5" {
		t.Errorf("view rows: %d points, %v %v %v", r2.Points, recs[1], recs[2], recs[4])
	}
}

func TestUMAPStageErrors(t *testing.T) {
	dir := t.TempDir()
	npz, preds, clips, index := predictRun(t, dir, 40, 16, 16)
	_, short, _, _ := predictRun(t, t.TempDir(), 30, 16, 16)
	wide := filepath.Join(dir, "wide.npz")
	{
		set := weights.NewSet()
		set.Add(weights.FromFloat32("study_embedding", []int{4, 3}, make([]float32, 12)))
		set.Add(weights.FromFloat32("view_embedding", []int{4, 5}, make([]float32, 20)))
		f, _ := os.Create(wide)
		weights.WriteNPZ(f, set)
		f.Close()
	}
	narrow := filepath.Join(dir, "narrow.csv")
	os.WriteFile(narrow, []byte("1\n2\n3\n4\n5\n"), 0o644)
	ragged := filepath.Join(dir, "ragged.csv")
	os.WriteFile(ragged, []byte("1,2,3\n4,5\n"), 0o644)
	cases := []struct {
		o    UMAPOptions
		want string
	}{
		{UMAPOptions{Embeddings: npz, Array: "nope"}, `has no array "nope"`},
		{UMAPOptions{Embeddings: wide}, "study_embedding is 3 wide but view_embedding 5: not one model's embeddings"},
		{UMAPOptions{Embeddings: narrow}, "want rows of at least 2 numbers"},
		{UMAPOptions{Embeddings: ragged}, "line 2: 2 values, the first row has 3"},
		{UMAPOptions{Embeddings: npz, Predictions: short}, "has 30 rows but " + npz + " has 40 embeddings"},
		{UMAPOptions{Embeddings: npz, Predictions: preds, Labels: index, ColorBy: "lvef"}, `has no column "lvef"`},
		{UMAPOptions{Embeddings: npz, Predictions: preds, Labels: clips, ColorBy: "views"}, "is a per-clip table"},
		{UMAPOptions{Embeddings: npz, Labels: index, ColorBy: "dcm"}, "needs the study key of every embedding row"},
		{UMAPOptions{Embeddings: filepath.Join(dir, "none.npz")}, "none.npz"},
	}
	for i, c := range cases {
		c.o.Out = t.TempDir()
		_, err := UMAP(t.Context(), c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want %q", i, err, c.want)
		}
	}
}
