package dicom

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// decodeBytes parses and decodes b, failing the test on a panic.
func decodeBytes(t testing.TB, name string, b []byte) (px *Pixels, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s: panic: %v", name, r)
		}
	}()
	f, err := Parse(name, b)
	if err != nil {
		return nil, err
	}
	if _, err := f.Images(); err != nil {
		return nil, err
	}
	return f.Decode(DecodeOptions{})
}

// Named errors for the corrupt inputs the issue lists.
func TestCorruptFilesGiveNamedErrors(t *testing.T) {
	cases := []struct {
		path string
		want error
	}{
		{testenv.SharedData(t, "pydicom-testfiles", "MR_truncated.dcm"), ErrTruncated},
		{testenv.SharedData(t, "pydicom-data", "emri_small_jpeg_2k_lossless_too_short.dcm"), ErrTruncated},
		{filepath.Join("testdata", "fixtures", "empty.dcm"), ErrNotDICOM},
		{filepath.Join("testdata", "fixtures", "not_dicom.dcm"), ErrNotDICOM},
		{filepath.Join("testdata", "fixtures", "absurd_dims.dcm"), ErrTooLarge},
	}
	for _, c := range cases {
		f, err := ReadFile(c.path)
		if err == nil {
			_, err = f.Decode(DecodeOptions{})
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.path, err, c.want)
			continue
		}
		var de *Error
		if !errors.As(err, &de) || de.Path != c.path || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: error %q does not name the file", c.path, err)
		}
		t.Logf("%v", err)
	}
}

