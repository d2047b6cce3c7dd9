package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color/palette"
	"image/draw"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// TestBrowser drives Debian's headless Chromium through a team's visit:
// sign in with the token, open the task, upload predictions through the
// form, wait for the scoring, and read the team's rank off the
// leaderboard. With CMRFM_SCREENSHOTS=DIR it saves a screenshot of every
// page (docs/leaderboard/ holds the committed ones).
func TestBrowser(t *testing.T) {
	chromium := testenv.Tool(t, "chromium")
	e := newEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "lb.db"), Options{})
	// Two rival teams already on the board.
	e.submit("lvef", e.team("Heart Lab Zurich"), upload{"file", "p.csv", e.c.lvefCSV(2, 1)})
	e.submit("lvef", e.team("Cardio AI Leeds"), upload{"file", "p.csv", e.c.lvefCSV(8, 2)})
	e.submit("dx", e.tokens["Heart Lab Zurich"], upload{"file", "p.csv", e.c.dxCSV(0.5, 3)})
	e.drain()
	tok := e.team("Stanford CMR")
	// A real listener and the scoring worker, as in cmrfm serve.
	e.ts.Close()
	ts := httptest.NewServer(e.s.Handler())
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.s.RunWorker(ctx)

	preds := filepath.Join(t.TempDir(), "preds.csv")
	os.WriteFile(preds, e.c.lvefCSV(4, 7), 0o644)
	shots := os.Getenv("CMRFM_SCREENSHOTS")

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 720),
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	bctx, tcancel := context.WithTimeout(bctx, 3*time.Minute)
	defer tcancel()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if shots == "" {
				return nil
			}
			buf, err := chromedp.CaptureScreenshot()(ctx, tg)
			if err != nil {
				return err
			}
			return writeSmallPNG(filepath.Join(shots, name+".png"), buf)
		})
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err := chromedp.Do(bctx,
		chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(css("table")), shot("index"),
		chromedp.Navigate(ts.URL+"/tasks/lvef/about"), chromedp.WaitVisible(css("#example")), shot("about"),
		chromedp.Navigate(ts.URL+"/signin"), chromedp.WaitVisible(css("#signin-form")),
		chromedp.SendKeys(css(`input[name="token"]`), tok), shot("signin"),
		chromedp.Submit(css("#signin-form")), chromedp.WaitVisible(css("#whoami")),
		chromedp.Navigate(ts.URL+"/tasks/lvef/submit"), chromedp.WaitVisible(css("#upload")),
		chromedp.SetUploadFiles(css(`input[name="file"]`), []string{preds}), shot("submit"),
		chromedp.Submit(css("#upload")), chromedp.WaitVisible(css("#status")),
	)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil || !strings.Contains(loc, "/submissions/") {
		t.Fatalf("after the upload the browser is at %s (%v)", loc, err)
	}
	// The page refreshes itself until the submission is scored.
	deadline := time.Now().Add(90 * time.Second)
	status := ""
	for status != "done" {
		if time.Now().After(deadline) {
			t.Fatalf("submission still %q", status)
		}
		time.Sleep(300 * time.Millisecond)
		if status, err = chromedp.Run(bctx, chromedp.Text(css("#status"))); err != nil {
			t.Fatal(err)
		}
	}
	err = chromedp.Do(bctx,
		chromedp.WaitVisible(css("figure img")), chromedp.Sleep(300*time.Millisecond), shot("submission"),
		chromedp.Navigate(ts.URL+"/tasks/lvef"), chromedp.WaitVisible(css("table.board")), shot("leaderboard"),
	)
	if err != nil {
		t.Fatal(err)
	}
	rank, err := chromedp.Run(bctx, chromedp.Text(`//tr[td/a[text()="Stanford CMR"]]/td[1]`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Click(css("#whoami")), chromedp.WaitVisible(css("table")), shot("team")); err != nil {
		t.Fatal(err)
	}
	// The rank the browser read is the rank the API gives.
	resp, err := http.Get(ts.URL + "/api/tasks/lvef/leaderboard")
	if err != nil {
		t.Fatal(err)
	}
	var bv BoardView
	json.NewDecoder(resp.Body).Decode(&bv)
	resp.Body.Close()
	want := ""
	for _, r := range bv.Public {
		if r.Team == "Stanford CMR" {
			want = fmt.Sprint(r.Rank)
		}
	}
	if got := strings.Fields(rank); want == "" || len(got) == 0 || got[0] != want {
		t.Fatalf("browser read rank %q, API says %q", rank, want)
	}
	t.Logf("signed in, submitted, scored; the browser reads rank %s of %d", want, len(bv.Public))
}

// writeSmallPNG re-encodes a screenshot with a 256-colour palette, a
// fraction of the size of Chromium's true-colour PNG.
func writeSmallPNG(path string, b []byte) error {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return err
	}
	pal := image.NewPaletted(img.Bounds(), palette.Plan9)
	draw.Draw(pal, pal.Rect, img, img.Bounds().Min, draw.Src)
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, pal); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}
