package pull

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/dicomweb"
	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/internal/orthanctest"
)

// childEnv carries a child pull's options (TestKillAndResume).
const childEnv = "CMRFM_PULL_CHILD"

type childSpec struct {
	Server dicomweb.Options
	Out    string
	Query  url.Values
	StopAt int // block (to be killed) after this many instances
	Marker string
}

// TestMain lets the test binary act as a pull process that a test kills
// with SIGKILL in the middle of its transfers.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		var c childSpec
		if err := json.Unmarshal([]byte(spec), &c); err != nil {
			panic(err)
		}
		var mu sync.Mutex
		n := 0
		o := Options{Server: c.Server, Out: c.Out, Query: c.Query, Transfers: 4,
			Events: func(e Event) {
				if e.Kind != EventInstance {
					return
				}
				mu.Lock()
				n++
				if n == c.StopAt {
					os.WriteFile(c.Marker, nil, 0o600)
				}
				mu.Unlock()
				if n >= c.StopAt {
					select {} // every transfer that finishes now waits here to be killed
				}
			}}
		if _, err := Run(context.Background(), o); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestOrthanc runs the read-only tests against one Orthanc loaded with a
// phantom cohort.
func TestOrthanc(t *testing.T) {
	fx := newFixture(t, 4)
	s := orthanctest.Start(t, orthanctest.Options{Users: map[string]string{"cmrfm": "s3cret"}})
	fx.load(t, s)
	t.Run("SearchByEachKey", func(t *testing.T) { testSearch(t, fx, s) })
	t.Run("PullMatchesIngest", func(t *testing.T) { testPullMatchesIngest(t, fx, s) })
	t.Run("AllSeries", func(t *testing.T) { testAllSeries(t, fx, s) })
	t.Run("KillAndResume", func(t *testing.T) { testKillAndResume(t, fx, s) })
}

