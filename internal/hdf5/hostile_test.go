package hdf5

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestHostileSizes opens the h5py files of
// testdata/gen/internal/hdf5/make_hostile.py, which declare a 10^9-frame
// video and a 3 GB one in files of a few kilobytes: reading them is a
// clear error naming the shape, before anything of that size is allocated.
func TestHostileSizes(t *testing.T) {
	for _, c := range []struct{ file, name, want string }{
		{"frames_1e9.h5", "4CH", "shape [3 1000000000 224 224] of 1-byte values is more than 4 GiB"},
		{"frames_3gb.h5", "SAX", "shape [3 20000 224 224] declares 3010560000 bytes, more than a 55232-byte file can hold"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "hostile", c.file))
		if err != nil {
			t.Fatal(err)
		}
		h, err := NewReader(strings.NewReader(string(b)), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		ds, err := h.Dataset(c.name)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err = ds.ReadRaw()
		_, err2 := ds.ReadFloat32()
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) || err2 == nil {
			t.Errorf("%s: got %v / %v, want %q", c.file, err, err2, c.want)
		}
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v wraps neither ErrFormat nor ErrUnsupported", c.file, err)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
			t.Errorf("%s: allocated %d MiB", c.file, grown>>20)
		}
	}
}
