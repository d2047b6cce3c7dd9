package umap

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
	"github.com/cmrfm/cmrfm/model/weights"
)

// sklearnData is where Debian's python3-sklearn keeps its bundled data
// sets (digits from the UCI optical digits, iris, wine, breast cancer).
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
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
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

func flatten(rows [][]float64) []float64 {
	var out []float64
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// uwot runs testdata/gen/explain/umap/uwot.R (R's uwot, the oracle) and
// returns the output prefix.
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

// golden is testdata/golden.json (testdata/gen/explain/umap/gen.py:
// scipy's curve_fit and sklearn).
type golden struct {
	AB []struct {
		Spread  float64 `json:"spread"`
		MinDist float64 `json:"min_dist"`
		A       float64 `json:"a"`
		B       float64 `json:"b"`
	} `json:"ab"`
	Trust []struct {
		X       [][]float64 `json:"x"`
		Y       [][]float64 `json:"y"`
		Labels  []string    `json:"labels"`
		Results []struct {
			K               int     `json:"k"`
			Trustworthiness float64 `json:"trustworthiness"`
			KNNAccuracy     float64 `json:"knn_accuracy"`
		} `json:"results"`
	} `json:"trust"`
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFindABMatchesScipy(t *testing.T) {
	g := loadGolden(t)
	if len(g.AB) == 0 {
		t.Fatal("no golden a, b")
	}
	for _, c := range g.AB {
		a, b, err := FindAB(c.Spread, c.MinDist)
		if err != nil {
			t.Fatal(err)
		}
		// Both are least-squares minima found iteratively (scipy's MINPACK
		// stops at a relative tolerance of 1.5e-8).
		if math.Abs(a-c.A) > 1e-5*c.A || math.Abs(b-c.B) > 1e-5*c.B {
			t.Errorf("spread %g min_dist %g: a %.8f b %.8f, scipy %.8f %.8f", c.Spread, c.MinDist, a, b, c.A, c.B)
		}
	}
	if _, _, err := FindAB(1, 2); err == nil {
		t.Error("min_dist > spread: no error")
	}
}

func TestTrustworthinessMatchesSklearn(t *testing.T) {
	g := loadGolden(t)
	if len(g.Trust) == 0 {
		t.Fatal("no golden trustworthiness")
	}
	for ci, c := range g.Trust {
		x := Data{N: len(c.X), D: len(c.X[0])}
		for _, r := range c.X {
			for _, v := range r {
				x.X = append(x.X, float32(v)) // float32-exact in the fixture
			}
		}
		y := flatten(c.Y)
		for _, r := range c.Results {
			tw, err := Trustworthiness(x, y, 2, r.K)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(tw-r.Trustworthiness) > 1e-12 {
				t.Errorf("case %d k=%d: trustworthiness %.15f, sklearn %.15f", ci, r.K, tw, r.Trustworthiness)
			}
			acc, err := KNNAccuracy(y, 2, c.Labels, r.K)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(acc-r.KNNAccuracy) > 1e-12 {
				t.Errorf("case %d k=%d: k-NN accuracy %.6f, sklearn %.6f", ci, r.K, acc, r.KNNAccuracy)
			}
		}
	}
}

// ExactKNN against a plain float64 brute force (sort every distance).
func TestExactKNN(t *testing.T) {
	for _, c := range []struct{ n, d, k int }{{37, 3, 5}, {200, 65, 15}, {131, 512, 15}} {
		rng := rand.New(rand.NewPCG(uint64(c.n), 3))
		x := Data{N: c.n, D: c.d, X: make([]float32, c.n*c.d)}
		for i := range x.X {
			x.X[i] = float32(rng.NormFloat64() * 10)
		}
		for _, w := range []int{1, 3} {
			g, err := ExactKNN(x, c.k, w)
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.n {
				type dj struct {
					d float64
					j int
				}
				var all []dj
				for j := range c.n {
					all = append(all, dj{euclid(x.Row(i), x.Row(j)), j})
				}
				slices.SortFunc(all, func(a, b dj) int {
					if a.j == i {
						return -1
					}
					if b.j == i {
						return 1
					}
					if a.d != b.d {
						return cmpF(a.d, b.d)
					}
					return a.j - b.j
				})
				for r := range c.k {
					if int(g.Index[i*c.k+r]) != all[r].j || math.Abs(float64(g.Dist[i*c.k+r])-all[r].d) > 1e-6*all[r].d {
						t.Fatalf("n %d d %d point %d rank %d: %d at %g, brute force %d at %g", c.n, c.d, i, r,
							g.Index[i*c.k+r], g.Dist[i*c.k+r], all[r].j, all[r].d)
					}
				}
			}
		}
	}
}

func cmpF(a, b float64) int {
	if a < b {
		return -1
	}
	return 1
}

// The fuzzy simplicial set against uwot's similarity_graph on the same
// (exact) neighbours: every edge and weight. Data with tied distances
// (iris, digits: integer pixels) are left out: which of two equidistant
// points is the 15th neighbour is arbitrary in both.
func TestFuzzyGraphMatchesUwot(t *testing.T) {
	for _, name := range []string{"wine", "breast_cancer"} {
		ds := loadSklearn(t, name)
		knn, err := ExactKNN(ds.x, 15, 0)
		if err != nil {
			t.Fatal(err)
		}
		g := FuzzySimplicialSet(knn)
		ref := readFloats(t, uwot(t, "graph", ds.x)+".graph.csv")
		want := map[[2]int]float64{}
		for _, r := range ref {
			want[[2]int{int(r[0]) - 1, int(r[1]) - 1}] = r[2]
		}
		worst, missing := 0.0, 0
		for i := range g.N {
			for e := g.Ptr[i]; e < g.Ptr[i+1]; e++ {
				w, ok := want[[2]int{i, int(g.Col[e])}]
				if !ok {
					missing++
					continue
				}
				worst = max(worst, math.Abs(w-g.W[e]))
			}
		}
		t.Logf("%s: %d edges (uwot %d), worst |Δw| %.2g", name, g.NNZ(), len(want), worst)
		// Our neighbour distances are float32 (as umap-learn's), uwot's
		// float64: a relative 6e-8 in d moves exp(−(d − ρ)/σ) by up to
		// ~1e-5 where σ is small.
		if g.NNZ() != len(want) || missing > 0 || worst > 5e-5 {
			t.Errorf("%s: %d edges, uwot %d, %d not in uwot's graph, worst weight difference %g", name, g.NNZ(), len(want), missing, worst)
		}
	}
}

// The spectral initialisation against uwot's (RSpectra or irlba on the
// normalised Laplacian of the same graph): the same two eigenvectors, up
// to sign.
func TestSpectralMatchesUwot(t *testing.T) {
	for _, name := range []string{"wine", "digits"} {
		ds := loadSklearn(t, name)
		knn, _ := ExactKNN(ds.x, 15, 0)
		g := FuzzySimplicialSet(knn)
		if _, nc := Components(g); nc != 1 {
			t.Fatalf("%s: %d components; the comparison needs one", name, nc)
		}
		e, err := SpectralEmbedding(g, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref := readFloats(t, uwot(t, "spectral", ds.x)+".embedding.csv")
		for c := range 2 {
			a, b := make([]float64, g.N), make([]float64, g.N)
			for i := range g.N {
				a[i], b[i] = e[i][c], ref[i][c]
			}
			if r := math.Abs(corr(a, b)); r < 0.999 {
				t.Errorf("%s eigenvector %d: |correlation| with uwot's %.5f, want ≥ 0.999", name, c+1, r)
			}
		}
	}
}

func corr(a, b []float64) float64 {
	n := float64(len(a))
	var ma, mb float64
	for i := range a {
		ma += a[i] / n
		mb += b[i] / n
	}
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / math.Sqrt(saa*sbb)
}

// phantomEmbeddings is testdata/phantom_embeddings.npz: cmrfm's own study
// embeddings (64-d) of 300 phantom studies from a fine-tuned disease model,
// labelled by phenotype (testdata/gen/explain/umap/phantom.sh).
func phantomEmbeddings(t *testing.T) dataset {
	t.Helper()
	set, err := weights.Load("testdata/phantom_embeddings.npz")
	if err != nil {
		t.Fatal(err)
	}
	e, l := set.Tensors["embedding"], set.Tensors["label"]
	if e == nil || l == nil || len(e.Shape) != 2 || l.DType != weights.I32 {
		t.Fatalf("phantom_embeddings.npz: arrays %v", set.Names())
	}
	v, err := e.Float32()
	if err != nil {
		t.Fatal(err)
	}
	ds := dataset{name: "phantom", x: Data{N: e.Shape[0], D: e.Shape[1], X: v}}
	for i := range ds.x.N {
		ds.labels = append(ds.labels, strconv.Itoa(int(int32(binary.LittleEndian.Uint32(l.Data[4*i:])))))
	}
	return ds
}

// umapJS is testdata/umapjs.json (testdata/gen/explain/umap/umapjs.sh):
// the trustworthiness and 5-NN accuracy of npm umap-js@1.4.0's layouts
// (seeds 1–3), measured by sklearn, per data set: the means.
func umapJS(t *testing.T) map[string][2]float64 {
	t.Helper()
	b, err := os.ReadFile("testdata/umapjs.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Results []struct {
			Data            string  `json:"data"`
			Trustworthiness float64 `json:"trustworthiness"`
			KNNAccuracy     float64 `json:"knn_accuracy"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]float64{}
	n := map[string]float64{}
	for _, r := range f.Results {
		m := out[r.Data]
		out[r.Data] = [2]float64{m[0] + r.Trustworthiness, m[1] + r.KNNAccuracy}
		n[r.Data]++
	}
	for k, v := range out {
		out[k] = [2]float64{v[0] / n[k], v[1] / n[k]}
	}
	return out
}

// The acceptance test: on the same inputs, our UMAP's
// trustworthiness (k = 15, sklearn's definition) is within 0.01 of uwot's
// and its 2-D k-NN label accuracy (k = 5, leave-one-out) within 2 points;
// the same against umap-js (from its fixture). The layouts are random, so
// each side is the mean over seeds, enough of them that the mean's
// standard error is well below the 2-point bar: on the 178 wine samples
// one seed's 5-NN accuracy has a standard deviation of 2.2 (ours) and 2.7
// (uwot) points, so 40 seeds (SE ≈ 0.4) up to 300 points; 10 up to 1,000
// (breast cancer: SD ≈ 0.3); 3 above (umap-js' fixture: 3).
func TestUMAPMatchesUwotAndUmapJS(t *testing.T) {
	js := umapJS(t)
	sets := []dataset{loadSklearn(t, "iris"), loadSklearn(t, "wine"), loadSklearn(t, "breast_cancer"),
		loadSklearn(t, "digits")}
	sets = append(sets, phantomEmbeddings(t))
	for _, ds := range sets {
		n := 3
		switch {
		case ds.x.N <= 300:
			n = 40
		case ds.x.N <= 1000:
			n = 10
		}
		var seeds []uint64
		for s := range n {
			seeds = append(seeds, uint64(s+1))
		}
		var list []string
		for _, s := range seeds {
			list = append(list, strconv.FormatUint(s, 10))
		}
		prefix := uwot(t, "embed", ds.x, "1", "0", strings.Join(list, ","))
		var tw, twRef, acc, accRef float64
		var per []string
		m := float64(len(seeds))
		for _, s := range seeds {
			r, err := Fit(t.Context(), ds.x, Options{Seed: s})
			if err != nil {
				t.Fatal(err)
			}
			ref := flatten(readFloats(t, prefix+".embedding."+strconv.FormatUint(s, 10)+".csv"))
			a, _ := Trustworthiness(ds.x, r.Embedding, 2, 15)
			b, _ := Trustworthiness(ds.x, ref, 2, 15)
			c, _ := KNNAccuracy(r.Embedding, 2, ds.labels, 5)
			d, _ := KNNAccuracy(ref, 2, ds.labels, 5)
			tw, twRef, acc, accRef = tw+a/m, twRef+b/m, acc+c/m, accRef+d/m
			if s <= 3 {
				per = append(per, fmt.Sprintf("seed %d: T %.4f/%.4f acc %.2f/%.2f", s, a, b, 100*c, 100*d))
			}
		}
		t.Logf("%-13s n=%4d d=%3d seeds %2d  trustworthiness %.4f (uwot %.4f)  5-NN accuracy %.2f%% (uwot %.2f%%)  [%s …]",
			ds.name, ds.x.N, ds.x.D, len(seeds), tw, twRef, 100*acc, 100*accRef, strings.Join(per, "; "))
		if math.Abs(tw-twRef) > 0.01 {
			t.Errorf("%s: trustworthiness %.4f, uwot %.4f: more than 0.01 apart", ds.name, tw, twRef)
		}
		if math.Abs(acc-accRef) > 0.02 {
			t.Errorf("%s: 5-NN accuracy %.2f%%, uwot %.2f%%: more than 2 points apart", ds.name, 100*acc, 100*accRef)
		}
		// umap-js (random initialisation, NN-descent neighbours) is the
		// second oracle: trustworthiness within 0.01, and k-NN accuracy
		// within 2 points of the range the two references span (they
		// differ by 2.6 points on wine themselves).
		if j, ok := js[ds.name]; ok {
			t.Logf("%-13s umap-js: trustworthiness %.4f, 5-NN accuracy %.2f%%", ds.name, j[0], 100*j[1])
			if math.Abs(tw-j[0]) > 0.01 {
				t.Errorf("%s: trustworthiness %.4f, umap-js %.4f: more than 0.01 apart", ds.name, tw, j[0])
			}
			if lo, hi := min(accRef, j[1])-0.02, max(accRef, j[1])+0.02; acc < lo || acc > hi {
				t.Errorf("%s: 5-NN accuracy %.2f%% outside uwot's and umap-js' [%.2f%%, %.2f%%] ± 2 points", ds.name, 100*acc, 100*min(accRef, j[1]), 100*max(accRef, j[1]))
			}
		}
	}
}

// One seed, one embedding, whatever the number of workers.
func TestFitDeterministic(t *testing.T) {
	ds := loadSklearn(t, "iris")
	var first []float64
	for _, w := range []int{1, 2, 3} {
		r, err := Fit(t.Context(), ds.x, Options{Seed: 42, Workers: w, Epochs: 100})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = r.Embedding
			continue
		}
		if !slices.Equal(first, r.Embedding) {
			t.Fatalf("%d workers give a different embedding", w)
		}
	}
	r, _ := Fit(t.Context(), ds.x, Options{Seed: 43, Epochs: 100})
	if slices.Equal(first, r.Embedding) {
		t.Error("another seed gives the same embedding")
	}
}

func TestFitErrors(t *testing.T) {
	ctx := t.Context()
	if _, err := Fit(ctx, Data{N: 3, D: 2, X: make([]float32, 6)}, Options{}); err == nil {
		t.Error("3 points: no error")
	}
	x := Data{N: 10, D: 2, X: make([]float32, 20)}
	x.X[7] = float32(math.NaN())
	if _, err := Fit(ctx, x, Options{}); err == nil || !strings.Contains(err.Error(), "point 3 has a non-finite value") {
		t.Errorf("NaN: %v", err)
	}
	if _, err := Fit(ctx, Data{N: 10, D: 2, X: make([]float32, 19)}, Options{}); err == nil {
		t.Error("ragged data: no error")
	}
	if _, err := Fit(ctx, loadSklearn(t, "iris").x, Options{Init: "pca"}); err == nil {
		t.Error("unknown init: no error")
	}
}