// testSearch: each way of naming studies finds exactly the studies the
// phantom's truth says it should; unknown keys are reported as not found.
func testSearch(t *testing.T, fx *fixture, s *orthanctest.Server) {
	sts := fx.cohort.Studies
	byDate := func(lo, hi string) []string {
		var out []string
		for _, st := range sts {
			if st.StudyDate >= lo && st.StudyDate <= hi {
				out = append(out, st.StudyInstanceUID)
			}
		}
		return out
	}
	all := byDate("", "99999999")
	accFile := filepath.Join(t.TempDir(), "accessions.csv")
	os.WriteFile(accFile, []byte("patient,AccessionNumber\nx,"+sts[1].StudyKey+"\ny,NO-SUCH-ACCESSION\nz,"+sts[3].StudyKey+"\n"), 0o600)
	accs, err := ReadAccessions(accFile)
	if err != nil {
		t.Fatal(err)
	}
	year := sts[0].StudyDate[:4]
	for _, tc := range []struct {
		name     string
		studies  []string
		accs     []string
		query    string
		want     []string
		notFound int
	}{
		{name: "study UIDs", studies: []string{sts[2].StudyInstanceUID, "1.2.3.4.5.6.7.8.9", sts[0].StudyInstanceUID},
			want: []string{sts[2].StudyInstanceUID, sts[0].StudyInstanceUID}, notFound: 1},
		{name: "accession numbers", accs: accs, want: []string{sts[1].StudyInstanceUID, sts[3].StudyInstanceUID}, notFound: 1},
		{name: "modality", query: "ModalitiesInStudy=MR", want: sorted(all)},
		{name: "no such modality", query: "ModalitiesInStudy=CT"},
		{name: "date range", query: "ModalitiesInStudy=MR&StudyDate=" + year + "0101-" + year + "1231", want: sorted(byDate(year+"0101", year+"1231"))},
		{name: "patient", query: "PatientID=" + sts[3].PatientID, want: []string{sts[3].StudyInstanceUID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := pullOptions(t, s, filepath.Join(t.TempDir(), "pull"))
			o.Studies, o.Accessions = tc.studies, tc.accs
			if tc.query != "" {
				if o.Query, err = ParseQuery(tc.query); err != nil {
					t.Fatal(err)
				}
			}
			p := &puller{opts: o, log: o.Log}
			if err := p.setup(); err != nil {
				t.Fatal(err)
			}
			defer p.j.close()
			found, missing, err := p.search(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, st := range found {
				got = append(got, st.uid)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("found %v, want %v", got, tc.want)
			}
			if len(missing) != tc.notFound {
				t.Errorf("%d not found (%v), want %d", len(missing), missing, tc.notFound)
			}
		})
	}
	if len(byDate(year+"0101", year+"1231")) == len(all) {
		t.Fatal("the date range test selects every study; pick a cohort with more years")
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// testPullMatchesIngest is the acceptance test: pulling with
// --ingest yields the store, manifest and index that `cmrfm ingest` gives
// on the same (kept) files, and the store and index of ingesting the
// studies exported by hand; only the series ingest uses are downloaded,
// byte for byte as stored (one series is JPEG-LS); without --keep no DICOM
// is left behind.
func testPullMatchesIngest(t *testing.T, fx *fixture, s *orthanctest.Server) {
	tmp := t.TempDir()

	// Pull and ingest, keeping the DICOM.
	o := pullOptions(t, s, filepath.Join(tmp, "pull"))
	o.Query = url.Values{"ModalitiesInStudy": {"MR"}}
	o.Ingest = ingestConfig(filepath.Join(tmp, "store-pull"))
	o.Keep = true
	sum := mustRun(t, o)
	n := len(fx.cohort.Studies)
	if sum.Complete != n || sum.Ingested != n || sum.Failed != 0 || sum.Ingest == nil || sum.Ingest.OK != n {
		t.Fatalf("summary %+v, ingest %+v", sum, sum.Ingest)
	}
	// Exactly the series ingest uses, every file as stored on the server.
	wantSeries := map[string]bool{}
	for _, ss := range fx.used() {
		for se := range ss {
			wantSeries[se] = true
		}
	}
	got := sopDigest(t, filepath.Join(o.Out, DICOMDir))
	sameDigest(t, "pulled DICOM (by SOP Instance UID)", got, fx.wantSOPs(wantSeries))
	if sum.SeriesSkipped == 0 || sum.Downloaded != len(got) {
		t.Fatalf("skipped %d series, downloaded %d of %d", sum.SeriesSkipped, sum.Downloaded, len(got))
	}
	// cmrfm ingest on the same files.
	ref := filepath.Join(tmp, "store-ingest")
	cfg := *ingestConfig(ref)
	cfg.Inputs = []string{filepath.Join(o.Out, DICOMDir)}
	if _, err := ingest.Run(context.Background(), cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	sameDigest(t, "store vs ingest of the kept files", storeDigest(t, o.Ingest.Out), storeDigest(t, ref))
	if a, b := manifestLines(t, o.Ingest.Out), manifestLines(t, ref); !reflect.DeepEqual(a, b) {
		t.Fatalf("manifests differ:\npull:   %s\ningest: %s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	// Exported by hand: ingest of the original files (every series).
	byHand := filepath.Join(tmp, "store-export")
	cfg = *ingestConfig(byHand)
	cfg.Inputs = []string{filepath.Join(fx.dir, "dicom")}
	if _, err := ingest.Run(context.Background(), cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	sameDigest(t, "store vs ingest of the export", storeDigest(t, o.Ingest.Out), storeDigest(t, byHand))

	// Without --keep, and without --out (the default STORE.pull): the same
	// store, and no DICOM left.
	o2 := pullOptions(t, s, "")
	o2.Query = o.Query
	o2.Ingest = ingestConfig(filepath.Join(tmp, "store-pull2"))
	sum2 := mustRun(t, o2)
	if sum2.Ingested != n || sum2.Report != filepath.Join(tmp, "store-pull2.pull", ReportName) {
		t.Fatalf("ingested %d, report %s", sum2.Ingested, sum2.Report)
	}
	o2.Out = filepath.Join(tmp, "store-pull2.pull")
	sameDigest(t, "store without --keep", storeDigest(t, o2.Ingest.Out), storeDigest(t, byHand))
	if left := walk(t, filepath.Join(o2.Out, DICOMDir)); len(left) != 0 {
		t.Fatalf("%d DICOM files left after ingest without --keep", len(left))
	}
	if left := walk(t, filepath.Join(o2.Out, PartialDir)); len(left) != 0 {
		t.Fatalf("%d partial files left", len(left))
	}
	for _, row := range readReport(t, o2.Out) {
		if row["status"] != statusIngested {
			t.Fatalf("report row %v", row)
		}
	}
	checkPrivate(t, o2.Out)

	// A second run finds everything done and downloads nothing.
	o2.Out = ""
	sum3 := mustRun(t, o2)
	if sum3.AlreadyDone != n || sum3.Downloaded != 0 || sum3.Ingested != 0 {
		t.Fatalf("rerun: %+v", sum3)
	}
}

// checkPrivate: the pull directory and everything in it is private.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %04o", p, perm)
		}
		return nil
	})
}

// testAllSeries: --all-series downloads every instance of every series,
// byte for byte.
func testAllSeries(t *testing.T, fx *fixture, s *orthanctest.Server) {
	o := pullOptions(t, s, filepath.Join(t.TempDir(), "pull"))
	o.Studies = []string{fx.cohort.Studies[0].StudyInstanceUID, fx.cohort.Studies[3].StudyInstanceUID}
	o.AllSeries = true
	sum := mustRun(t, o)
	if sum.Complete != 2 || sum.SeriesSkipped != 0 {
		t.Fatalf("summary %+v", sum)
	}
	want := map[string]bool{}
	for _, i := range []int{0, 3} {
		for _, se := range fx.cohort.Studies[i].Series {
			want[se.SeriesInstanceUID] = true
		}
	}
	sameDigest(t, "all series", sopDigest(t, filepath.Join(o.Out, DICOMDir)), fx.wantSOPs(want))
}

// testKillAndResume: a pull killed with SIGKILL in the middle of its
// transfers, run again, fetches only what is missing — files finished
// before the kill are not written again (same inode and modification time),
// a journaled file damaged afterwards is fetched again — and ends with the
// files of an uninterrupted pull.
func testKillAndResume(t *testing.T, fx *fixture, s *orthanctest.Server) {
	tmp := t.TempDir()
	want := fx.wantSOPs(flatten(fx.used())) // what an uninterrupted pull gets (testPullMatchesIngest)
	o := pullOptions(t, s, filepath.Join(tmp, "pull"))
	o.Query = url.Values{"ModalitiesInStudy": {"MR"}}
	spec := childSpec{Server: o.Server, Out: o.Out, Query: o.Query, StopAt: len(want) / 3, Marker: filepath.Join(tmp, "marker")}
	b, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(spec.Marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child pull made no progress")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let other transfers run into the wall too
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child was not killed")
	}

	// What the killed pull left: journaled files (some studies may be
	// complete already, the rest partial).
	j := journalFiles(t, o.Out)
	if len(j) == 0 || len(j) >= len(want) {
		t.Fatalf("killed after %d of %d instances", len(j), len(want))
	}
	type stamp struct {
		ino uint64
		mt  time.Time
	}
	stamps := map[string]stamp{}
	var damaged string
	for rel := range j {
		p := filepath.Join(o.Out, rel)
		if _, err := os.Stat(p); err != nil {
			p = filepath.Join(o.Out, DICOMDir, strings.TrimPrefix(rel, PartialDir+string(filepath.Separator)))
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("journaled file missing: %v", err)
		}
		if damaged == "" && strings.HasPrefix(p, filepath.Join(o.Out, PartialDir)) {
			damaged = p // a torn write: cut it short
			os.Truncate(p, st.Size()/2)
			continue
		}
		stamps[p] = stamp{st.Sys().(*syscall.Stat_t).Ino, st.ModTime()}
	}
	if damaged == "" {
		t.Fatal("no partial study when killed")
	}

	o.Events = nil
	sum := mustRun(t, o)
	if sum.Failed != 0 || sum.Complete != len(fx.cohort.Studies) {
		t.Fatalf("resume: %+v", sum)
	}
	t.Logf("killed after %d journaled instances; resume: %d verified on disk, %d refetched, %d downloaded, %d studies already complete; %d in all",
		len(j), sum.Resumed, sum.Refetched, sum.Downloaded, sum.AlreadyDone, len(want))
	if sum.Refetched != 1 {
		t.Fatalf("refetched %d, want the 1 damaged file", sum.Refetched)
	}
	// Every instance not finished before the kill (and the damaged one) was
	// downloaded once; none of the others.
	if got := sum.Downloaded; got != len(want)-len(j)+1 {
		t.Fatalf("downloaded %d instances on resume, want %d (of %d; %d were journaled)", got, len(want)-len(j)+1, len(want), len(j))
	}
	for p, st := range stamps {
		p2 := p
		if _, err := os.Stat(p2); err != nil { // the study moved to dicom/
			p2 = filepath.Join(o.Out, DICOMDir, strings.TrimPrefix(p, filepath.Join(o.Out, PartialDir)+string(filepath.Separator)))
		}
		now, err := os.Stat(p2)
		if err != nil {
			t.Fatal(err)
		}
		if now.Sys().(*syscall.Stat_t).Ino != st.ino || !now.ModTime().Equal(st.mt) {
			t.Fatalf("%s was written again", p2)
		}
	}
	sameDigest(t, "resumed pull", sopDigest(t, filepath.Join(o.Out, DICOMDir)), want)
	if left := walk(t, filepath.Join(o.Out, PartialDir)); len(left) != 0 {
		t.Fatalf("left in .partial: %v", left)
	}
}
