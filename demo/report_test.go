package demo

import (
	"encoding/csv"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cmrfm/cmrfm/internal/browser"
)

// checkReportInChromium loads a demo's report.html in headless Chromium and
// fails on any console error or request other than the page and its data:
// images. With numbers, the LVEF MAE and DCM AUROC the page shows must
// equal those computed here from the demo's prediction CSVs with plain
// formulas (not the stats package the report uses).
func checkReportInChromium(t *testing.T, out string, numbers bool) *browser.Session {
	t.Helper()
	page := filepath.Join(out, "report.html")
	s := browser.Start(t, 1280, 900)
	u := (&url.URL{Scheme: "file", Path: page}).String()
	if err := chromedp.Do(s.Ctx, chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	if numbers {
		text := func(sel string) string {
			t.Helper()
			v, err := chromedp.Run(s.Ctx, chromedp.Text(chromedp.CSS(sel)))
			if err != nil {
				t.Fatalf("%s: %v", sel, err)
			}
			return strings.TrimSpace(v)
		}
		cell := func(task, metric string) string {
			return text(fmt.Sprintf(`table.metrics[data-task=%q] tbody tr:first-child td[data-metric=%q]`, task, metric))
		}
		p, y := predictions(t, filepath.Join(out, "finetune", "lvef", "test_predictions.csv"), "preds")
		var mae float64
		for i := range p {
			mae += math.Abs(p[i] - y[i])
		}
		mae /= float64(len(p))
		if got, want := cell("lvef", "MAE"), fmt.Sprintf("%.2f", mae); got != want {
			t.Errorf("lvef MAE: page shows %s, the predictions give %s", got, want)
		}
		p, y = predictions(t, filepath.Join(out, "finetune", "dcm", "test_predictions.csv"), "probs")
		var num, den float64 // Mann–Whitney: P(case > control) + ½ P(tie)
		for i := range p {
			for j := range p {
				if y[i] == 1 && y[j] == 0 {
					den++
					switch {
					case p[i] > p[j]:
						num++
					case p[i] == p[j]:
						num += 0.5
					}
				}
			}
		}
		if got, want := cell("dcm", "AUROC"), fmt.Sprintf("%.3f", num/den); got != want {
			t.Errorf("dcm AUROC: page shows %s, the predictions give %s", got, want)
		}
		t.Logf("page and predictions agree: lvef MAE %.2f on %d studies, dcm AUROC %.3f", mae, len(p), num/den)
	}
	s.CheckSelfContained(t, u)
	return s
}

// predictions reads a cmrfm predict table: the rows with a prediction
// (column col) and a label.
func predictions(t *testing.T, path, col string) (p, y []float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%s: %v (%d rows)", path, err, len(rows))
	}
	ci, li := -1, -1
	for i, h := range rows[0] {
		switch h {
		case col:
			ci = i
		case "labels":
			li = i
		}
	}
	if ci < 0 || li < 0 {
		t.Fatalf("%s: no %s or labels column in %v", path, col, rows[0])
	}
	for _, r := range rows[1:] {
		pv, err1 := strconv.ParseFloat(r[ci], 64)
		yv, err2 := strconv.ParseFloat(r[li], 64)
		if err1 == nil && err2 == nil {
			p, y = append(p, pv), append(y, yv)
		}
	}
	return p, y
}

// TestDemoReportInChromium checks the report of a full demo run in
// Chromium, numbers included: .ci/run runs it after `cmrfm demo --check`
// with CMRFM_DEMO_OUT set to the demo's --out (a full demo is too long to
// run inside go test). With CMRFM_REPORT_SCREENSHOTS set it saves
// screenshots there (docs/report.md and the README show them): the first
// screen, the LVEF section and the explain section on a desktop, and the
// first screen on a phone.
func TestDemoReportInChromium(t *testing.T) {
	out := os.Getenv("CMRFM_DEMO_OUT")
	if out == "" {
		t.Skip("checks a full demo's report: run `cmrfm demo --out DIR`, then this test with CMRFM_DEMO_OUT=DIR (.ci/run does)")
	}
	s := checkReportInChromium(t, out, true)
	if dir := os.Getenv("CMRFM_REPORT_SCREENSHOTS"); dir != "" {
		s.SaveScreenshot(t, dir, "report-top.png", chromedp.CaptureScreenshot())                     // the first screen, 1280×900
		s.SaveScreenshot(t, dir, "report-lvef.png", chromedp.Screenshot(chromedp.CSS("#task-lvef"))) // one task's section
		s.SaveScreenshot(t, dir, "report-explain.png", chromedp.Screenshot(chromedp.CSS("#explain")))
		if err := chromedp.Do(s.Ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
			t.Fatal(err)
		}
		s.SaveScreenshot(t, dir, "report-phone.png", chromedp.CaptureScreenshot())
	}
}
