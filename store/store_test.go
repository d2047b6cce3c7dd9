package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/testenv"
)

// testStudy builds a study with all four views; SAX is a stack of 3 slices.
func testStudy(c int) *cine.Study {
	mk := func(f, h, w int, sf []int32, seed int) *cine.Video {
		v := cine.NewVideo(c, f, h, w)
		for fr := 0; fr < f; fr++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					val := uint8((fr*31 + y*7 + x*3 + seed) % 251)
					for ch := 0; ch < c; ch++ {
						v.Pix[v.Offset(ch, fr, y, x)] = val
					}
				}
			}
		}
		v.SliceFrames = sf
		v.TotalImages = int32(f + seed%2)
		return v
	}
	return &cine.Study{Key: "site_p-s.h5", Views: map[cine.View]*cine.Video{
		cine.View4CH: mk(7, 12, 16, nil, 1),
		cine.View3CH: mk(5, 12, 16, nil, 2),
		cine.View2CH: mk(6, 10, 14, nil, 3),
		cine.ViewSAX: mk(12, 12, 16, cine.SliceFramesFor([]int{4, 4, 4}), 4),
	}}
}

func writeTemp(t *testing.T, s *cine.Study) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "site_p", "s.h5")
	if err := Write(p, s); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWriteReadRoundTrip(t *testing.T) {
	for _, c := range []int{1, 3} {
		want := testStudy(c)
		p := writeTemp(t, want)
		got, err := Read(p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Key != "site_p-s.h5" {
			t.Errorf("key %q", got.Key)
		}
		if len(got.Views) != 4 {
			t.Fatalf("c=%d: %d views", c, len(got.Views))
		}
		for name, w := range want.Views {
			g := got.Views[name]
			if g == nil {
				t.Fatalf("c=%d: view %s missing", c, name)
			}
			if g.Shape() != w.Shape() || !bytes.Equal(g.Pix, w.Pix) || g.TotalImages != w.TotalImages ||
				len(g.SliceFrames) != len(w.SliceFrames) || (len(w.SliceFrames) > 0 && !reflect.DeepEqual(g.SliceFrames, w.SliceFrames)) {
				t.Errorf("c=%d view %s: got shape %v sf %v ti %d, want %v %v %d", c, name, g.Shape(), g.SliceFrames, g.TotalImages, w.Shape(), w.SliceFrames, w.TotalImages)
			}
		}
	}
}

func TestWriteFloat32(t *testing.T) {
	v := &cine.Video{C: 1, F: 3, H: 2, W: 2, Float: []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 2047.5}, TotalImages: 3}
	p := writeTemp(t, &cine.Study{Views: map[cine.View]*cine.Video{"SAX": v}})
	got, err := Read(p, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Views["SAX"]; g.Float == nil || !reflect.DeepEqual(g.Float, v.Float) {
		t.Fatalf("float32 round trip: %+v", g)
	}
	py := testenv.Python(t, "h5py", "numpy")
	out, err := exec.Command(py, "-c", "import h5py,sys; d=h5py.File(sys.argv[1])['SAX']; print(d.dtype, float(d[0,2,1,1]))", p).Output()
	if err != nil || strings.TrimSpace(string(out)) != "float32 2047.5" {
		t.Fatalf("h5py reads %q (%v)", out, err)
	}
}

func TestWriteRejects(t *testing.T) {
	dir := t.TempDir()
	bad := map[string]*cine.Study{
		"no views":      {Views: map[cine.View]*cine.Video{}},
		"short buffer":  {Views: map[cine.View]*cine.Video{"4CH": {C: 1, F: 2, H: 2, W: 2, Pix: make([]uint8, 7)}}},
		"2 channels":    {Views: map[cine.View]*cine.Video{"4CH": cine.NewVideo(2, 2, 2, 2)}},
		"bad slices":    {Views: map[cine.View]*cine.Video{"SAX": {C: 1, F: 4, H: 1, W: 1, Pix: make([]uint8, 4), SliceFrames: []int32{2, 1}}}},
		"slash in name": {Views: map[cine.View]*cine.Video{"a/b": cine.NewVideo(1, 1, 1, 1)}},
	}
	for name, s := range bad {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".h5")
		err := Write(p, s)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: failed write left %s behind", name, p)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestWriteIsAtomic(t *testing.T) {
	// A failed rewrite must leave the previous file intact.
	p := writeTemp(t, testStudy(3))
	before, _ := os.ReadFile(p)
	err := Write(p, &cine.Study{Views: map[cine.View]*cine.Video{"4CH": {C: 1, F: 2, H: 2, W: 2, Pix: make([]uint8, 3)}}})
	if err == nil {
		t.Fatal("bad rewrite succeeded")
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(before, after) {
		t.Fatal("failed rewrite changed the existing file")
	}
}

// h5pyDump is what testdata/gen/store/h5py_dump.py prints.
type h5pyDump struct {
	H5py     string `json:"h5py"`
	HDF5     string `json:"hdf5"`
	Datasets map[string]struct {
		Shape  []int  `json:"shape"`
		Dtype  string `json:"dtype"`
		SHA256 string `json:"sha256"`
		Attrs  map[string]struct {
			Dtype string          `json:"dtype"`
			Shape []int           `json:"shape"`
			Value json.RawMessage `json:"value"`
		} `json:"attrs"`
	} `json:"datasets"`
}

// TestH5pyReadsOurFiles: libhdf5 (through h5py) reads every array and
// attribute of a file cmrfm wrote exactly as written, with the reference's
// attribute types: slice_frames int32 1-D (empty for single-slice views),
// total_images an int32 scalar.
func TestH5pyReadsOurFiles(t *testing.T) {
	py := testenv.Python(t, "h5py", "numpy")
	script := filepath.Join(testenv.RepoRoot(t), "testdata", "gen", "store", "h5py_dump.py")
	for _, c := range []int{3, 1} {
		s := testStudy(c)
		p := writeTemp(t, s)
		out, err := exec.Command(py, script, p).Output()
		if err != nil {
			t.Fatalf("h5py could not read our file: %v\n%s", err, exitStderr(err))
		}
		var d h5pyDump
		if err := json.Unmarshal(out, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Datasets) != len(s.Views) {
			t.Fatalf("h5py sees %d datasets, we wrote %d", len(d.Datasets), len(s.Views))
		}
		for name, v := range s.Views {
			ds, ok := d.Datasets[string(name)]
			if !ok {
				t.Fatalf("h5py does not see dataset %s", name)
			}
			sum := sha256.Sum256(v.Pix)
			shape := v.Shape()
			if ds.Dtype != "uint8" || !reflect.DeepEqual(ds.Shape, shape[:]) || ds.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("%s: h5py reads %s %v %s, wrote uint8 %v %x", name, ds.Dtype, ds.Shape, ds.SHA256, shape, sum)
			}
			sf := ds.Attrs["slice_frames"]
			var sfv []int32
			json.Unmarshal(sf.Value, &sfv)
			if sf.Dtype != "int32" || len(sf.Shape) != 1 || sf.Shape[0] != len(v.SliceFrames) || len(sfv) != len(v.SliceFrames) {
				t.Errorf("%s: slice_frames as h5py reads it: %s %v %s; wrote %v", name, sf.Dtype, sf.Shape, sf.Value, v.SliceFrames)
			}
			for i := range sfv {
				if sfv[i] != v.SliceFrames[i] {
					t.Errorf("%s: slice_frames[%d] = %d, wrote %d", name, i, sfv[i], v.SliceFrames[i])
				}
			}
			ti := ds.Attrs["total_images"]
			var tiv int32
			json.Unmarshal(ti.Value, &tiv)
			if ti.Dtype != "int32" || len(ti.Shape) != 0 || tiv != v.TotalImages {
				t.Errorf("%s: total_images as h5py reads it: %s shape %v value %s; wrote scalar %d", name, ti.Dtype, ti.Shape, ti.Value, v.TotalImages)
			}
		}
	}
}

func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

type fixtureFile map[string]struct {
	ShapeCFHW   []int   `json:"shape_cfhw"`
	Dtype       string  `json:"dtype"`
	SHA256      string  `json:"sha256"`
	SliceFrames []int32 `json:"slice_frames"`
	TotalImages int32   `json:"total_images"`
	Layout      string  `json:"layout"`
	First       float64 `json:"first"`
	Last        float64 `json:"last"`
}

type fixtures struct {
	H5py  string                 `json:"h5py"`
	Files map[string]fixtureFile `json:"files"`
	Bad   map[string]string      `json:"bad"`
}

func loadFixtures(t *testing.T) fixtures {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx fixtures
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	return fx
}

// TestReadH5pyFixtures reads files h5py wrote in every layout the reference
// tools produce (testdata/gen/store/make_fixtures.py) and compares each
// dataset, in (c,f,h,w) order, with the sha256 numpy computed.
func TestReadH5pyFixtures(t *testing.T) {
	fx := loadFixtures(t)
	if len(fx.Files) < 8 {
		t.Fatalf("only %d fixture files", len(fx.Files))
	}
	for fname, want := range fx.Files {
		p := filepath.Join("testdata", fname)
		s, err := Read(p, ReadOptions{})
		if err != nil {
			t.Errorf("%s: %v", fname, err)
			continue
		}
		if len(s.Views) != len(want) {
			t.Errorf("%s: %d views, want %d", fname, len(s.Views), len(want))
		}
		for key, w := range want {
			v := s.Views[cine.View(key)]
			if v == nil {
				t.Errorf("%s: no view %s", fname, key)
				continue
			}
			shape := v.Shape()
			if !reflect.DeepEqual(shape[:], w.ShapeCFHW) {
				t.Errorf("%s/%s: shape %v, want %v (stored %s)", fname, key, shape, w.ShapeCFHW, w.Layout)
			}
			var raw []byte
			switch w.Dtype {
			case "uint8":
				if v.Pix == nil {
					t.Errorf("%s/%s: not read as uint8", fname, key)
					continue
				}
				raw = v.Pix
			case "float32":
				if v.Float == nil {
					t.Errorf("%s/%s: not read as float32", fname, key)
					continue
				}
				raw = make([]byte, 4*len(v.Float))
				for i, x := range v.Float {
					binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
				}
			}
			if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != w.SHA256 {
				t.Errorf("%s/%s: pixel sha256 %x, want %s (first %v last %v; want %v %v)", fname, key, sum, w.SHA256,
					v.At(0, 0, 0, 0), v.At(v.C-1, v.F-1, v.H-1, v.W-1), w.First, w.Last)
			}
			if len(v.SliceFrames) != len(w.SliceFrames) || (len(w.SliceFrames) > 0 && !reflect.DeepEqual(v.SliceFrames, w.SliceFrames)) {
				t.Errorf("%s/%s: slice_frames %v, want %v", fname, key, v.SliceFrames, w.SliceFrames)
			}
			if v.TotalImages != w.TotalImages {
				t.Errorf("%s/%s: total_images %d, want %d", fname, key, v.TotalImages, w.TotalImages)
			}
		}
	}
}

func TestForcedLayout(t *testing.T) {
	// Forcing the wrong order on the ambiguous fixture must change the result;
	// forcing the right one must equal detection.
	p := filepath.Join("testdata", "ambiguous_3x3.h5")
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	auto, err := f.ReadVideo("2CH", LayoutAuto)
	if err != nil {
		t.Fatal(err)
	}
	right, err := f.ReadVideo("2CH", LayoutFCHW)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := f.ReadVideo("2CH", LayoutCFHW)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(auto.Pix, right.Pix) || bytes.Equal(auto.Pix, wrong.Pix) {
		t.Fatal("layout detection on identical channel planes failed")
	}
	if _, err := f.ReadVideo("2CH", LayoutFHW); err == nil {
		t.Fatal("forcing (f,h,w) on a 4-D dataset gave no error")
	}
}

// TestBadInputs: every kind of bad file gives an error that names the file
// and says what is wrong, and nothing panics.
func TestBadInputs(t *testing.T) {
	fx := loadFixtures(t)
	dir := t.TempDir()
	good := writeTemp(t, testStudy(3))
	goodBytes, _ := os.ReadFile(good)
	cases := map[string]string{} // path -> expected substring
	for name, why := range fx.Bad {
		cases[filepath.Join("testdata", name)] = why
	}
	write := func(name string, b []byte, why string) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cases[p] = why
	}
	write("empty.h5", nil, "empty file")
	write("text.h5", []byte("parent_folder,accession,split\n"), "no HDF5 signature")
	write("dicom.h5", append(make([]byte, 128), "DICM"...), "no HDF5 signature")
	write("tiny.h5", []byte("\x89HD"), "signature")
	for _, n := range []int{8, 64, 200, 600, len(goodBytes) / 2, len(goodBytes) - 100, len(goodBytes) - 1} {
		write("truncated_"+itoa(n)+".h5", goodBytes[:n], "")
	}
	cases[dir+"/missing.h5"] = "no such file"
	for p, why := range cases {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic: %v", p, r)
				}
			}()
			rep := VerifyFile(p)
			if rep.OK() {
				t.Errorf("%s: verified as good", p)
				return
			}
			msg := rep.Err.Error()
			if !strings.Contains(msg, p) {
				t.Errorf("%s: error %q does not name the file", p, msg)
			}
			if why != "" && !strings.Contains(msg, why) {
				t.Errorf("%s: error %q does not say %q", p, msg, why)
			}
			if _, err := Read(p, ReadOptions{}); err == nil {
				t.Errorf("%s: Read succeeded", p)
			}
		}()
	}
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestWriteSumMatchesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a", "b.h5")
	sum, err := WriteSum(p, testStudy(3), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if want := fmt.Sprintf("crc32c:%08x", crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))); sum != want {
		t.Fatalf("WriteSum %s, file %s", sum, want)
	}
	if fc, _ := FileChecksum(p); fc != sum {
		t.Fatalf("FileChecksum %s, WriteSum %s", fc, sum)
	}
	// One channel stored as three: the same file as three channels in memory.
	q := filepath.Join(t.TempDir(), "c.h5")
	one := testStudy(1)
	sum1, err := WriteSum(q, one, WriteOptions{Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	q3 := filepath.Join(t.TempDir(), "c3.h5")
	sum3, _ := WriteSum(q3, testStudy(3), WriteOptions{})
	if sum1 != sum3 {
		t.Fatal("a 1-channel study written with Channels 3 differs from the 3-channel study")
	}
}
