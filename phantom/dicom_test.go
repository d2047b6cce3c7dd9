package phantom_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// allFiles returns every .dcm file of a cohort.
func allFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "dicom", "*", "*", "*.dcm"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no DICOM files under %s (%v)", dir, err)
	}
	return files
}

// dcmdumpClean runs dcmtk's dcmdump on every file and fails on any warning,
// error or element dcmtk does not know.
func dcmdumpClean(t *testing.T, files []string) {
	t.Helper()
	dcmdump := testenv.Tool(t, "dcmdump")
	for len(files) > 0 {
		n := min(len(files), 400)
		batch := files[:n]
		files = files[n:]
		// no -q: it would silence exactly the warnings this test looks for
		cmd := exec.Command(dcmdump, append([]string{"+P", "0002,0010", "+P", "0010,0020"}, batch...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("dcmdump on %d files (first %s): %v\n%s", len(batch), batch[0], err, stderr.String())
		}
		// one transfer syntax and one patient ID line per file
		sc := bufio.NewScanner(bytes.NewReader(out))
		ts, pid := 0, 0
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.Contains(line, "(0002,0010) UI =LittleEndianExplicit"):
				ts++
			case strings.HasPrefix(line, "(0010,0020) LO [PHI-PID-"):
				pid++
			case strings.Contains(line, "Unknown Tag"):
				t.Errorf("dcmdump: %s", line)
			}
		}
		if ts != len(batch) || pid != len(batch) {
			t.Errorf("dcmdump printed %d transfer syntaxes and %d patient IDs for %d files", ts, pid, len(batch))
		}
	}
}

// TestDcmdumpHarness shows the check can fail: dcmdump warns, on stderr,
// about a value of odd length (PS3.5 §7.1.1), which the writer never emits.
func TestDcmdumpHarness(t *testing.T) {
	dcmdump := testenv.Tool(t, "dcmdump")
	le := func(v ...uint16) []byte {
		var b []byte
		for _, x := range v {
			b = append(b, byte(x), byte(x>>8))
		}
		return b
	}
	meta := append(le(0x0002, 0x0010), 'U', 'I', 20, 0)
	meta = append(meta, "1.2.840.10008.1.2.1\x00"...)
	file := append(make([]byte, 128), "DICM"...)
	file = append(file, le(0x0002, 0x0000)...)
	file = append(file, 'U', 'L', 4, 0, byte(len(meta)), 0, 0, 0)
	file = append(file, meta...)
	file = append(file, le(0x0010, 0x0010)...)
	file = append(file, 'P', 'N', 3, 0, 'A', 'B', 'C') // odd length
	path := filepath.Join(t.TempDir(), "odd.dcm")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(dcmdump, path)
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "is odd") {
		t.Fatalf("dcmdump did not warn about an odd length; stderr: %q", stderr.String())
	}
}

// TestDcmdump: dcmtk parses every file of the cohort without a warning.
func TestDcmdump(t *testing.T) {
	dir, _ := sharedCohort(t)
	files := allFiles(t, dir)
	dcmdumpClean(t, files)
	t.Logf("dcmdump read %d files cleanly", len(files))
}

// dciodvfyClean runs dicom3tools' IOD validator on one file of every series
// and fails on any error (warnings, e.g. the rescale attributes the MR IOD
// does not define but every vendor writes, are allowed).
func dciodvfyClean(t *testing.T, dir string) {
	t.Helper()
	dciodvfy := testenv.Tool(t, "dciodvfy")
	series, _ := filepath.Glob(filepath.Join(dir, "dicom", "*", "*"))
	for _, s := range series {
		files, _ := filepath.Glob(filepath.Join(s, "*.dcm"))
		if len(files) == 0 {
			t.Errorf("%s: empty series folder", s)
			continue
		}
		out, _ := exec.Command(dciodvfy, files[0]).CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "Error") {
				t.Errorf("dciodvfy %s: %s", files[0], line)
			}
		}
	}
}

func TestDciodvfy(t *testing.T) {
	dir, _ := sharedCohort(t)
	dciodvfyClean(t, dir)
}
