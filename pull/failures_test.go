package pull

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cmrfm/cmrfm/dicom"
	"github.com/cmrfm/cmrfm/dicomweb"
	"github.com/cmrfm/cmrfm/internal/orthanctest"
	"github.com/cmrfm/cmrfm/phantom"
)

// TestServerStoppedMidTransfer: Orthanc is killed in the middle of a pull.
// The pull stops with "the server cannot be reached", having kept every
// instance it finished; once Orthanc is back, a rerun completes the studies
// without downloading any finished instance again.
func TestServerStoppedMidTransfer(t *testing.T) {
	fx := newFixture(t, 3)
	s := orthanctest.Start(t, orthanctest.Options{})
	fx.load(t, s)
	o := pullOptions(t, s, filepath.Join(t.TempDir(), "pull"))
	o.Query = url.Values{"ModalitiesInStudy": {"MR"}}
	var once sync.Once
	n := 0
	o.Events = func(e Event) {
		if e.Kind == EventInstance {
			if n++; n == 80 {
				once.Do(s.Kill)
			}
		}
	}
	sum, err := Run(context.Background(), o)
	if !errors.Is(err, dicomweb.ErrUnreachable) {
		t.Fatalf("error %v, want the server to be unreachable", err)
	}
	if sum == nil || sum.Complete == len(fx.cohort.Studies) {
		t.Fatalf("summary %+v", sum)
	}
	rows := readReport(t, o.Out)
	failed := 0
	for _, r := range rows {
		if r["status"] == statusFailed {
			failed++
		}
	}
	if failed == 0 {
		t.Fatalf("no failed study in the report: %v", rows)
	}
	kept := len(journalFiles(t, o.Out))
	t.Logf("killed Orthanc after %d instances: %d journaled, %d studies complete, error: %v", n, kept, sum.Complete, err)

	s.Restart()
	o.Events = nil
	sum2 := mustRun(t, o)
	all := fx.wantSOPs(flatten(fx.used()))
	if sum2.Failed != 0 || sum2.Complete != len(fx.cohort.Studies) {
		t.Fatalf("after restart: %+v", sum2)
	}
	// Nothing fetched twice: the instances of studies that were complete
	// are untouched, the partial ones' journaled instances verified.
	if sum2.Downloaded+sum2.Resumed+countIn(t, o.Out, sum.Complete) != len(all) || sum2.Refetched != 0 {
		t.Fatalf("after restart: downloaded %d + resumed %d + in complete studies, want %d in all (refetched %d)",
			sum2.Downloaded, sum2.Resumed, len(all), sum2.Refetched)
	}
	if sum2.Downloaded != len(all)-kept {
		t.Fatalf("downloaded %d on the rerun, want %d (%d were on disk)", sum2.Downloaded, len(all)-kept, kept)
	}
	sameDigest(t, "after restart", sopDigest(t, filepath.Join(o.Out, DICOMDir)), all)
}

// countIn counts the instances of the studies a first run completed (they
// are neither resumed nor downloaded by the rerun).
func countIn(t *testing.T, out string, complete int) int {
	j, err := openJournal(out)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	n, seen := 0, 0
	for _, uid := range j.order {
		if s := j.studies[uid]; s.Complete && seen < complete {
			n += len(s.Files)
			seen++
		}
	}
	return n
}

func flatten(m map[string]map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, ss := range m {
		for k := range ss {
			out[k] = true
		}
	}
	return out
}

