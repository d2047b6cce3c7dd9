package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

func runCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), code
}

// dump --pixels writes a .npy that NumPy reads back as the reference pixels
// (the md5 oracle of SOURCE.md), and hides PHI unless --phi.
func TestDicomDumpPixels(t *testing.T) {
	src := testenv.SharedData(t, "pydicom-testfiles", "MR_small_jpeg_ls_lossless.dcm")
	npy := filepath.Join(t.TempDir(), "px.npy")
	out, code := runCmd(t, "dicom", "dump", src, "--pixels", npy)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, want := range []string{"1.2.840.10008.1.2.4.80 JPEG-LS Lossless", "64 rows × 64 columns × 1 frame(s)", "decode:                ok: <i2 [1 64 64]"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	py := testenv.Python(t, "numpy")
	got, err := exec.Command(py, "-c", `import sys, hashlib, numpy as np
a = np.load(sys.argv[1])
print(a.dtype.str, a.shape, hashlib.md5(a.astype(a.dtype.newbyteorder('<')).tobytes()).hexdigest())`, npy).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v: %s", err, got)
	}
	if want := "<i2 (1, 64, 64) dc9943d2b303bf18ab512dfdd6df0559"; strings.TrimSpace(string(got)) != want {
		t.Errorf("numpy reads %q, want %q", got, want)
	}
}

func TestDicomDumpRedactsPHI(t *testing.T) {
	src := testenv.SharedData(t, "sunnybrook-scd", "SCD0000101", "CINESAX_300", "1.dcm")
	out, code := runCmd(t, "dicom", "dump", "--tags", src)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	// the path the user typed is echoed; everything else must be clean
	out = strings.ReplaceAll(out, src, "FILE")
	for _, phi := range []string{"SCD0000101", "2.16.124.113543.6006.99.08980635789900778171", "20120000"} {
		if strings.Contains(out, phi) {
			t.Errorf("output shows %q without --phi", phi)
		}
	}
	out, _ = runCmd(t, "dicom", "dump", "--phi", src)
	if !strings.Contains(out, "SCD0000101") {
		t.Errorf("--phi output lacks the patient ID:\n%s", out)
	}
}

func TestDicomInspectExitStatus(t *testing.T) {
	dir := testenv.SharedData(t, "sunnybrook-scd", "SCD0000101", "CINESAX_300")
	out, code := runCmd(t, "dicom", "inspect", dir)
	if code != 0 || !strings.Contains(out, "12 slice(s), frames per slice 12×20 (cine)") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "x.dcm"), []byte("not dicom"), 0o644)
	out, code = runCmd(t, "dicom", "inspect", bad)
	if code != 3 || !strings.Contains(out, "UNUSABLE") {
		t.Fatalf("bad input: exit %d, want 3:\n%s", code, out)
	}
}
