package report

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// reportFixture writes a small but complete set of report inputs under dir:
// a regression run (config, metrics, checkpoint) with test predictions
// and a baseline's, a classification predictions table and its baseline,
// and a dataset index. The numbers are seeded noise around known labels.
type reportFixture struct {
	Dir, Run, RegPred, RegBase, ClsPred, ClsBase, Index string
	// What the tables hold, for independent checks.
	RegY, RegP, RegB []float64
	ClsY             []bool
	ClsP, ClsB       []float64
}

func makeFixture(t *testing.T) *reportFixture {
	t.Helper()
	dir := t.TempDir()
	f := &reportFixture{Dir: dir, Run: filepath.Join(dir, "runs", "lvef")}
	rng := rand.New(rand.NewPCG(7, 11))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(f.Run, "checkpoints"), 0o755))
	must(os.WriteFile(filepath.Join(f.Run, "config.yaml"), []byte("seed: 1\nout: runs/lvef\ntask: regression\nmode: transfer\ndata:\n    store: \"\"\n    targets:\n        - lvef\n"), 0o644))
	must(os.WriteFile(filepath.Join(f.Run, "checkpoints", "last.safetensors"), []byte("not really weights"), 0o644))
	var m strings.Builder
	m.WriteString("step,epoch,lr,loss,grad_norm,mae,val_loss,val_mae,val_mse\n")
	for s := 1; s <= 120; s++ {
		loss := 30*math.Exp(-float64(s)/30) + 2 + rng.Float64()
		fmt.Fprintf(&m, "%d,%d,0.0001,%g,1,%g,", s, (s-1)/10, loss, loss+0.5)
		if s%10 == 0 {
			fmt.Fprintf(&m, "%g,%g,%g\n", loss+1, loss+1.5, (loss+1.5)*(loss+1.5))
		} else {
			m.WriteString(",,\n")
		}
	}
	must(os.WriteFile(filepath.Join(f.Run, "metrics.csv"), []byte(m.String()), 0o644))

	var idx, reg, regb, cls, clsb strings.Builder
	idx.WriteString("parent_folder,accession,split,lvef,dcm\n")
	head := "filenames,preds,labels,views,softmax_attn,attn_2CH,attn_4CH\n"
	reg.WriteString(head)
	regb.WriteString(head)
	cls.WriteString(strings.Replace(head, "preds", "probs", 1))
	clsb.WriteString(strings.Replace(head, "preds", "probs", 1))
	for i := range 60 {
		split := []string{"train", "train", "train", "val", "test"}[i%5]
		if i >= 40 {
			split = "train"
		}
		y := 20 + 55*rng.Float64()
		dcm := i%5 == 0 || y < 35
		d := 0
		if dcm {
			d = 1
		}
		key := fmt.Sprintf("site_p%03d", i)
		fmt.Fprintf(&idx, "%s,s%03d.h5,%s,%.2f,%d\n", key, i, split, y, d)
		if i >= 40 {
			continue
		}
		file := fmt.Sprintf("%s-s%03d.h5", key, i)
		a := 0.3 + 0.4*rng.Float64()
		p := y + 6*rng.NormFloat64()
		b := 50 + 12*rng.NormFloat64()
		f.RegY, f.RegP, f.RegB = append(f.RegY, y), append(f.RegP, p), append(f.RegB, b)
		fmt.Fprintf(&reg, "%s,%.4f,%.2f,2CH;4CH,%.4f;%.4f,%.4f,%.4f\n", file, p, y, a, 1-a, a, 1-a)
		fmt.Fprintf(&regb, "%s,%.4f,%.2f,2CH;4CH,0.5;0.5,0.5,0.5\n", file, b, y)
		pc := 1 / (1 + math.Exp(-(float64(2*d-1)*1.5 + rng.NormFloat64())))
		pb := 1 / (1 + math.Exp(-(float64(2*d-1)*0.4 + rng.NormFloat64())))
		f.ClsY, f.ClsP, f.ClsB = append(f.ClsY, dcm), append(f.ClsP, pc), append(f.ClsB, pb)
		fmt.Fprintf(&cls, "%s,%.6f,%d,2CH;4CH,%.4f;%.4f,%.4f,%.4f\n", file, pc, d, a, 1-a, a, 1-a)
		fmt.Fprintf(&clsb, "%s,%.6f,%d,2CH;4CH,0.5;0.5,0.5,0.5\n", file, pb, d)
	}
	// Round the stored values as the tables hold them.
	for i := range f.RegY {
		f.RegY[i] = round(f.RegY[i], 2)
		f.RegP[i] = round(f.RegP[i], 4)
		f.RegB[i] = round(f.RegB[i], 4)
		f.ClsP[i] = round(f.ClsP[i], 6)
		f.ClsB[i] = round(f.ClsB[i], 6)
	}
	f.Index = filepath.Join(dir, "index.csv")
	f.RegPred = filepath.Join(f.Run, "test.csv")
	f.RegBase = filepath.Join(dir, "baseline", "lvef.csv")
	f.ClsPred = filepath.Join(dir, "dx", "dcm.csv")
	f.ClsBase = filepath.Join(dir, "baseline", "dcm.csv")
	for path, b := range map[string]string{f.Index: idx.String(), f.RegPred: reg.String(), f.RegBase: regb.String(),
		f.ClsPred: cls.String(), f.ClsBase: clsb.String()} {
		must(os.MkdirAll(filepath.Dir(path), 0o755))
		must(os.WriteFile(path, []byte(b), 0o644))
	}
	return f
}

