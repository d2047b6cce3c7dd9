package hdf5

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds mutated h5py files to the reader: it may return errors but
// must never panic or allocate without bound.
func FuzzRead(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "store", "testdata", "*.h5"))
	if len(seeds) == 0 {
		f.Fatal("no seed files in store/testdata")
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		ms, err := h.Members()
		if err != nil {
			return
		}
		for _, m := range ms {
			ds, err := h.Dataset(m.Name)
			if err != nil {
				continue
			}
			if ds.Len() > 1<<22 {
				continue
			}
			ds.ReadRaw()
			for _, a := range ds.Attrs {
				a.Float64s()
			}
		}
	})
}

func TestLZFDecompress(t *testing.T) {
	// Hand-assembled stream: literal "abc", then a back-reference of length
	// 7+2 (ctrl 0xE0 | dist-high 0, extra length 2 → n = 9, copy 11) at
	// distance 3, giving "abc" repeated.
	in := []byte{0x02, 'a', 'b', 'c', 0xE0, 0x02, 0x02}
	got, err := lzfDecompress(in, 14)
	if err != nil {
		t.Fatal(err)
	}
	if want := "abcabcabcabcab"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := lzfDecompress([]byte{0x05, 'a'}, 10); err == nil {
		t.Fatal("truncated literal accepted")
	}
	if _, err := lzfDecompress([]byte{0x20, 0x05}, 10); err == nil {
		t.Fatal("back-reference before start accepted")
	}
}
