package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/cmrfm/cmrfm/stats/evaluate"
)

// Golden figures: testdata/*_golden.{png,svg}, rendered by this package
// with gonum/plot v0.17.0 from the R-generated tables in
// stats/testdata/evaluate. Regenerate with
//
//	go test ./report -run Golden -regen
//
// and look at the images before committing them.
var regen = flag.Bool("regen", false, "rewrite the golden figures in testdata")

const evalData = "../stats/testdata/evaluate"

func classReport(t *testing.T) *evaluate.ClassReport {
	t.Helper()
	rep, err := evaluate.Classify(evaluate.ClassOptions{
		Pred:     filepath.Join(evalData, "classification", "pretrained"),
		Baseline: filepath.Join(evalData, "classification", "baseline"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func regReport(t *testing.T) *evaluate.RegReport {
	t.Helper()
	rep, err := evaluate.Regress(evaluate.RegOptions{
		Pred:     filepath.Join(evalData, "regression", "pretrained_final_results.table.json"),
		Baseline: filepath.Join(evalData, "regression", "baseline_final_results.table.json"),
		Target:   "LVEF",
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func render(t *testing.T, p *plot.Plot, format string) []byte {
	t.Helper()
	w, err := p.WriterTo(Width, Height, format)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkGolden compares a rendered figure with testdata/<name>_golden.<ext>:
// SVG byte for byte, PNG pixel by pixel with a tolerance of 2/255 per
// channel (font rasterisation may round differently across architectures).
func checkGolden(t *testing.T, name, ext string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+"_golden."+ext)
	if *regen {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -regen to create it)", err)
	}
	if ext == "svg" {
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the golden file (%d vs %d bytes)", path, len(got), len(want))
		}
		return
	}
	gi, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	wi, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if gi.Bounds() != wi.Bounds() {
		t.Fatalf("%s: size %v, golden %v", path, gi.Bounds(), wi.Bounds())
	}
	bad := 0
	b := gi.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, a1 := gi.At(x, y).RGBA()
			r2, g2, b2, a2 := wi.At(x, y).RGBA()
			for _, d := range []int64{int64(r1) - int64(r2), int64(g1) - int64(g2), int64(b1) - int64(b2), int64(a1) - int64(a2)} {
				if d > 2*257 || d < -2*257 {
					bad++
					break
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d pixels differ from the golden file", path, bad)
	}
}

func TestGoldenROC(t *testing.T) {
	rep := classReport(t)
	var tg *evaluate.ClassTarget
	for i := range rep.Targets {
		if rep.Targets[i].Name == "with.replacements" {
			tg = &rep.Targets[i]
		}
	}
	if tg == nil {
		t.Fatal("no target with.replacements in the fixture")
	}
	p, err := ROCPlot(tg.Name,
		Curve{Label: "pretrained", ROC: tg.Pretrained.ROC, Lower: tg.Pretrained.Lower, Upper: tg.Pretrained.Upper, Color: PretrainedColor},
		Curve{Label: "baseline", ROC: tg.Baseline.ROC, Lower: tg.Baseline.Lower, Upper: tg.Baseline.Upper, Color: BaselineColor})
	if err != nil {
		t.Fatal(err)
	}
	svg := render(t, p, "svg")
	checkGolden(t, "roc", "svg", svg)
	checkGolden(t, "roc", "png", render(t, p, "png"))
	// The legend carries the AUCs and CIs that the evaluate tests check
	// against R.
	for _, want := range []string{
		fmt.Sprintf("pretrained  AUC %.3f [%.3f, %.3f]", tg.Pretrained.AUC, tg.Pretrained.Lower, tg.Pretrained.Upper),
		fmt.Sprintf("baseline  AUC %.3f [%.3f, %.3f]", tg.Baseline.AUC, tg.Baseline.Lower, tg.Baseline.Upper),
	} {
		if !svgHasText(t, svg, want) {
			t.Errorf("ROC figure lacks the legend %q", want)
		}
	}
}

func TestGoldenBlandAltman(t *testing.T) {
	rep := regReport(t)
	m := rep.Targets[0].Pretrained
	p, err := BlandAltmanPlot("LVEF, pretrained", "LVEF", m.BA, PretrainedColor)
	if err != nil {
		t.Fatal(err)
	}
	svg := render(t, p, "svg")
	checkGolden(t, "bland_altman", "svg", svg)
	checkGolden(t, "bland_altman", "png", render(t, p, "png"))
	want := fmt.Sprintf("limits of agreement %.2f, %.2f (bias ± 1.96 SD)", m.BA.Lower, m.BA.Upper)
	if !svgHasText(t, svg, want) {
		t.Errorf("Bland–Altman figure lacks %q", want)
	}
}

// svgHasText parses the SVG as XML and reports whether a text element holds s.
func svgHasText(t *testing.T, svg []byte, s string) bool {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	found := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return found
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(cd)) == s {
			found = true
		}
	}
}

func TestPlotFilesWritten(t *testing.T) {
	dir := t.TempDir()
	files, err := ClassificationPlots(dir, classReport(t))
	if err != nil {
		t.Fatal(err)
	}
	rf, err := RegressionPlots(dir, regReport(t))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, rf...)
	want := []string{
		"roc_Amyloid.like", "roc_lower.is.case", "roc_with.replacements",
		"bland_altman_LVEF_pretrained", "scatter_LVEF_pretrained",
		"bland_altman_LVEF_baseline", "scatter_LVEF_baseline", "roc_LVEF_below_40",
	}
	if len(files) != 2*len(want) {
		t.Fatalf("%d files written, want %d: %v", len(files), 2*len(want), files)
	}
	for _, w := range want {
		pngPath := filepath.Join(dir, w+".png")
		f, err := os.Open(pngPath)
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(f)
		f.Close()
		if err != nil || format != "png" || cfg.Width != 576 || cfg.Height != 480 {
			t.Errorf("%s: %s %dx%d, %v; want a 576x480 PNG", pngPath, format, cfg.Width, cfg.Height, err)
		}
		svg, err := os.ReadFile(filepath.Join(dir, w+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		svgHasText(t, svg, "") // well-formed
	}
}

func TestFileName(t *testing.T) {
	if got := FileName("Left.Ventricular Dilation/≥40%"); got != "Left.Ventricular_Dilation__40_" {
		t.Errorf("FileName = %q", got)
	}
}
