package main

import (
	"bytes"
	"context"
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/store"
)

// runCLI runs the command line in-process and returns exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// The acceptance check: verify on a folder with one good and one
// truncated file reports both and exits non-zero.
func TestStoreVerifyGoodAndTruncated(t *testing.T) {
	dir := t.TempDir()
	v := cine.NewVideo(3, 8, 16, 16)
	for i := range v.Pix {
		v.Pix[i] = uint8(i)
	}
	v.SliceFrames = []int32{3}
	s := &cine.Study{Views: map[cine.View]*cine.Video{cine.ViewSAX: v}}
	good := filepath.Join(dir, "site_a", "s1.h5")
	bad := filepath.Join(dir, "site_b", "s2.h5")
	if err := store.Write(good, s); err != nil {
		t.Fatal(err)
	}
	if err := store.Write(bad, s); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(bad)
	if err := os.WriteFile(bad, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "store", "verify", "--workers", "2", dir)
	if code != exitPartial {
		t.Errorf("exit code %d with one of two files truncated, want %d\n%s", code, exitPartial, out)
	}
	if !strings.Contains(out, "ok   "+good) || !strings.Contains(out, "BAD  "+bad) || !strings.Contains(out, "2 files: 1 ok, 1 bad") {
		t.Errorf("report does not list both files:\n%s", out)
	}
	if !strings.Contains(out, "past the end of the file") {
		t.Errorf("the truncation is not explained:\n%s", out)
	}

	code, out, _ = runCLI(t, "store", "inspect", good)
	if code != 0 || !strings.Contains(out, "SAX") || !strings.Contains(out, "slice_frames=[3]") {
		t.Errorf("inspect: code %d\n%s", code, out)
	}
	gifPath := filepath.Join(dir, "sax.gif")
	code, out, errs := runCLI(t, "store", "video", good, "--view", "SAX", "--slice", "1", "--out", gifPath)
	if code != 0 {
		t.Fatalf("store video: %d %s %s", code, out, errs)
	}
	fh, err := os.Open(gifPath)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Slice 1 of slice_frames [3] is frames 4..7 of channel 0.
	if len(g.Image) != 4 || !bytes.Equal(g.Image[0].Pix, v.Frame(0, 4)) || !bytes.Equal(g.Image[3].Pix, v.Frame(0, 7)) {
		t.Errorf("GIF has %d frames, or its pixels differ from the stored frames", len(g.Image))
	}
	code, out, _ = runCLI(t, "store", "verify", "--json", filepath.Dir(good))
	if code != 0 || !strings.Contains(out, `"ok": true`) {
		t.Errorf("verify --json: code %d\n%s", code, out)
	}
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "cmrfm ") {
		t.Errorf("version: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "--help")
	if code != 0 || !strings.Contains(out, "demo") || !strings.Contains(out, "--workers") {
		t.Errorf("help: %d %q", code, out)
	}
	code, _, errs := runCLI(t, "--log-level", "loud", "version")
	if code == 0 || !strings.Contains(errs, "--log-level") {
		t.Errorf("bad log level: %d %q", code, errs)
	}
}
