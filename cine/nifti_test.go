package cine

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestReadNIfTISmall reads the files testdata/gen/cine/make_nifti_seeds.py
// wrote field by field from the NIfTI-1/2 specifications, whose voxel
// (x, y, z, t) holds (x + 3y + 7z + 11t) mod 251 (×10 for int16, /4 for
// float32), in both byte orders and gzip-compressed.
func TestReadNIfTISmall(t *testing.T) {
	for _, c := range []struct {
		file           string
		nx, ny, nz, nt int
		scale          float32
	}{
		{"small_u8.nii", 8, 6, 3, 4, 1},
		{"small_i16_be.nii", 8, 6, 2, 3, 10},
		{"small_f32.nii.gz", 6, 5, 2, 2, 0.25},
		{"small2_u8.nii", 4, 4, 2, 2, 1},
	} {
		v, err := ReadNIfTI(filepath.Join("testdata", "nifti", c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if v.NX != c.nx || v.NY != c.ny || v.NZ != c.nz || v.NT != c.nt {
			t.Fatalf("%s: %dx%dx%dx%d", c.file, v.NX, v.NY, v.NZ, v.NT)
		}
		i := 0
		for tt := range c.nt {
			for z := range c.nz {
				for y := range c.ny {
					for x := range c.nx {
						want := float32((x+3*y+7*z+11*tt)%251) * c.scale
						if v.Data[i] != want {
							t.Fatalf("%s: voxel (%d,%d,%d,%d) = %g, want %g", c.file, x, y, z, tt, v.Data[i], want)
						}
						i++
					}
				}
			}
		}
	}
}

// TestReadNIfTIHostileSizes: headers declaring 10^9 time points or 32767^4
// voxels over 64 bytes of data are refused, naming the dimensions, before
// anything of that size is allocated.
func TestReadNIfTIHostileSizes(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"huge_t.nii", "dimensions [64 64 10 1000000000] declare more than"},
		{"huge_dims.nii", "dimensions [32767 32767 32767 32767] declare more than"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ReadNIfTI(filepath.Join("testdata", "nifti", c.file))
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.file, err, c.want)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
			t.Errorf("%s: allocated %d MiB", c.file, grown>>20)
		}
	}
	// A header whose dimensions fit the limits but not the file.
	b, err := os.ReadFile(filepath.Join("testdata", "nifti", "small_u8.nii"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeNIfTI("cut.nii", bytes.NewReader(b[:600])); err == nil || !strings.Contains(err.Error(), "need 576 bytes after the header; the file has 248") {
		t.Errorf("truncated: %v", err)
	}
}

// FuzzReadNIfTI feeds mutated NIfTI files (both versions, byte orders,
// gzip) to the reader.
func FuzzReadNIfTI(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "nifti", "*"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if len(files) == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeNIfTI("fuzz", bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(v.Data) != v.NX*v.NY*v.NZ*v.NT {
			t.Fatalf("%d voxels for %dx%dx%dx%d", len(v.Data), v.NX, v.NY, v.NZ, v.NT)
		}
	})
}
