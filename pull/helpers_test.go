package pull

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/dicom"
	"github.com/cmrfm/cmrfm/dicomweb"
	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/internal/orthanctest"
	"github.com/cmrfm/cmrfm/internal/testenv"
	"github.com/cmrfm/cmrfm/phantom"
)

const testSalt = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// fixture is a phantom cohort as loaded into Orthanc.
type fixture struct {
	cohort *phantom.Cohort
	dir    string // the cohort; dicom/ holds exactly the uploaded files
	// sha maps every uploaded SOP Instance UID to its file's sha256.
	sha map[string]string
	// series maps SOP Instance UID → SeriesInstanceUID.
	series map[string]string
}

// newFixture writes a small phantom cohort (seed 6: Siemens and Philips
// studies, a SAX stack stored one slice per series, repeated acquisitions)
// and converts one cine series to JPEG-LS lossless with GDCM, so that the
// stored transfer syntax must survive the pull.
func newFixture(t testing.TB, studies int) *fixture {
	t.Helper()
	dir := t.TempDir()
	c, err := phantom.Generate(context.Background(), phantom.Options{Studies: studies, Out: dir, Seed: 6, Workers: 2, Matrix: 64, Frames: 8})
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{cohort: c, dir: dir, sha: map[string]string{}, series: map[string]string{}}
	gdcm := testenv.Tool(t, "gdcmconv")
	st := c.Studies[len(c.Studies)-1]
	for _, se := range st.Series {
		if se.Kind != "cine" || se.View != "4CH" {
			continue
		}
		sd := filepath.Join(dir, "dicom", st.StudyFolder, se.Folder)
		files, _ := filepath.Glob(filepath.Join(sd, "*"))
		for _, f := range files {
			if out, err := exec.Command(gdcm, "--jpegls", f, f).CombinedOutput(); err != nil {
				t.Fatalf("gdcmconv: %v: %s", err, out)
			}
		}
	}
	for p := range walk(t, filepath.Join(dir, "dicom")) {
		f, err := dicom.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sop := f.DataSet.String(dicom.TagSOPInstanceUID)
		fx.sha[sop] = fileSHA(t, p)
		fx.series[sop] = f.DataSet.String(dicom.TagSeriesInstanceUID)
	}
	return fx
}

// load uploads the cohort into Orthanc.
func (fx *fixture) load(t testing.TB, s *orthanctest.Server) {
	t.Helper()
	n := s.UploadDir(filepath.Join(fx.dir, "dicom"))
	if n != len(fx.sha) {
		t.Fatalf("uploaded %d files, want %d", n, len(fx.sha))
	}
}

// used returns, per study UID, the series UIDs ingest would use by the
// phantom's ground truth: the cine series of a true view, except earlier
// acquisitions a repeat replaced.
func (fx *fixture) used() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, st := range fx.cohort.Studies {
		replaced := map[int]bool{}
		for _, se := range st.Series {
			if se.RepeatOf != 0 {
				replaced[se.RepeatOf] = true
			}
		}
		out[st.StudyInstanceUID] = map[string]bool{}
		for _, se := range st.Series {
			if se.Kind == "cine" && se.View != "none" && !replaced[se.SeriesNumber] {
				out[st.StudyInstanceUID][se.SeriesInstanceUID] = true
			}
		}
	}
	return out
}

// wantSOPs returns the sha256 of every instance of the given series.
func (fx *fixture) wantSOPs(series map[string]bool) map[string]string {
	out := map[string]string{}
	for sop, se := range fx.series {
		if series[se] {
			out[sop] = fx.sha[sop]
		}
	}
	return out
}

// pullOptions returns options for a pull from s into out: basic auth from
// the environment-style lookup, quick retries.
func pullOptions(t testing.TB, s *orthanctest.Server, out string) Options {
	t.Helper()
	var auth dicomweb.Auth
	if s.User() != "" {
		var err error
		auth, err = dicomweb.LoadAuth("basic", "", func(k string) string {
			return map[string]string{dicomweb.EnvUser: s.User(), dicomweb.EnvPassword: s.Password()}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return Options{
		Server:    dicomweb.Options{URL: s.DICOMweb, Auth: auth, Retries: 2, RetryWait: 20 * time.Millisecond, StallTimeout: 20 * time.Second},
		Out:       out,
		Transfers: 4,
		Log:       testLogger(t),
	}
}

// testLogger logs to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func ingestConfig(store string) *ingest.Config {
	return &ingest.Config{Out: store, Salt: testSalt, Workers: 2, Frames: "original"}
}

func mustRun(t testing.TB, o Options) *Summary {
	t.Helper()
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// walk yields every regular file under dir.
func walk(t testing.TB, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out[p] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fileSHA(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sopDigest maps every DICOM file under dir by SOP Instance UID to its sha256.
func sopDigest(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p := range walk(t, dir) {
		f, err := dicom.ReadFile(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		sop := f.DataSet.String(dicom.TagSOPInstanceUID)
		if _, dup := out[sop]; dup {
			t.Fatalf("instance in two files (%s)", p)
		}
		out[sop] = fileSHA(t, p)
	}
	return out
}

// treeDigest maps every file under dir by relative path to its sha256.
func treeDigest(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p := range walk(t, dir) {
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = fileSHA(t, p)
	}
	return out
}

func sameDigest(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	var diff []string
	for k, v := range want {
		if got[k] != v {
			diff = append(diff, "missing or different: "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diff = append(diff, "unexpected: "+k)
		}
	}
	if len(diff) > 0 {
		sort.Strings(diff)
		if len(diff) > 8 {
			diff = append(diff[:8], "…")
		}
		t.Fatalf("%s: %d files vs %d expected:\n%s", what, len(got), len(want), strings.Join(diff, "\n"))
	}
}

// storeDigest is the store's .h5 files and index.csv by path.
func storeDigest(t testing.TB, store string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range treeDigest(t, store) {
		if strings.HasSuffix(k, ".h5") || k == "index.csv" || k == "reports.jsonl" {
			out[k] = v
		}
	}
	return out
}

// manifestLines returns the store's manifest lines without their timing
// fields, sorted.
func manifestLines(t testing.TB, store string) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(store, "manifest*.jsonl"))
	var out []string
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "time")
			delete(m, "seconds")
			b, _ := json.Marshal(m)
			out = append(out, string(b))
		}
		f.Close()
	}
	sort.Strings(out)
	return out
}

// readReport reads studies.csv as rows keyed by column name.
func readReport(t testing.TB, out string) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, ReportName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	head := strings.Split(lines[0], ",")
	var rows []map[string]string
	for _, l := range lines[1:] {
		cells := splitCSV(l)
		row := map[string]string{}
		for i, h := range head {
			if i < len(cells) {
				row[h] = cells[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func splitCSV(l string) []string {
	var out []string
	var cur strings.Builder
	q := false
	for _, r := range l {
		switch {
		case r == '"':
			q = !q
		case r == ',' && !q:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(out, cur.String())
}

// journalFiles reads the journal's file records (path → record) as the
// journal replays them.
func journalFiles(t testing.TB, out string) map[string]*jFile {
	t.Helper()
	j, err := openJournal(out)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	files := map[string]*jFile{}
	for _, uid := range j.order {
		s := j.studies[uid]
		for _, f := range s.Files {
			files[filepath.Join(PartialDir, s.Dir, f.Path)] = f
		}
	}
	return files
}
