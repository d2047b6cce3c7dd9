package report

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cmrfm/cmrfm/internal/browser"
)

// TestReportInChromium loads the report in headless Chromium (Debian's
// chromium) and checks what a reader sees: no console error or exception,
// no network request but the page itself, the headline numbers equal to
// those computed directly from the prediction CSVs, and a sortable study
// table. With $CMRFM_REPORT_SCREENSHOTS set, it saves desktop and phone
// screenshots there (docs/report.md uses them).
func TestReportInChromium(t *testing.T) {
	f := makeFixture(t)
	out := filepath.Join(f.Dir, "report.html")
	if _, err := WriteHTML(f.options(out)); err != nil {
		t.Fatal(err)
	}
	s := browser.Start(t, 1280, 900)
	u := (&url.URL{Scheme: "file", Path: out}).String()
	if err := chromedp.Do(s.Ctx, chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(s.Ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	cell := func(task, model, metric string) string {
		return text(fmt.Sprintf(`table.metrics[data-task=%q] tr[data-model=%q] td[data-metric=%q]`, task, model, metric))
	}
	checks := []struct{ what, got, want string }{
		{"lvef MAE", cell("lvef", "model", "MAE"), fmt.Sprintf("%.2f", meanAbs(f.RegP, f.RegY))},
		{"lvef baseline MAE", cell("lvef", "baseline", "MAE"), fmt.Sprintf("%.2f", meanAbs(f.RegB, f.RegY))},
		{"lvef n", cell("lvef", "model", "n"), strconv.Itoa(len(f.RegY))},
		{"dcm AUROC", cell("dcm", "model", "AUROC"), fmt.Sprintf("%.3f", mannWhitneyAUC(f.ClsP, f.ClsY))},
		{"dcm baseline AUROC", cell("dcm", "baseline", "AUROC"), fmt.Sprintf("%.3f", mannWhitneyAUC(f.ClsB, f.ClsY))},
		{"summary card", text(`[data-summary="lvef"]`), fmt.Sprintf("MAE %.2f", meanAbs(f.RegP, f.RegY))},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: page shows %q, the CSV gives %q", c.what, c.got, c.want)
		}
	}
	// Sort the lvef study table by error (column 4), ascending then descending.
	errs := func() []float64 {
		vs, err := chromedp.Run(s.Ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll('table[data-studies="lvef"] tbody tr td:nth-child(4)')).map(td => td.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float64, len(vs))
		for i, v := range vs {
			out[i], _ = strconv.ParseFloat(v, 64)
		}
		return out
	}
	head := `table[data-studies="lvef"] thead th:nth-child(4) button`
	if err := chromedp.Do(s.Ctx, chromedp.Click(chromedp.CSS(head))); err != nil {
		t.Fatal(err)
	}
	if e := errs(); len(e) != len(f.RegY) || !slices.IsSorted(e) {
		t.Errorf("after one click the error column is not ascending: %v", e)
	}
	if err := chromedp.Do(s.Ctx, chromedp.Click(chromedp.CSS(head))); err != nil {
		t.Fatal(err)
	}
	if e := errs(); !slices.IsSortedFunc(e, func(a, b float64) int { return -compareF(a, b) }) {
		t.Errorf("after two clicks the error column is not descending: %v", e)
	}
	if dir := os.Getenv("CMRFM_REPORT_SCREENSHOTS"); dir != "" {
		shoot(t, s, dir, "report-desktop.png", 0)
		shoot(t, s, dir, "report-phone.png", 390)
	}
	s.CheckSelfContained(t, u)
}

func compareF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func shoot(t *testing.T, s *browser.Session, dir, name string, width int64) {
	t.Helper()
	if width > 0 {
		if err := chromedp.Do(s.Ctx, chromedp.EmulateViewport(width, 844, chromedp.EmulateMobile)); err != nil {
			t.Fatal(err)
		}
	}
	s.SaveScreenshot(t, dir, name, chromedp.FullScreenshot(100))
}