func round(v float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}

func (f *reportFixture) options(out string) HTMLOptions {
	return HTMLOptions{Runs: []string{f.Run}, Predictions: []string{f.RegPred, f.ClsPred},
		Baselines: []string{f.RegBase, f.ClsBase}, Index: f.Index, Out: out,
		Version: "test", Command: []string{"cmrfm", "report"}, Now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
}

// Independent truths: plain formulas over the fixture's values (not the
// stats package the report uses).
func meanAbs(p, y []float64) float64 {
	var s float64
	for i := range p {
		s += math.Abs(p[i] - y[i])
	}
	return s / float64(len(p))
}

// mannWhitneyAUC is P(score of a case > score of a control) + ½ P(tie):
// the AUROC, whichever way round it is larger (pROC's automatic direction
// picks the direction with the larger median in cases).
func mannWhitneyAUC(s []float64, y []bool) float64 {
	var num, den float64
	for i := range s {
		for j := range s {
			if y[i] && !y[j] {
				den++
				switch {
				case s[i] > s[j]:
					num++
				case s[i] == s[j]:
					num += 0.5
				}
			}
		}
	}
	return num / den
}

// TestHTMLSelfContained: the page references nothing outside itself (no
// external script, style, font, image or frame), forbids requests by CSP,
// and is byte-identical for identical inputs.
func TestHTMLSelfContained(t *testing.T) {
	f := makeFixture(t)
	out := filepath.Join(f.Dir, "report.html")
	if _, err := WriteHTML(f.options(out)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.Contains(page, `http-equiv="Content-Security-Policy" content="default-src 'none'`) {
		t.Error("no Content-Security-Policy forbidding requests")
	}
	for _, re := range []string{`<link\b`, `@import`, `<iframe\b`, `<object\b`, `<embed\b`,
		`\bsrc="(?:[^d]|d[^a])`, `url\((?:[^d]|d[^a])`, `href="(?:https?:)?//`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("page refers outside itself: %q matches %s", m, re)
		}
	}
	// Only XML namespace names may carry http:// (they are never fetched).
	rest := regexp.MustCompile(`xmlns(:\w+)?="http://www\.w3\.org/[^"]*"`).ReplaceAllString(page, "")
	if loc := regexp.MustCompile(`(?i)https?://|ftp://|wss?://`).FindStringIndex(rest); loc != nil {
		i := loc[0]
		t.Errorf("page mentions a URL: %q", rest[max(i-40, 0):min(i+60, len(rest))])
	}
	out2 := filepath.Join(f.Dir, "again.html")
	if _, err := WriteHTML(f.options(out2)); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(out2)
	if !bytes.Equal(b, b2) {
		t.Error("two builds from the same inputs differ")
	}
}

// TestHTMLBadInput: each malformed input is one clear error naming it.
func TestHTMLBadInput(t *testing.T) {
	f := makeFixture(t)
	cases := map[string]func(o *HTMLOptions){
		"run folder":          func(o *HTMLOptions) { o.Runs = []string{filepath.Join(f.Dir, "nope")} },
		"config.yaml":         func(o *HTMLOptions) { o.Runs = []string{f.Dir} },
		"not a cmrfm predict": func(o *HTMLOptions) { o.Predictions = []string{f.Index}; o.Baselines = nil },
		"baselines for":       func(o *HTMLOptions) { o.Predictions = o.Predictions[:1] },
		"nothing to report":   func(o *HTMLOptions) { o.Runs, o.Predictions, o.Baselines = nil, nil, nil },
		"dataset index":       func(o *HTMLOptions) { o.Index = filepath.Join(f.Dir, "missing.csv") },
		"no output file":      func(o *HTMLOptions) { o.Out = "" },
		"explain folder":      func(o *HTMLOptions) { o.Explain = filepath.Join(f.Dir, "missing") },
		"has no table for": func(o *HTMLOptions) {
			other := filepath.Join(f.Dir, "other")
			writeFile(t, filepath.Join(other, "hcm", "t.csv"), "x\n")
			writeFile(t, filepath.Join(other, "rv", "t.csv"), "x\n")
			o.Baselines = []string{other, f.ClsBase}
		},
		"is not a number":       func(o *HTMLOptions) { writeFile(t, filepath.Join(f.Run, "metrics.csv"), "step,loss\n1,abc\n") },
		"want columns filename": func(o *HTMLOptions) { writeFile(t, f.ClsPred, "probs,labels\n0.5,1\n0.2,0\n"); o.Baselines = nil },
	}
	for want, mod := range cases {
		t.Run(want, func(t *testing.T) {
			f = makeFixture(t)
			o := f.options(filepath.Join(f.Dir, "r.html"))
			mod(&o)
			_, err := WriteHTML(o)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want one containing %q", err, want)
			}
		})
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
