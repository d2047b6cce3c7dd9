package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitStatusUsage: every kind of command-line mistake exits 2 with a
// message, whatever the command.
func TestExitStatusUsage(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},
		{"ingest", "--no-such-flag"},
		{"store", "verify"},                  // missing argument
		{"dicom", "dump", "a", "b"},          // too many arguments
		{"phantom"},                          // --out missing
		{"predict", "--store", "x"},          // --checkpoint missing
		{"text", "index", "--out", "x.json"}, // --reports missing
		{"text", "deid", "--dates", "sideways"},
		{"--log-level", "loud", "version"},
		{"evaluate", "classification", "--pred", "x.csv", "--out", "-", "--ci", "magic"},
		{"finetune", "--preset", "tiny-lvef"}, // no store
	} {
		code, out, errOut := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "cmrfm:") {
			t.Errorf("%v: exit %d (want %d)\nstdout %s\nstderr %s", args, code, exitUsage, out, errOut)
		}
	}
}

// TestExitStatusStoreVerify: some bad files → 3, all bad → 1, none → 0.
func TestExitStatusStoreVerify(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "site_b", "s2.h5")
	os.MkdirAll(filepath.Dir(bad), 0o755)
	os.WriteFile(bad, []byte("not hdf5"), 0o644)
	if code, out, _ := runCLI(t, "store", "verify", dir); code != exitNothing {
		t.Errorf("all bad: exit %d\n%s", code, out)
	}
}

// TestExitStatusIngest: ingest exits 3 when some studies failed (a garbage
// .tgz beside good studies), 1 when nothing could be ingested (only the
// garbage .tgz), 0 when everything was.
func TestExitStatusIngest(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := runCLI(t, "phantom", "--studies", "2", "--matrix", "32", "--frames", "8", "--out", filepath.Join(dir, "ph")); code != 0 {
		t.Fatalf("phantom: %d\n%s%s", code, out, errOut)
	}
	garbage := filepath.Join(dir, "in", "MRN998877.tgz")
	os.MkdirAll(filepath.Dir(garbage), 0o755)
	os.WriteFile(garbage, []byte("this is not a gzip file at all"), 0o644)
	salt := "--salt-file=" + filepath.Join(dir, "salt")
	for _, c := range []struct {
		inputs []string
		want   int
	}{
		{[]string{filepath.Join(dir, "ph", "dicom")}, exitOK},
		{[]string{filepath.Join(dir, "ph", "dicom"), garbage}, exitPartial},
		{[]string{garbage}, exitNothing},
	} {
		args := []string{"ingest", "--out", filepath.Join(t.TempDir(), "store"), salt, "--frames", "original", "--channels", "1", "--log-level", "error"}
		for _, in := range c.inputs {
			args = append(args, "--input", in)
		}
		code, out, errOut := runCLI(t, args...)
		if code != c.want {
			t.Errorf("%v: exit %d, want %d\n%s%s", c.inputs, code, c.want, out, errOut)
		}
		if strings.Contains(out+errOut, "MRN998877") {
			t.Errorf("the archive's name leaked:\n%s%s", out, errOut)
		}
	}
}
