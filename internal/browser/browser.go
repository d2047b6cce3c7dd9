package browser

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// Session is one headless Chromium with one tab.
type Session struct {
	// Ctx runs chromedp actions in the tab.
	Ctx context.Context

	mu       sync.Mutex
	errors   []string
	requests []string
}

// Start launches Chromium for the test; it is stopped when the test ends.
// Width and height size the window (for screenshots); 0 means 1280×900.
func Start(t testing.TB, width, height int) *Session {
	t.Helper()
	exe := testenv.Tool(t, "chromium")
	if width <= 0 || height <= 0 {
		width, height = 1280, 900
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	s := &Session{Ctx: ctx}
	// Console starts the browser and subscribes before any page loads.
	msgs := chromedp.Console(ctx)
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			s.mu.Lock()
			s.requests = append(s.requests, e.Request.URL)
			s.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("browser: start %s: %v", exe, err)
	}
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				s.mu.Lock()
				s.errors = append(s.errors, m.String()+" ("+m.URL+")")
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// Errors returns the console errors, exceptions and browser-log errors seen so far.
func (s *Session) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errors...)
}

// Requests returns the URL of every network request seen so far, the
// page's own included.
func (s *Session) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// CheckSelfContained fails t for every console error, exception or
// browser-log error seen so far, and for every request other than page
// itself (its URL) and data: URLs: what a self-contained page must show.
func (s *Session) CheckSelfContained(t testing.TB, page string) {
	t.Helper()
	if e := s.Errors(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
	for _, r := range s.Requests() {
		if r != page && !strings.HasPrefix(r, "data:") {
			t.Errorf("network request to %s", r)
		}
	}
}

// SaveScreenshot runs a screenshot action (chromedp.CaptureScreenshot,
// FullScreenshot, Screenshot of a selector) and writes the PNG to
// dir/name, creating dir.
func (s *Session) SaveScreenshot(t testing.TB, dir, name string, shot chromedp.Action[[]byte]) {
	t.Helper()
	png, err := chromedp.Run(s.Ctx, shot)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
