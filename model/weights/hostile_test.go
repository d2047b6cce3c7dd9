package weights

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestHostileTorch loads the hostile checkpoints written by
// testdata/gen/model/weights/make_hostile.py with Debian's torch and pickle:
// no code runs, no allocation follows a declared size the file does not
// hold, cycles and deep nesting end in errors, and every outcome is an
// error naming the problem (or, for a pickle that only carries a harmless
// extra object, the tensors).
func TestHostileTorch(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "hostile"))
	if err != nil {
		t.Fatal(err)
	}
	cwd := t.TempDir()
	t.Chdir(cwd) // the pickles' os.system("touch PWNED-by-pickle") would land here
	cases := []struct{ file, want string }{
		{"rce.pt", ""},
		{"rce_legacy.pt", ""},
		{"bytes8.pt", "data of 274877906944 bytes"},
		{"frame.pt", "frame of 1099511627776 bytes"},
		{"storage.pt", "8 bytes for 68719476736 F32 elements"},
		{"cycle.pt", "nested more than"},
		{"deep.pt", "nested more than 64 deep"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s, err := ReadTorch(filepath.Join(dir, c.file))
			runtime.ReadMemStats(&after)
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 256<<20 {
				t.Errorf("allocated %d MiB", grown>>20)
			}
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				w, err := s.Tensors["w"].Float32()
				if err != nil || len(w) != 6 || w[5] != 5 {
					t.Fatalf("tensor w: %v %v", w, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(cwd, "PWNED-by-pickle")); err == nil {
		t.Fatal("a pickle ran os.system")
	}
}

// TestHostileSafetensors: a header declaring a tensor of 2^60 elements (the
// shape product overflowing int) and one whose offsets claim more data than
// the file holds are refused with the tensor's name.
func TestHostileSafetensors(t *testing.T) {
	mk := func(hdr string, data int) []byte {
		b := make([]byte, 8, 8+len(hdr)+data)
		binary.LittleEndian.PutUint64(b, uint64(len(hdr)))
		b = append(b, hdr...)
		return append(b, make([]byte, data)...)
	}
	for _, c := range []struct{ hdr, want string }{
		{`{"w":{"dtype":"F32","shape":[1073741824,1073741824,16],"data_offsets":[0,0]}}`, `tensor "w": shape [1073741824 1073741824 16] has more than 2^40 elements`},
		{`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, `tensor "w": shape`},
		{`{"w":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}`, `tensor "w": data offsets`},
	} {
		if _, err := ParseSafetensors(mk(c.hdr, 16)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.hdr, err, c.want)
		}
	}
}
