package weights

import (
	"os"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F, patterns ...string) {
	n := 0
	for _, p := range patterns {
		files, _ := filepath.Glob(p)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seed files for %v", patterns)
	}
}

// FuzzTorch feeds mutated torch.save files (zip and legacy, hostile ones
// included) to the reader: errors are fine; panics, unbounded allocation
// and endless recursion are not.
func FuzzTorch(f *testing.F) {
	addSeeds(f, "testdata/*.pt", "testdata/hostile/*.pt")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := readTorchBytes("fuzz", b)
		if err != nil {
			return
		}
		for _, tt := range s.Tensors {
			if n, err := checkedElements(tt.Shape); err != nil || n*tt.DType.Size() != len(tt.Data) {
				t.Fatalf("tensor %s: %v %s with %d bytes", tt.Name, tt.Shape, tt.DType, len(tt.Data))
			}
		}
	})
}

// FuzzSafetensors feeds mutated safetensors files to the parser; every
// tensor it accepts holds exactly its shape's bytes.
func FuzzSafetensors(f *testing.F) {
	addSeeds(f, "testdata/*.safetensors")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSafetensors(b)
		if err != nil {
			return
		}
		for _, tt := range s.Tensors {
			if n, err := checkedElements(tt.Shape); err != nil || n*tt.DType.Size() != len(tt.Data) {
				t.Fatalf("tensor %s: %v %s with %d bytes", tt.Name, tt.Shape, tt.DType, len(tt.Data))
			}
			tt.Float32()
		}
	})
}

// FuzzNPZ feeds mutated .npz archives (and their .npy members) to the reader.
func FuzzNPZ(f *testing.F) {
	addSeeds(f, "testdata/*.npz", "testdata/*.npy")
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseNPY("fuzz", b)
		parseNPZBytes(b)
	})
}
