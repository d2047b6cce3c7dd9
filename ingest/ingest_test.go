package ingest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/testenv"
	"github.com/cmrfm/cmrfm/phantom"
	"github.com/cmrfm/cmrfm/store"
)

const testSalt = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// cohort generates a small phantom cohort once per (n, seed, multiframe).
func cohort(t testing.TB, n int, seed int64, multi bool) (*phantom.Cohort, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := phantom.Generate(context.Background(), phantom.Options{
		Studies: n, Out: dir, Seed: seed, Workers: 2, MultiFrame: multi, Matrix: 96, Frames: 12,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

func testConfig(out string, inputs ...string) Config {
	return Config{Inputs: inputs, Out: out, Salt: testSalt, Workers: 2, Frames: "original"}
}

func run(t *testing.T, cfg Config, logw io.Writer) *Summary {
	t.Helper()
	if logw == nil {
		logw = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sum, err := Run(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func readEntries(t *testing.T, out string) []*Entry {
	t.Helper()
	es, err := readManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	return latestEntries(es)
}

// TestIngestPhantomAndSunnybrook is the acceptance run: the phantom
// cohort (classic and enhanced multi-frame files) plus the real Sunnybrook
// study give a store that verifies, with views as the ground truth says and
// no identifier anywhere in the outputs.
func TestIngestPhantomAndSunnybrook(t *testing.T) {
	c1, d1 := cohort(t, 6, 11, false)
	c2, d2 := cohort(t, 2, 12, true) // its identifiers repeat c1's: a store of its own
	scd := testenv.SharedData(t, "sunnybrook-scd")
	out := filepath.Join(t.TempDir(), "store")
	cfg := testConfig(out, filepath.Join(d1, "dicom"), scd)
	cfg.Reports = filepath.Join(d1, "reports.jsonl")
	cfg.Labels = filepath.Join(d1, "labels.csv")
	var logs bytes.Buffer
	sum := run(t, cfg, &logs)
	if sum.Failed != 0 || sum.NoViews != 0 || sum.OK != len(c1.Studies)+1 {
		t.Fatalf("summary %+v", sum)
	}
	out2 := filepath.Join(filepath.Dir(out), "store-multiframe")
	if sum2 := run(t, testConfig(out2, filepath.Join(d2, "dicom")), &logs); sum2.OK != len(c2.Studies) {
		t.Fatalf("multi-frame summary %+v", sum2)
	}
	ok, bad, err := store.Verify(context.Background(), out, 2, nil)
	if err != nil || bad != 0 || ok != sum.OK {
		t.Fatalf("store verify: %d ok, %d bad, %v", ok, bad, err)
	}
	pseudo, _ := NewPseudonymizer(mustHex(testSalt))
	entries := map[string]*Entry{}
	for _, e := range readEntries(t, out) {
		entries[e.StudyID] = e
	}
	for i, c := range []*phantom.Cohort{c1, c2} {
		es := entries
		if i == 1 {
			es = map[string]*Entry{}
			for _, e := range readEntries(t, out2) {
				es[e.StudyID] = e
			}
		}
		for _, st := range c.Studies {
			e := es[pseudo.Pseudonym("study", st.StudyKey)]
			if e == nil || e.Status != StatusOK {
				t.Fatalf("study %s: no written entry", st.StudyKey)
			}
			checkViewsAgainstTruth(t, st, e)
		}
	}
	// Sunnybrook SCD0000101: 12 slices × 20 phases, short axis by geometry.
	var scdEntry *Entry
	for _, e := range entries {
		if len(e.Views) == 1 && e.Views[0].Series[0] == `300 "" 256x256` {
			scdEntry = e
		}
	}
	if scdEntry == nil || scdEntry.Views[0].View != cine.ViewSAX || scdEntry.Views[0].Slices != 12 || scdEntry.Views[0].Shape[1] != 240 ||
		!strings.HasPrefix(scdEntry.Views[0].Rule, "geometry") {
		t.Fatalf("Sunnybrook entry: %+v", scdEntry)
	}

	// De-identification: no identifier of any input in any output byte or log.
	var phi []string
	for _, c := range []*phantom.Cohort{c1, c2} {
		for _, st := range c.Studies {
			phi = append(phi, st.StudyKey, st.PatientID, st.PatientName, st.StudyInstanceUID, st.StudyFolder)
		}
	}
	phi = append(phi, "PHI-", "PHANTOM^", "SCD0000101", "2.16.124.113543.6006.99.08980635789900778171")
	phi = append(phi, d1, d2, scd, "sunnybrook-scd") // input paths
	scanForPHI(t, filepath.Dir(out), phi, []string{out + ".salt"})
	for _, s := range phi {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log contains %q", s)
		}
	}
	// Dates: the phantom's study dates never appear in text outputs.
	for _, c := range []*phantom.Cohort{c1, c2} {
		for _, st := range c.Studies {
			for _, f := range []string{"manifest.jsonl", "index.csv", "reports.jsonl"} {
				b, _ := os.ReadFile(filepath.Join(out, f))
				if bytes.Contains(b, []byte(st.StudyDate)) {
					t.Errorf("%s contains study date %s", f, st.StudyDate)
				}
			}
		}
	}
	// Reports and labels arrive keyed by the store's study keys.
	idx, err := os.Open(sum.Index)
	if err != nil {
		t.Fatal(err)
	}
	index, err := store.ReadIndex(idx)
	idx.Close()
	if err != nil {
		t.Fatal(err)
	}
	labelled := 0
	for _, row := range index.Rows {
		if _, err := os.Stat(row.Path(out)); err != nil {
			t.Errorf("index row %s: %v", row.Filename(), err)
		}
		if _, ok := row.Float("lvef"); ok {
			labelled++
		}
		if row.Split == "" {
			t.Errorf("index row %s has no split", row.Filename())
		}
	}
	if labelled != len(c1.Studies) || len(index.Rows) != sum.OK {
		t.Errorf("index: %d rows, %d with lvef; want %d and %d", len(index.Rows), labelled, sum.OK, len(c1.Studies))
	}
	rb, _ := os.ReadFile(sum.Reports)
	if n := strings.Count(string(rb), "\n"); n != len(c1.Studies) {
		t.Errorf("reports.jsonl has %d lines, want %d", n, len(c1.Studies))
	}
}

func checkViewsAgainstTruth(t *testing.T, st phantom.StudyTruth, e *Entry) {
	t.Helper()
	want := map[cine.View][]phantom.SeriesTruth{}
	for _, s := range st.Series {
		if s.View != "none" {
			want[cine.View(s.View)] = append(want[cine.View(s.View)], s)
		}
	}
	got := map[cine.View]ViewEntry{}
	for _, v := range e.Views {
		got[v.View] = v
	}
	for v, ss := range want {
		g, ok := got[v]
		if !ok {
			t.Errorf("study %s: view %s (series %v) not written", st.StudyKey, v, ss)
			continue
		}
		// Every chosen series is a true series of that view.
		for _, label := range g.Series {
			found := false
			for _, s := range ss {
				if strings.HasPrefix(label, itoa(s.SeriesNumber)+" ") {
					found = true
				}
			}
			if !found {
				t.Errorf("study %s: view %s built from %q, which the truth does not call %s", st.StudyKey, v, label, v)
			}
		}
		if v == cine.ViewSAX {
			slices := 0
			for _, s := range ss {
				if s.RepeatOf == 0 {
					slices += s.Slices
				}
			}
			if g.Slices != slices {
				t.Errorf("study %s: SAX has %d slices, truth %d", st.StudyKey, g.Slices, slices)
			}
		}
	}
	for v := range got {
		if _, ok := want[v]; !ok {
			t.Errorf("study %s: view %s written but absent from the truth", st.StudyKey, v)
		}
	}
	for _, s := range e.Series {
		if s.View != "" {
			for _, ts := range st.Series {
				if strings.HasPrefix(s.Series, itoa(ts.SeriesNumber)+" ") && ts.View == "none" {
					t.Errorf("study %s: excluded-by-truth series %s used as %s", st.StudyKey, s.Series, s.View)
				}
			}
		}
	}
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0)) + fmtInt(n) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

func scanForPHI(t *testing.T, dir string, phi []string, except []string) {
	t.Helper()
	skip := map[string]bool{}
	for _, e := range except {
		skip[e] = true
	}
	files := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || skip[p] {
			return nil
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		for _, s := range phi {
			if s != "" && bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains identifier %q", p, s)
			}
		}
		return nil
	})
	if files < 3 {
		t.Fatalf("only %d output files scanned", files)
	}
}

func mustHex(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		var v byte
		for _, c := range s[2*i : 2*i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			default:
				v |= byte(c-'a') + 10
			}
		}
		b[i] = v
	}
	return b
}

