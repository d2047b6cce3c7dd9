package dicom

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestHostileSizes reads the pydicom files of
// testdata/gen/dicom/make_hostile.py: an element whose length field says
// 4 GB in a 400-byte file (dcmtk: "larger (4294967280) than remaining
// bytes"), and NumberOfFrames 10^9 over one native frame or two RLE
// fragments. Each is a clear error, before anything of the declared size
// is allocated.
func TestHostileSizes(t *testing.T) {
	for _, c := range []struct {
		file string
		want string
		is   error
	}{
		{"element_4gb.dcm", "declares 4294967280 bytes", ErrTruncated},
		{"frames_1e9.dcm", "NumberOfFrames 1000000000 of 64x64 at 16 bits need 8192000000000 bytes; pixel data holds 8192", ErrTruncated},
		{"frames_1e9_rle.dcm", "NumberOfFrames 1000000000 but 2 pixel data fragments", ErrTruncated},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f, err := ReadFile(filepath.Join("testdata", "hostile", c.file))
		if err == nil {
			_, err = f.Images()
			if _, derr := f.Decode(DecodeOptions{}); derr == nil {
				t.Errorf("%s: decoded", c.file)
			}
		}
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, c.is) {
			t.Errorf("%s: got %v, want %q", c.file, err, c.want)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
			t.Errorf("%s: allocated %d MiB", c.file, grown>>20)
		}
	}
}