// Every prefix of real files, compressed or not, parses and decodes to a
// named error (or, past the pixel data, succeeds) — never a panic.
func TestTruncatedAtEveryLength(t *testing.T) {
	files := []string{
		testenv.SharedData(t, "pydicom-testfiles", "MR_small.dcm"),
		testenv.SharedData(t, "pydicom-testfiles", "MR_small_RLE.dcm"),
		testenv.SharedData(t, "pydicom-testfiles", "MR_small_jp2klossless.dcm"),
		testenv.SharedData(t, "pydicom-testfiles", "MR_small_jpeg_ls_lossless.dcm"),
		testenv.SharedData(t, "pydicom-testfiles", "MR_small_implicit.dcm"),
		testenv.SharedData(t, "pydicom-testfiles", "MR_small_bigendian.dcm"),
		filepath.Join("testdata", "fixtures", "mr_small_jpeg_p14_sv6.dcm"),
		filepath.Join("testdata", "fixtures", "heart_ybr_jpeg.dcm"),
		filepath.Join("testdata", "fixtures", "heart_jpeg_baseline.dcm"),
		filepath.Join("testdata", "fixtures", "sax_enhanced.dcm"),
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		full, err := decodeBytes(t, p, b)
		if errors.Is(err, ErrUnsupportedTransferSyntax) && !CodecsCompiledIn {
			continue // built with -tags cmrfm_nocodecs
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		step := max(1, len(b)/3000)
		for n := 0; n < len(b); n += step {
			px, err := decodeBytes(t, p, b[:n])
			if err != nil {
				var de *Error
				if !errors.As(err, &de) {
					t.Fatalf("%s[:%d]: error %v is not a *dicom.Error", p, n, err)
				}
				if !anySentinel(err) {
					t.Fatalf("%s[:%d]: error %v wraps no sentinel", p, n, err)
				}
				continue
			}
			// Decoding a prefix may only succeed once all pixel data is in.
			if len(px.Data) != len(full.Data) {
				t.Fatalf("%s[:%d]: decoded %d samples, full file %d", p, n, len(px.Data), len(full.Data))
			}
		}
	}
}

func anySentinel(err error) bool {
	for _, s := range []error{ErrNotDICOM, ErrTruncated, ErrMalformed, ErrNoPixelData, ErrUnsupportedTransferSyntax,
		ErrUnsupportedPixelFormat, ErrBadPixelModule, ErrTooLarge, ErrCorruptFrame} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// Flipping bytes of compressed frames gives errors or wrong pixels, never a
// panic or a runaway allocation.
func TestCorruptedFramesDoNotPanic(t *testing.T) {
	files := []string{
		testenv.SharedData(t, "pydicom-data", "emri_small_jpeg_2k_lossless.dcm"),
		testenv.SharedData(t, "pydicom-data", "emri_small_jpeg_ls_lossless.dcm"),
		testenv.SharedData(t, "pydicom-data", "emri_small_RLE.dcm"),
		filepath.Join("testdata", "fixtures", "emri_small_jpeg_sv1.dcm"),
		filepath.Join("testdata", "fixtures", "emri_small_jpeg_extended.dcm"),
		filepath.Join("testdata", "fixtures", "heart_ybr_jpeg.dcm"),
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 100; k++ {
			c := append([]byte(nil), b...)
			// corrupt 4 bytes in the second half (the pixel data)
			for j := 0; j < 4; j++ {
				i := len(c)/2 + (k*7919+j*104729)%(len(c)/2)
				c[i] ^= byte(1 + (k+j)%255)
			}
			decodeBytes(t, p, c)
		}
	}
}

// A syntax without a decoder is an error naming the UID and the file; with
// the GDCM fallback the same file decodes to the reference pixels.
func TestUnsupportedSyntaxAndGDCMFallback(t *testing.T) {
	p := testenv.SharedData(t, "pydicom-testfiles", "MR_small_jp2klossless.dcm")
	f, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Decode(DecodeOptions{Decoders: Decoders{}})
	if !errors.Is(err, ErrUnsupportedTransferSyntax) || !strings.Contains(err.Error(), JPEG2000Lossless) || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v: want ErrUnsupportedTransferSyntax naming %s and the file", err, JPEG2000Lossless)
	}
	t.Logf("%v", err)
	testenv.Tool(t, "gdcmconv")
	px, err := f.Decode(DecodeOptions{Decoders: Decoders{}, GDCMFallback: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := md5hex(px.StoredBytes()); got != "dc9943d2b303bf18ab512dfdd6df0559" { // SOURCE.md oracle
		t.Errorf("GDCM fallback md5 %s", got)
	}
	if _, err := exec.LookPath("gdcmconv"); err != nil {
		t.Fatal(err)
	}
}

// Known attributes written with VR UN (as some converters do) are read with
// the dictionary's VR, sequences included.
func TestExplicitUNUsesDictionaryVR(t *testing.T) {
	// (0028,0010) Rows as UN = 64; a UN-encoded (0008,1140) sequence with one
	// implicit-VR item holding (0008,1150) "1.2".
	le := func(v ...uint16) []byte {
		var b []byte
		for _, x := range v {
			b = append(b, byte(x), byte(x>>8))
		}
		return b
	}
	var ds []byte
	item := append(le(0x0008, 0x1150), 4, 0, 0, 0)
	item = append(item, "1.2\x00"...)
	seq := append(append(le(0xFFFE, 0xE000), byte(len(item)), 0, 0, 0), item...)
	ds = append(ds, le(0x0008, 0x1140)...)
	ds = append(ds, 'U', 'N', 0, 0, byte(len(seq)), 0, 0, 0)
	ds = append(ds, seq...)
	ds = append(ds, le(0x0028, 0x0010)...)
	ds = append(ds, 'U', 'N', 0, 0, 2, 0, 0, 0, 64, 0)
	meta := append(le(0x0002, 0x0010), 'U', 'I', 20, 0)
	meta = append(meta, "1.2.840.10008.1.2.1\x00"...)
	file := append(append(make([]byte, 128), "DICM"...), meta...)
	file = append(file, ds...)
	f, err := Parse("un", file)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := f.DataSet.Int(TagRows); !ok || r != 64 {
		t.Errorf("Rows = %d, %v; want 64", r, ok)
	}
	items := f.DataSet.Seq(0x00081140)
	if len(items) != 1 || items[0].String(0x00081150) != "1.2" {
		t.Errorf("UN sequence items %v", items)
	}
}