// TestHTTPErrors: 401 (wrong or no credentials) and a wrong server root
// (404) stop the pull with a message saying what to fix; a study whose
// series the server cannot describe (500: one stored file damaged) fails
// alone with the server's answer while the others complete, an unknown UID
// is reported as not found, and a rerun after the damage is repaired
// completes the failed study.
func TestHTTPErrors(t *testing.T) {
	fx := newFixture(t, 2)
	s := orthanctest.Start(t, orthanctest.Options{Users: map[string]string{"cmrfm": "s3cret"}})
	fx.load(t, s)
	uids := []string{fx.cohort.Studies[0].StudyInstanceUID, fx.cohort.Studies[1].StudyInstanceUID}

	t.Run("401", func(t *testing.T) {
		for _, auth := range []dicomweb.Auth{{Kind: "basic", User: "cmrfm", Password: "wrong"}, {}} {
			o := pullOptions(t, s, filepath.Join(t.TempDir(), "pull"))
			o.Server.Auth = auth
			o.Studies = uids
			_, err := Run(context.Background(), o)
			if !dicomweb.IsStatus(err, http.StatusUnauthorized) || !strings.Contains(err.Error(), "check --auth") {
				t.Fatalf("error %v, want 401 with a hint", err)
			}
		}
	})
	t.Run("404 wrong root", func(t *testing.T) {
		o := pullOptions(t, s, filepath.Join(t.TempDir(), "pull"))
		o.Server.URL = s.URL + "/wado-rs"
		o.Studies = uids
		_, err := Run(context.Background(), o)
		if !dicomweb.IsStatus(err, http.StatusNotFound) || !strings.Contains(err.Error(), "DICOMweb root") {
			t.Fatalf("error %v, want 404 with a hint", err)
		}
	})
	t.Run("500 and not found", func(t *testing.T) {
		// Damage one stored file of a cine series of study 1: Orthanc then
		// answers 500 to that series' metadata.
		var victim string
		for sop, se := range fx.series {
			if flatten(fx.used())[se] && seriesStudy(fx, se) == uids[1] {
				victim = sop
				break
			}
		}
		file := s.StorageFile(s.Lookup(victim))
		good, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, good[:len(good)/2], 0o600); err != nil {
			t.Fatal(err)
		}
		o := pullOptions(t, s, filepath.Join(t.TempDir(), "pull"))
		o.Studies = append(append([]string{}, uids...), "1.2.826.0.1.3680043.8.498.99999")
		sum := mustRun(t, o)
		if sum.Complete != 1 || sum.Failed != 1 || sum.NotFound != 1 || len(sum.Failures) != 1 {
			t.Fatalf("summary %+v", sum)
		}
		if msg := sum.Failures[0].Err; !strings.Contains(msg, "500 Internal Server Error") || strings.Contains(msg, uids[1]) {
			t.Fatalf("failure %q: want the server's 500, and no UID", msg)
		}
		statuses := map[string]string{}
		for _, r := range readReport(t, o.Out) {
			statuses[r["request"]] = r["status"]
		}
		if statuses["study:"+uids[0]] != statusComplete || statuses["study:"+uids[1]] != statusFailed ||
			statuses["study:1.2.826.0.1.3680043.8.498.99999"] != statusNotFound {
			t.Fatalf("report statuses %v", statuses)
		}
		// Repaired: the rerun completes study 1 and leaves study 0 alone.
		if err := os.WriteFile(file, good, 0o600); err != nil {
			t.Fatal(err)
		}
		o.Studies = uids
		sum = mustRun(t, o)
		if sum.Complete != 2 || sum.AlreadyDone != 1 || sum.Failed != 0 {
			t.Fatalf("rerun: %+v", sum)
		}
		sameDigest(t, "after repair", sopDigest(t, filepath.Join(o.Out, DICOMDir)), fx.wantSOPs(flatten(fx.used())))
	})
}

func seriesStudy(fx *fixture, series string) string {
	for _, st := range fx.cohort.Studies {
		for _, se := range st.Series {
			if se.SeriesInstanceUID == series {
				return st.StudyInstanceUID
			}
		}
	}
	return ""
}

// TestStudyChangesDuringPull: after the search, one study is deleted from
// the server, and another changes after it was planned (a series added,
// one instance deleted). The deleted study fails with a clear message; the
// changed one is planned again and ends exactly as the server now holds it.
func TestStudyChangesDuringPull(t *testing.T) {
	fx := newFixture(t, 2)
	s := orthanctest.Start(t, orthanctest.Options{})
	st0, st1 := fx.cohort.Studies[0], fx.cohort.Studies[1]
	// Upload everything but study 0's 2CH series.
	var late []string
	for p := range walk(t, filepath.Join(fx.dir, "dicom")) {
		if strings.Contains(p, string(filepath.Separator)+st0.StudyFolder+string(filepath.Separator)) && seriesOfFile(t, p) == seriesByView(fx, st0, "2CH") {
			late = append(late, p)
			continue
		}
		s.Upload(p)
	}
	if len(late) == 0 {
		t.Fatal("no 2CH series")
	}
	// The SAX instance to delete.
	sax := seriesByView(fx, st0, "SAX")
	var gone string
	for sop, se := range fx.series {
		if se == sax {
			gone = sop
			break
		}
	}
	o := pullOptions(t, s, filepath.Join(t.TempDir(), "pull"))
	o.Studies = []string{st0.StudyInstanceUID, st1.StudyInstanceUID}
	o.Transfers = 2
	var once sync.Once
	o.Events = func(e Event) {
		switch {
		case e.Kind == EventSearched:
			s.Delete("studies", s.Lookup(st1.StudyInstanceUID))
		case e.Kind == EventPlanned && strings.HasSuffix(e.Study, "-0001"):
			once.Do(func() {
				s.Upload(late...)
				s.Delete("instances", s.Lookup(gone))
			})
		}
	}
	sum := mustRun(t, o)
	if sum.Complete != 1 || sum.Failed != 1 || sum.Changed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(sum.Failures[0].Err, "no instances for this study") {
		t.Fatalf("failure %q", sum.Failures[0].Err)
	}
	want := fx.wantSOPs(fx.used()[st0.StudyInstanceUID])
	delete(want, gone)
	sameDigest(t, "changed study", sopDigest(t, filepath.Join(o.Out, DICOMDir)), want)
	for _, r := range readReport(t, o.Out) {
		if r["study_instance_uid"] == st0.StudyInstanceUID && r["changed_on_server"] != "true" {
			t.Fatalf("report row %v", r)
		}
	}
}

// seriesByView returns a series of a view that ingest uses.
func seriesByView(fx *fixture, st phantom.StudyTruth, view string) string {
	used := fx.used()[st.StudyInstanceUID]
	for _, se := range st.Series {
		if used[se.SeriesInstanceUID] && se.View == view {
			return se.SeriesInstanceUID
		}
	}
	return ""
}

func seriesOfFile(t *testing.T, p string) string {
	f, err := dicom.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return f.DataSet.String(dicom.TagSeriesInstanceUID)
}
