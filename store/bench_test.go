package store

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/testenv"
)

// benchStudy is the benchmark study: 4 views of uint8 (3, 50, 224, 224).
func benchStudy() *cine.Study {
	s := &cine.Study{Views: map[cine.View]*cine.Video{}}
	for i, name := range cine.Views() {
		v := cine.NewVideo(3, 50, 224, 224)
		for k := range v.Pix {
			v.Pix[k] = uint8(k*7 + i)
		}
		v.SliceFrames = []int32{9, 19, 29, 39}
		s.Views[name] = v
	}
	return s
}

const benchBytes = 4 * 3 * 50 * 224 * 224

func BenchmarkWrite(b *testing.B) {
	s := benchStudy()
	p := filepath.Join(b.TempDir(), "site_p", "s.h5")
	b.SetBytes(benchBytes)
	for b.Loop() {
		if err := Write(p, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	p := filepath.Join(b.TempDir(), "site_p", "s.h5")
	if err := Write(p, benchStudy()); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchBytes)
	for b.Loop() {
		if _, err := Read(p, ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadFloat32Gzip reads the paper-era toolkit's format (float32,
// gzip level 4) written by h5py; bytes count uint8-equivalent pixels, as in
// the h5py side.
func BenchmarkReadFloat32Gzip(b *testing.B) {
	py := testenv.Python(b, "h5py", "numpy")
	p := filepath.Join(b.TempDir(), "ref.h5")
	script := `
import sys, h5py, numpy as np
rng = np.random.default_rng(1)
g = rng.integers(0, 256, size=(50, 224, 224), dtype=np.uint8)
a = np.repeat(g[None], 3, axis=0).astype("f4")
with h5py.File(sys.argv[1], "w") as f:
    for v in ["4CH", "3CH", "2CH", "SAX"]:
        d = f.create_dataset(v, data=a, compression="gzip")
        d.attrs.create("slice_frames", np.array([9, 19, 29, 39], np.int32), dtype="i")
        d.attrs.create("total_images", 50, dtype="i")
`
	if out, err := exec.Command(py, "-c", script, p).CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	b.SetBytes(benchBytes)
	for b.Loop() {
		if _, err := Read(p, ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkH5py runs bench/store/h5py_bench.py in the same run and
// reports h5py's MB/s on the same study as metrics (one iteration measures
// several repeats; ns/op is meaningless here).
func BenchmarkH5py(b *testing.B) {
	py := testenv.Python(b, "h5py", "numpy")
	script := filepath.Join(testenv.RepoRoot(b), "bench", "store", "h5py_bench.py")
	var res struct {
		U8  map[string]float64 `json:"uint8_contiguous"`
		F32 map[string]float64 `json:"float32_gzip4"`
	}
	for b.Loop() {
		out, err := exec.Command(py, script, b.TempDir(), "3").Output()
		if err != nil {
			b.Fatalf("%v\n%s", err, exitStderr(err))
		}
		if err := json.Unmarshal(out, &res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(res.U8["write_MBps"], "h5py-uint8-write-MB/s")
	b.ReportMetric(res.U8["read_MBps"], "h5py-uint8-read-MB/s")
	b.ReportMetric(res.F32["write_MBps"], "h5py-f32gzip-write-MB/s")
	b.ReportMetric(res.F32["read_MBps"], "h5py-f32gzip-read-MB/s")
}
