package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/dicomweb"
	"github.com/cmrfm/cmrfm/internal/orthanctest"
	"github.com/cmrfm/cmrfm/phantom"
)

// TestPullCmd runs `cmrfm pull --ingest` against a real Orthanc with
// credentials from the environment: an accession list with one unknown
// accession exits 3 (partial), prints no identifier, and a rerun has
// nothing left to do; credentials cannot be given as flags, and a
// credentials file others can read is refused.
func TestPullCmd(t *testing.T) {
	dir := t.TempDir()
	c, err := phantom.Generate(context.Background(), phantom.Options{Studies: 2, Out: dir, Seed: 5, Matrix: 64, Frames: 8})
	if err != nil {
		t.Fatal(err)
	}
	s := orthanctest.Start(t, orthanctest.Options{Users: map[string]string{"reader": "pw"}})
	s.UploadDir(filepath.Join(dir, "dicom"))
	acc := filepath.Join(dir, "acc.csv")
	os.WriteFile(acc, []byte("accession_number\n"+c.Studies[0].StudyKey+"\n"+c.Studies[1].StudyKey+"\nPHI-ACC-NOT-THERE\n"), 0o600)
	t.Setenv(dicomweb.EnvUser, "reader")
	t.Setenv(dicomweb.EnvPassword, "pw")
	args := []string{"pull", "--server", s.DICOMweb, "--auth", "basic", "--accessions", acc,
		"--out", filepath.Join(dir, "pull"), "--ingest", filepath.Join(dir, "store"), "--ingest-config", writeIngestConfig(t, dir),
		"--retry-wait", "20ms", "--workers", "2"}
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, &out, &errb); code != 3 {
		t.Fatalf("exit %d, want 3 (one accession not found)\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "pulled 2 of 2 studies") || !strings.Contains(out.String(), "1 requested keys matched nothing") ||
		!strings.Contains(out.String(), "ingested: 2 studies") {
		t.Fatalf("stdout:\n%s", out.String())
	}
	for _, st := range c.Studies {
		for _, id := range []string{st.StudyInstanceUID, st.StudyKey, st.PatientID, "PHI-ACC-NOT-THERE"} {
			if strings.Contains(out.String()+errb.String(), id) {
				t.Fatalf("identifier %q in the output:\n%s\n%s", id, out.String(), errb.String())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "store", "index.csv")); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	args[6] = writeFile(t, dir, "acc2.csv", "accession_number\n"+c.Studies[0].StudyKey+"\n", 0o600)
	if code := run(context.Background(), args, &out, &errb); code != 0 || !strings.Contains(out.String(), "1 already done") {
		t.Fatalf("rerun: exit %d\n%s", code, out.String())
	}

	for _, bad := range [][]string{
		{"--password", "pw"}, {"--token", "x"}, {"--user", "reader"},
	} {
		a := append([]string{"pull", "--server", s.DICOMweb, "--study", "1.2.3", "--out", t.TempDir()}, bad...)
		if code := run(context.Background(), a, &out, &errb); code == 0 {
			t.Fatalf("%v accepted", bad)
		}
	}
	cred := writeFile(t, dir, "cred", "reader:pw\n", 0o644)
	errb.Reset()
	a := []string{"pull", "--server", s.DICOMweb, "--auth", "basic", "--credentials-file", cred, "--study", "1.2.3", "--out", filepath.Join(dir, "p3")}
	if code := run(context.Background(), a, &out, &errb); code != 1 || !strings.Contains(errb.String(), "chmod 600") {
		t.Fatalf("world-readable credentials: exit %d, %s", code, errb.String())
	}
}

func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, mode)
	return p
}

func writeIngestConfig(t *testing.T, dir string) string {
	return writeFile(t, dir, "ingest.yaml", "frames: original\nsalt: \"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"\n", 0o600)
}