// TestIngestGeometryOnly: with the SeriesDescription maps switched off,
// views come from the planes alone and still match the truth.
func TestIngestGeometryOnly(t *testing.T) {
	c, d := cohort(t, 6, 21, false)
	out := filepath.Join(t.TempDir(), "store")
	cfg := testConfig(out, filepath.Join(d, "dicom"))
	cfg.NoDefaultSeriesMap = true
	sum := run(t, cfg, nil)
	if sum.OK != len(c.Studies) {
		t.Fatalf("summary %+v", sum)
	}
	pseudo, _ := NewPseudonymizer(mustHex(testSalt))
	entries := map[string]*Entry{}
	for _, e := range readEntries(t, out) {
		entries[e.StudyID] = e
	}
	for _, st := range c.Studies {
		e := entries[pseudo.Pseudonym("study", st.StudyKey)]
		for _, v := range e.Views {
			if !strings.HasPrefix(v.Rule, "geometry") {
				t.Errorf("study %s view %s: rule %q is not geometry", st.StudyKey, v.View, v.Rule)
			}
		}
		checkViewsAgainstTruth(t, st, e)
	}
}

// TestArchivesBadFilesAndShards: a study as .tgz and .zip gives the same
// pixels as the folder; corrupt, empty and non-DICOM files are reported and
// the study is still written; a unit of garbage fails alone; shards 0/2 and
// 1/2 together give the whole store.
func TestArchivesBadFilesAndShards(t *testing.T) {
	c, d := cohort(t, 3, 31, false)
	studyDir := filepath.Join(d, "dicom", c.Studies[0].StudyFolder)
	in := t.TempDir()
	writeTgz(t, studyDir, filepath.Join(in, "a.tgz"))
	writeZip(t, studyDir, filepath.Join(in, "b.zip"))
	// A study folder with damaged files: copy study 1 and damage it.
	damaged := filepath.Join(in, "damaged")
	copyTree(t, filepath.Join(d, "dicom", c.Studies[1].StudyFolder), damaged)
	var series string
	entries, _ := os.ReadDir(damaged)
	for _, e := range entries {
		if strings.Contains(e.Name(), "SAX") && !strings.Contains(e.Name(), "LGE") && !strings.Contains(e.Name(), "PSIR") {
			series = filepath.Join(damaged, e.Name())
		}
	}
	files, _ := filepath.Glob(filepath.Join(series, "*.dcm"))
	sort.Strings(files)
	b, _ := os.ReadFile(files[0])
	os.WriteFile(files[0], b[:len(b)/2], 0o644)                 // truncated
	os.WriteFile(filepath.Join(series, "zero.dcm"), nil, 0o644) // empty
	os.WriteFile(filepath.Join(damaged, "notes.txt"), []byte("not dicom"), 0o644)
	garbage := filepath.Join(in, "garbage", "series")
	os.MkdirAll(garbage, 0o755)
	os.WriteFile(filepath.Join(garbage, "x.dcm"), append(make([]byte, 128), []byte("DICM\x02\x00")...), 0o644)

	out := filepath.Join(t.TempDir(), "store")
	sum := run(t, testConfig(out, in), nil)
	es := readEntries(t, out)
	var archived []*Entry
	var dmg, garb, dup *Entry
	for _, e := range es {
		switch {
		case e.Status == StatusDuplicate:
			dup = e
		case e.Status == StatusFailed:
			garb = e
		case len(e.BadFiles) > 0:
			dmg = e
		default:
			archived = append(archived, e)
		}
	}
	// The same study as .tgz and .zip: written once, the second delivery
	// reported, with identical pixels.
	if len(archived) != 1 || dup == nil || archived[0].StudyID != dup.StudyID || sum.DuplicateStudies != 1 {
		t.Fatalf("archives: %+v, duplicate %+v", archived, dup)
	}
	for i := range archived[0].Views {
		if archived[0].Views[i].PixelSHA256 != dup.Views[i].PixelSHA256 {
			t.Errorf("tgz and zip give different pixels for %s", archived[0].Views[i].View)
		}
	}
	if dmg == nil || dmg.Status != StatusOK || len(dmg.BadFiles) != 2 {
		t.Fatalf("damaged study: %+v", dmg)
	}
	for _, bf := range dmg.BadFiles {
		if !strings.Contains(bf.Error, "truncated") && !strings.Contains(bf.Error, "empty") {
			t.Errorf("bad file %s: reason %q", bf.File, bf.Error)
		}
		if strings.Contains(bf.File, "PHI-") || strings.Contains(bf.Error, "PHI-") {
			t.Errorf("bad-file report leaks a folder name: %+v", bf)
		}
	}
	if garb == nil || !strings.Contains(garb.Error, "no readable DICOM") {
		t.Fatalf("garbage unit: %+v", garb)
	}
	// SAX of the damaged study lost a frame: reported, not hidden.
	warned := false
	for _, s := range dmg.Series {
		if s.View == cine.ViewSAX && len(s.Warnings) > 0 {
			warned = true
		}
	}
	if !warned {
		t.Errorf("the damaged SAX series carries no warning: %+v", dmg.Series)
	}

	// Shards.
	full := storeDigest(t, out)
	shOut := filepath.Join(t.TempDir(), "store")
	for i := 0; i < 2; i++ {
		cfg := testConfig(shOut, in)
		cfg.Shard = []string{"0/2", "1/2"}[i]
		run(t, cfg, nil)
	}
	if got := storeDigest(t, shOut); !equalDigests(got, full) {
		t.Errorf("shards 0/2 + 1/2 differ from the whole run:\n%v\n%v", got, full)
	}
}

