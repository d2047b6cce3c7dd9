package score

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/stats"
	"github.com/cmrfm/cmrfm/stats/evaluate"
)

func synthTask(n int, kind string, seed uint64) (*Task, Preds) {
	rng := rand.New(rand.NewPCG(seed, 3))
	t := &Task{Kind: kind, Cutoff: 40, MinBin: 5}
	if kind == Regression {
		t.Targets = []string{"lvef"}
	} else {
		t.Targets = []string{"dcm", "hcm"}
	}
	p := make(Preds, len(t.Targets))
	for i := 0; i < n; i++ {
		t.Keys = append(t.Keys, fmt.Sprintf("s_%d-x.h5", i))
		t.Public = append(t.Public, rng.Float64() < 0.5)
		var lab []float64
		for j := range t.Targets {
			if kind == Regression {
				y := 20 + 50*rng.Float64()
				lab = append(lab, y)
				p[j] = append(p[j], y+6*rng.NormFloat64())
			} else {
				y := float64(rng.IntN(2))
				lab = append(lab, y)
				p[j] = append(p[j], math.Min(1, math.Max(0, 0.35*y+0.65*rng.Float64())))
			}
		}
		t.Labels = append(t.Labels, lab)
	}
	return t, p
}

// writePart writes one part as a prediction table that `cmrfm evaluate`
// reads, to cross-check Score's subsetting, directions and plumbing with
// the evaluate path (itself checked against R pROC goldens in stats).
func writePart(t *testing.T, tk *Task, p Preds, j int, part string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("filenames," + tk.PredColumn() + ",labels\n")
	for _, i := range tk.split(part) {
		fmt.Fprintf(&b, "%s,%.17g,%.17g\n", tk.Keys[i], p[j][i], tk.Labels[i][j])
	}
	path := filepath.Join(t.TempDir(), tk.Targets[j]+".csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func close(a Num, b float64) bool {
	return float64(a) == b || math.Abs(float64(a)-b) <= 1e-12*math.Max(1, math.Abs(b))
}

func TestScoreMatchesEvaluate(t *testing.T) {
	tk, p := synthTask(120, Regression, 1)
	res, figs, err := Score(tk, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{Public, Private} {
		got := res.Public
		if part == Private {
			got = res.Private
		}
		rep, err := evaluate.Regress(evaluate.RegOptions{Pred: writePart(t, tk, p, 0, part)})
		if err != nil {
			t.Fatal(err)
		}
		m := rep.Targets[0].Pretrained
		r := got.Regression
		if got.N != m.N || !close(r.MAE, m.MAE) || !close(r.RMSE, m.RMSE) || !close(r.Bias, m.BA.Bias) ||
			!close(r.LoAUpper, m.BA.Upper) || !close(r.LoALowerCI[0], m.BA.LowerCI[0]) || !close(got.Score, m.MAE) {
			t.Errorf("%s: %+v vs evaluate %+v", part, r, m)
		}
		// evaluate uses pROC's automatic direction; for LVEF it picks ">".
		if m.HF.Direction() == stats.Greater && !close(r.HFAUC, m.HFAUC) {
			t.Errorf("%s: HF AUROC %v vs %v", part, r.HFAUC, m.HFAUC)
		}
	}
	if len(figs) != 4 {
		t.Errorf("%d figures, want Bland–Altman and heart-failure ROC per part", len(figs))
	}

	tk, p = synthTask(150, Classification, 2)
	res, _, err = Score(tk, p)
	if err != nil {
		t.Fatal(err)
	}
	for j := range tk.Targets {
		rep, err := evaluate.Classify(evaluate.ClassOptions{Pred: writePart(t, tk, p, j, Public), Direction: stats.Less})
		if err != nil {
			t.Fatal(err)
		}
		m, c := rep.Targets[0].Pretrained, res.Public.Classes[j]
		if !close(c.AUC, m.AUC) || !close(c.Lower, m.Lower) || !close(c.Upper, m.Upper) || c.Positives != m.Positives ||
			!close(c.Youden.Threshold, m.Youden[0].Threshold) || !close(c.AtSens.Specificity, m.AtSensitivity.Specificity) ||
			!close(c.AtSpec.Sensitivity, m.AtSpecificity.Sensitivity) {
			t.Errorf("%s: %+v vs evaluate %+v", tk.Targets[j], c, m)
		}
	}
	want := (float64(res.Public.Classes[0].AUC) + float64(res.Public.Classes[1].AUC)) / 2
	if !close(res.Public.Score, want) {
		t.Errorf("macro AUROC %v, want %v", res.Public.Score, want)
	}
}

// TestFiguresAggregate: no plotted point isolates fewer than MinBin
// studies — the property that keeps labels out of the figures.
func TestFiguresAggregate(t *testing.T) {
	for _, minBin := range []int{1, 3, 10} {
		tk, p := synthTask(97, Classification, 4)
		lab := toBool(tk.labels(0, tk.split(Public)))
		r, err := stats.NewROC(pick(p[0], tk.split(Public)), lab, stats.Less)
		if err != nil {
			t.Fatal(err)
		}
		pts := BinnedROC(r, minBin)
		all := r.Points()
		if pts[0].TP+pts[0].FP != all[0].TP+all[0].FP || pts[len(pts)-1].TP+pts[len(pts)-1].FP != 0 {
			t.Fatal("binned curve lost its ends")
		}
		for i := 1; i < len(pts); i++ {
			step := (pts[i-1].TP + pts[i-1].FP) - (pts[i].TP + pts[i].FP)
			if step < minBin && i < len(pts)-1 || pts[i].TP+pts[i].FP < minBin && i < len(pts)-1 {
				t.Errorf("bin %d: step of %d studies, %d left, minimum %d", i, step, pts[i].TP+pts[i].FP, minBin)
			}
		}
		if minBin == 1 && len(pts) != len(all) {
			t.Errorf("minBin 1 should keep every point: %d of %d", len(pts), len(all))
		}
		tr, pr := synthTask(53, Regression, 5)
		idx := make([]int, len(tr.Keys))
		for i := range idx {
			idx[i] = i
		}
		ba := stats.NewBlandAltman(pr[0], tr.labels(0, idx))
		x, y, _ := BinnedBlandAltman(ba, minBin)
		if len(x) != 53/minBin || len(y) != len(x) {
			t.Errorf("minBin %d: %d Bland–Altman points for 53 pairs", minBin, len(x))
		}
	}
}

func TestParseForms(t *testing.T) {
	tk, _ := synthTask(4, Classification, 6)
	head := "filenames,probs_dcm,probs_hcm\n"
	var rows strings.Builder
	for i, k := range tk.Keys {
		fmt.Fprintf(&rows, "%s,0.%d,0.%d\n", k, i+1, 9-i)
	}
	p, err := Parse(tk, []File{{Field: "file", Name: "p.csv", Data: []byte(head + rows.String())}})
	if err != nil || p[0][2] != 0.3 || p[1][2] != 0.7 {
		t.Fatalf("combined file: %v %v", p, err)
	}
	// W&B JSON table, as evaluate reads it.
	js := `{"columns":["filenames","probs"],"data":[` + func() string {
		var parts []string
		for _, k := range tk.Keys {
			parts = append(parts, fmt.Sprintf(`["%s","0.5"]`, k))
		}
		return strings.Join(parts, ",")
	}() + `]}`
	p, err = Parse(tk, []File{{Field: "dcm", Name: "dcm.table.json", Data: []byte(js)}, {Field: "hcm", Name: "h.json", Data: []byte(js)}})
	if err != nil || p[1][3] != 0.5 {
		t.Fatalf("per-target W&B tables: %v %v", p, err)
	}
	if _, err := Parse(tk, []File{{Field: "dcm", Name: "a.json", Data: []byte(js)}, {Field: "dcm", Name: "b.json", Data: []byte(js)}}); err == nil ||
		!strings.Contains(err.Error(), "already given") {
		t.Fatalf("target given twice: %v", err)
	}
	for _, bad := range [][]byte{{0x1f, 0x8b, 1}, []byte("a,b\n\x00"), {0xff, 0xfe, 'a'}} {
		if _, err := Parse(tk, []File{{Field: "file", Name: "x.csv", Data: bad}}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
