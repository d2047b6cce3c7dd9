package explain

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

func authorsVal(t *testing.T, elem ...string) string {
	t.Helper()
	return testenv.SharedData(t, append([]string{"cmr_transformer-raw_dataframes", "internal_classification_val", "val_artifacts"}, elem...)...)
}

// The paper's Figure 4c numbers for Hypertrophic.Cardiomyopathy, from the
// authors' own validation table (SOURCE.md of the raw dataframes; to 3
// decimals).
func TestViewAttentionReproducesAuthors(t *testing.T) {
	tab, err := ReadViewTable(authorsVal(t, "Hypertrophic.Cardiomyopathy", "preds_output.table.json"), "")
	if err != nil {
		t.Fatal(err)
	}
	if tab.Target != "Hypertrophic.Cardiomyopathy" || len(tab.Studies) != 1238 {
		t.Fatalf("target %q, %d studies; want Hypertrophic.Cardiomyopathy, 1238 contiguous blocks", tab.Target, len(tab.Studies))
	}
	want := map[string]float64{"2CH": 1.040, "3CH": 0.991, "4CH": 1.016, "SAX": 0.997}
	rows := RelativeViewAttention(tab, ViewOptions{Bootstrap: -1})
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	for _, r := range rows {
		if got := math.Round(r.Relative*1000) / 1000; got != want[r.View] {
			t.Errorf("%s: %.5f rounds to %.3f, the authors' tables give %.3f", r.View, r.Relative, got, want[r.View])
		}
	}
}

type goldenRow struct {
	rel, lo, hi    float64
	clips, studies int
}

func readGolden(t *testing.T) map[string]goldenRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "view_attention_golden.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]goldenRow{}
	for _, r := range recs[1:] {
		num := func(s string) float64 {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		c, _ := strconv.Atoi(r[5])
		s, _ := strconv.Atoi(r[6])
		out[r[0]+"/"+r[1]] = goldenRow{num(r[2]), num(r[3]), num(r[4]), c, s}
	}
	return out
}

