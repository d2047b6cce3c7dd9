package gomlxtest

import (
	"fmt"
	"math"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

// GoConfig is the Go backend in its default mode.
const GoConfig = gobackend.BackendName

var (
	once    sync.Once
	backend compute.Backend
	initErr error
)

// Backend returns the shared test backend: the pure-Go backend, unless
// $GOMLX_BACKEND names another registered backend. It fails the test if the
// backend cannot be built.
func Backend(t testing.TB) compute.Backend {
	t.Helper()
	once.Do(func() {
		cfg := os.Getenv(compute.ConfigEnvVar)
		if cfg == "" {
			cfg = GoConfig
		}
		defer func() {
			if r := recover(); r != nil {
				initErr = fmt.Errorf("gomlxtest: backend %q: %v", cfg, r)
			}
		}()
		backend, initErr = compute.NewWithConfig(cfg)
	})
	if initErr != nil {
		t.Fatal(initErr)
	}
	return backend
}

// Diff summarises the difference between two equally long float slices.
type Diff struct {
	MaxAbs  float64 // largest |got-want|
	MaxRel  float64 // largest |got-want| / max(|want|, tiny)
	MeanAbs float64 // mean |got-want|
	ArgMax  int     // index of the largest absolute difference
	NaNs    int     // positions where exactly one side is NaN
}

func (d Diff) String() string {
	return fmt.Sprintf("max|Δ|=%.3g (at %d) mean|Δ|=%.3g max rel=%.3g NaNs=%d", d.MaxAbs, d.ArgMax, d.MeanAbs, d.MaxRel, d.NaNs)
}

// Compare returns the difference statistics between got and want.
func Compare(got, want []float32) Diff {
	var d Diff
	if len(got) != len(want) {
		d.MaxAbs = math.Inf(1)
		return d
	}
	var sum float64
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) {
			d.NaNs++
			continue
		}
		a := math.Abs(g - w)
		sum += a
		if a > d.MaxAbs {
			d.MaxAbs, d.ArgMax = a, i
		}
		if r := a / math.Max(math.Abs(w), 1e-30); a > 0 && r > d.MaxRel {
			d.MaxRel = r
		}
	}
	if len(got) > 0 {
		d.MeanAbs = sum / float64(len(got))
	}
	return d
}

// AssertClose fails the test when any element differs by more than
// atol + rtol·|want|, after logging the difference statistics under name.
func AssertClose(t testing.TB, name string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values, want %d", name, len(got), len(want))
		return
	}
	d := Compare(got, want)
	bad, first := 0, -1
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.IsNaN(w) || math.Abs(g-w) > atol+rtol*math.Abs(w) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	t.Logf("%s: %d values, %s", name, len(got), d)
	if bad > 0 {
		t.Errorf("%s: %d of %d values outside atol=%g rtol=%g; first at %d: got %g want %g",
			name, bad, len(got), atol, rtol, first, got[first], want[first])
	}
}

// LoadGolden reads a golden tensor file (safetensors, npz, PyTorch) or
// fails the test.
func LoadGolden(t testing.TB, path string) *weights.Set {
	t.Helper()
	s, err := weights.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// GoldenF32 returns the named tensor of a golden set as float32 values, or
// fails the test naming the missing tensor.
func GoldenF32(t testing.TB, set *weights.Set, name string) []float32 {
	t.Helper()
	tt, ok := set.Tensors[name]
	if !ok {
		t.Fatalf("golden has no tensor %q", name)
	}
	v, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// CPUSeconds is the user + system CPU time of this process so far (all
// threads); benchmarks report its increase per operation, which is steadier
// than wall time on a machine shared with other jobs.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