// storeDigest maps every .h5 under out (relative path) to its sha256.
func storeDigest(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	files, err := store.StudyFiles(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(out, f)
		s, err := store.FileChecksum(f)
		if err != nil {
			t.Fatal(err)
		}
		m[rel] = s
	}
	return m
}

func equalDigests(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func writeTgz(t *testing.T, dir, path string) {
	t.Helper()
	f, _ := os.Create(path)
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(filepath.Dir(dir), p)
		tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
		return nil
	})
	tw.Close()
	gz.Close()
	f.Close()
}

func writeZip(t *testing.T, dir, path string) {
	t.Helper()
	f, _ := os.Create(path)
	zw := zip.NewWriter(f)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(filepath.Dir(dir), p)
		w, _ := zw.Create(filepath.ToSlash(rel))
		w.Write(b)
		return nil
	})
	zw.Close()
	f.Close()
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(src, p)
		q := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(q, 0o755)
		}
		b, _ := os.ReadFile(p)
		return os.WriteFile(q, b, 0o644)
	})
}

func TestSeriesMap(t *testing.T) {
	m := DefaultSeriesMap()
	// 124 transcribed rows (docs/reference.md §1.8: 105 clinical + 19 UK
	// Biobank); names repeated in the concatenated site lists count once.
	if m.Len() != 118 {
		t.Errorf("default map has %d distinct rules, want 118", m.Len())
	}
	for desc, want := range map[string]cine.View{
		"4CH FIESTA BH": "4CH", "CINE_segmented_SAX_b7": "SAX", "Trufi_Cine_3CH": "3CH", "SAX/FIESTA/BH": "SAX",
		"CINE_segmented_LVOT": "LVOT", "2_Chamber": "2CH",
	} {
		r, ok := m.Lookup(desc)
		if !ok || r.View != want {
			t.Errorf("%q → %v %v, want %s", desc, r.View, ok, want)
		}
	}
	if _, ok := m.Lookup("CINE_segmented_SAX_InlineVF"); ok {
		t.Error("CINE_segmented_SAX_InlineVF is unmapped in the reference")
	}
	u, err := m.WithUser(strings.NewReader("series_description,view\nTrufi_Cine_3CH,exclude\nMy SA Cine,SAX\n"), "site.csv")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := u.Lookup("Trufi_Cine_3CH"); r.View != ViewExclude || !strings.HasPrefix(r.Source, "user:") {
		t.Errorf("user override: %+v", r)
	}
	if r, _ := u.Lookup("My_SA_Cine"); r.View != cine.ViewSAX || r.Priority != 1 {
		t.Errorf("user rule: %+v", r)
	}
	if _, err := m.WithUser(strings.NewReader("x,5CH\n"), "bad.csv"); err == nil || !strings.Contains(err.Error(), "bad.csv") {
		t.Errorf("bad view accepted: %v", err)
	}
}