// Every target of the authors' validation set against an independent numpy
// implementation (testdata/gen/explain/gen_views.py), and the bootstrap
// interval against numpy's with 20,000 resamples.
func TestViewAttentionMatchesNumpy(t *testing.T) {
	golden := readGolden(t)
	tabs, err := ReadViewTables([]string{authorsVal(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tabs) != 35 {
		t.Fatalf("%d targets, want 35", len(tabs))
	}
	const B = 20000
	seen := 0
	for _, tab := range tabs {
		boot := -1
		if !math.IsNaN(golden[tab.Target+"/SAX"].lo) {
			boot = B
		}
		for _, r := range RelativeViewAttention(tab, ViewOptions{Bootstrap: boot, Seed: 7}) {
			g, ok := golden[r.Target+"/"+r.View]
			if !ok {
				t.Fatalf("%s/%s not in the golden file", r.Target, r.View)
			}
			seen++
			if math.Abs(r.Relative-g.rel) > 1e-12 || r.Clips != g.clips || r.Studies != g.studies {
				t.Errorf("%s/%s: %.15g (%d clips, %d studies), numpy %.15g (%d, %d)", r.Target, r.View, r.Relative, r.Clips, r.Studies, g.rel, g.clips, g.studies)
			}
			if boot < 0 {
				continue
			}
			// Two independent B-resample estimates of a 2.5 % quantile
			// differ by Monte Carlo error: SD ≈ σ·√(p(1−p)/B)/φ(z_p) each,
			// σ the bootstrap SE (≈ interval width / 3.92). Allow 6 SD of
			// one estimate (≈ 4.2 SD of the difference).
			sigma := (g.hi - g.lo) / 3.92
			tol := 6 * sigma * math.Sqrt(0.025*0.975/B) / 0.05844
			if math.Abs(r.Lower-g.lo) > tol || math.Abs(r.Upper-g.hi) > tol {
				t.Errorf("%s/%s interval [%.5f, %.5f], numpy [%.5f, %.5f] (tolerance %.5f)", r.Target, r.View, r.Lower, r.Upper, g.lo, g.hi, tol)
			}
			if !(r.Lower < r.Relative && r.Relative < r.Upper) {
				t.Errorf("%s/%s: interval [%g, %g] does not hold the estimate %g", r.Target, r.View, r.Lower, r.Upper, r.Relative)
			}
		}
	}
	if seen != len(golden) {
		t.Errorf("compared %d rows, the golden file has %d", seen, len(golden))
	}
}

// cmrfm predict's per-study and per-clip tables give the same numbers.
func TestViewAttentionOurTables(t *testing.T) {
	dir := t.TempDir()
	study := "filenames,probs,labels,views,softmax_attn,attn_2CH,attn_3CH,attn_4CH,attn_SAX\n" +
		"a,0.9,1,4CH;SAX;SAX,0.5;0.25;0.25,,,0.5,0.5\n" +
		"b,0.2,0,2CH;4CH,0.4;0.6,0.4,,0.6,\n"
	clips := "probs,labels,filenames,views,softmax_attn,clip,slice,start_frame,end_frame\n" +
		"0.9,1,a,4CH,0.5,0,0,0,16\n0.9,1,a,SAX,0.25,1,0,0,16\n0.9,1,a,SAX,0.25,2,1,16,32\n" +
		"0.2,0,b,2CH,0.4,0,0,0,16\n0.2,0,b,4CH,0.6,1,0,0,16\n"
	ps := filepath.Join(dir, "dcm", "predictions.csv")
	pc := filepath.Join(dir, "clips.csv")
	os.MkdirAll(filepath.Dir(ps), 0o755)
	os.WriteFile(ps, []byte(study), 0o644)
	os.WriteFile(pc, []byte(clips), 0o644)
	// By hand: a has 3 clips: 4CH 0.5·3 = 1.5, SAX 0.75 and 0.75; b has 2:
	// 2CH 0.8, 4CH 1.2. 4CH: (1.5+1.2)/2 = 1.35; SAX 0.75; 2CH 0.8.
	want := map[string]float64{"2CH": 0.8, "4CH": 1.35, "SAX": 0.75}
	for _, p := range []string{ps, pc} {
		tab, err := ReadViewTable(p, "")
		if err != nil {
			t.Fatal(err)
		}
		rows := RelativeViewAttention(tab, ViewOptions{Bootstrap: -1, ByLabel: true})
		n := 0
		for _, r := range rows {
			if r.Subset != SubsetAll {
				continue
			}
			n++
			if math.Abs(r.Relative-want[r.View]) > 1e-12 {
				t.Errorf("%s %s: %g, want %g", p, r.View, r.Relative, want[r.View])
			}
		}
		if n != 3 {
			t.Errorf("%s: %d views, want 3", p, n)
		}
		if rows[len(rows)-1].Subset != SubsetNegative || rows[len(rows)-1].Relative != 1.2 {
			t.Errorf("negative subset: %+v", rows[len(rows)-1])
		}
	}
	tab, _ := ReadViewTable(ps, "")
	if tab.Target != "dcm" {
		t.Errorf("target %q, want the folder name dcm", tab.Target)
	}
	out := filepath.Join(dir, "out")
	s, err := Views(t.Context(), ViewsOptions{Predictions: []string{dir + "/"}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Files) != 3 {
		t.Fatalf("files %v", s.Files)
	}
	for _, f := range s.Files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestViewAttentionBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ body, want string }{
		"noattn.csv":  {"filenames,preds,labels\na,50,55\n", `no "views" column`},
		"sum.csv":     {"filenames,probs,labels,views,softmax_attn\na,0.5,1,4CH;SAX,0.5;0.2\n", "sums to 0.7"},
		"count.csv":   {"filenames,probs,labels,views,softmax_attn\na,0.5,1,4CH;SAX,1\n", "2 views but 1 attention values"},
		"empty.csv":   {"", "empty file"},
		"bad.json":    {`{"columns":["probs","filenames"],"data":[["0.1","a"]]}`, `no "views" column`},
		"merge.json":  {`{"columns":["filenames","views","softmax_attn"],"data":[["a","4CH",1],["a","SAX",1]]}`, "sums to 2"},
		"notnum.json": {`{"columns":["filenames","views","softmax_attn"],"data":[["a","4CH","x"]]}`, "not a number"},
	}
	for name, c := range cases {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(c.body), 0o644)
		_, err := ReadViewTable(p, "")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v; want one naming the file and saying %q", name, err, c.want)
		}
	}
	if _, err := ReadViewTables([]string{dir + "/nothere"}); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := ReadViewTables([]string{t.TempDir()}); err == nil || !strings.Contains(err.Error(), "holds no") {
		t.Errorf("empty folder: %v", err)
	}
}