func TestPseudonyms(t *testing.T) {
	p, _ := NewPseudonymizer(mustHex(testSalt))
	q, _ := NewPseudonymizer(mustHex(strings.Repeat("ab", 32)))
	a := p.Pseudonym("patient", "PHI-PID-000001")
	if a != p.Pseudonym("patient", " PHI-PID-000001 ") || a == p.Pseudonym("study", "PHI-PID-000001") || a == q.Pseudonym("patient", "PHI-PID-000001") {
		t.Error("pseudonyms are not a keyed function of (kind, id)")
	}
	if !regexp.MustCompile(`^[0-9a-z]{16}$`).MatchString(a) {
		t.Errorf("pseudonym %q", a)
	}
	if _, err := NewPseudonymizer([]byte("short")); err == nil {
		t.Error("short salt accepted")
	}
}

func TestClassifyPlaneSunnybrookNormal(t *testing.T) {
	// A plane parallel to the stack is SAX; one containing its normal is a
	// long-axis plane.
	u := [3]float64{0.6, -0.55, -0.58}
	u = unit(u)
	if v, _, _ := classifyPlane(u, u); v != cine.ViewSAX {
		t.Errorf("parallel plane → %s", v)
	}
	n := unit(cross(u, [3]float64{0, 0, 1}))
	if v, _, theta := classifyPlane(n, u); v == cine.ViewSAX || v == "" || theta < 85 {
		t.Errorf("perpendicular plane → %s (%.0f°)", v, theta)
	}
}

// TestIngestACDC: an ACDC NIfTI folder becomes a SAX view (7 slices × 12
// frames for patient090), its Info.cfg group a label column, and the folder
// name (the patient identifier) appears nowhere.
func TestIngestACDC(t *testing.T) {
	acdc := testenv.SharedData(t, "acdc")
	out := filepath.Join(t.TempDir(), "store")
	sum := run(t, testConfig(out, acdc), nil)
	if sum.OK != 1 || sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	es := readEntries(t, out)
	if len(es) != 1 || len(es[0].Views) != 1 {
		t.Fatalf("entries %+v", es)
	}
	v := es[0].Views[0]
	if v.View != cine.ViewSAX || v.Slices != 7 || v.Shape[1] != 84 || v.Shape[2] != 154 || v.Shape[3] != 224 {
		t.Errorf("view %+v", v)
	}
	idx, _ := os.ReadFile(filepath.Join(out, "index.csv"))
	if !strings.Contains(string(idx), "acdc_group") || !strings.Contains(string(idx), ",RV") {
		t.Errorf("index.csv:\n%s", idx)
	}
	scanForPHI(t, filepath.Dir(out), []string{"patient090", acdc}, []string{out + ".salt"})
}
