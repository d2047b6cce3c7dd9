package ops

import (
	"fmt"
	"os"
	"strings"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // registers the pure-Go backend
	"github.com/gomlx/gomlx/core/graph"
)

// Impl selects how an op is built.
type Impl int

const (
	// Auto uses GoMLX's generic op on XLA backends and the composition elsewhere.
	Auto Impl = iota
	// Composed always uses the slice/matmul composition.
	Composed
	// Generic always uses GoMLX's generic op (ConvGeneral, ReduceWindow).
	Generic
)

func (i Impl) String() string {
	switch i {
	case Auto:
		return "auto"
	case Composed:
		return "composed"
	case Generic:
		return "generic"
	}
	return fmt.Sprintf("Impl(%d)", int(i))
}

// generic reports whether the generic op should be built in g.
func (i Impl) generic(g *graph.Graph) bool {
	switch i {
	case Generic:
		return true
	case Composed:
		return false
	}
	return IsXLA(g.Backend())
}

// IsXLA reports whether b is an XLA (PJRT) backend.
func IsXLA(b compute.Backend) bool {
	return b != nil && strings.HasPrefix(strings.ToLower(b.Name()), "xla")
}

// DefaultBackendConfig is used by [NewBackend] when neither its argument nor
// $GOMLX_BACKEND names a backend: the pure-Go backend in its default mode,
// which runs independent graph nodes concurrently when a single graph
// executes (each matmul, softmax, GELU… also uses every core).
//
// compute v0.1.2 could deadlock in that mode (concurrent multi-threaded
// matmuls each holding a worker-pool slot while waiting for more), so cmrfm
// used "go:ops_sequential" until the engine upgrade; v0.1.14 starts its
// executors only on free slots, and TestParallelExecutionCompletes runs the
// old reproduction.
const DefaultBackendConfig = "go"

// DefaultInferenceBackendConfig is used by [NewInferenceBackend]: the pure-Go
// backend with its ops run one after another, so that each large op (a
// matmul above all) gets every core. In the default mode the executors that
// run independent ops side by side hold worker slots, and a single large
// matmul then stays on one core: measured on 2 cores, ops_sequential makes
// the MViT-B 16×4 forward 1.28–1.41 s instead of 1.64–1.79 s and the
// BERT-base forward 0.74–0.76 s instead of 1.06–1.14 s, while training steps
// (many small ops, some independent) are faster in the default mode
// (docs/benchmarks.md).
const DefaultInferenceBackendConfig = "go:ops_sequential"

// NewInferenceBackend is [NewBackend] for inference-only work (forward,
// predict, embed, explain, search): an empty config falls back to
// $GOMLX_BACKEND, then to [DefaultInferenceBackendConfig].
func NewInferenceBackend(config string) (compute.Backend, error) {
	if config == "" && os.Getenv(compute.ConfigEnvVar) == "" {
		config = DefaultInferenceBackendConfig
	}
	return NewBackend(config)
}

// NewBackend builds a GoMLX backend from config ("go", "xla:cuda", …); an
// empty config falls back to $GOMLX_BACKEND, then to the pure-Go backend.
// Backends other than "go" must be compiled in with a blank import.
func NewBackend(config string) (b compute.Backend, err error) {
	if config == "" {
		config = os.Getenv(compute.ConfigEnvVar)
	}
	if config == "" {
		config = DefaultBackendConfig
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("ops: backend %q: %v (compiled-in backends: %v)", config, r, compute.List())
		}
	}()
	b, err = compute.NewWithConfig(config)
	if err != nil {
		return nil, fmt.Errorf("ops: backend %q: %w", config, err)
	}
	return b, nil
}

// outSize is the output length of a window op along one axis.
func outSize(in, kernel, stride, padLo, padHi int) int {
	return (in+padLo+padHi-kernel)/stride + 1
}

// Window describes a 3-D sliding window: kernel size, stride and symmetric
// zero padding per axis (T, H, W), as in PyTorch's Conv3d/MaxPool3d.
type Window struct {
	Kernel, Stride, Padding [3]int
}

// OutDims returns the output (T, H, W) for input dims (t, h, w).
func (w Window) OutDims(t, h, wd int) [3]int {
	in := [3]int{t, h, wd}
	var o [3]int
	for i := range 3 {
		o[i] = outSize(in[i], w.Kernel[i], w.Stride[i], w.Padding[i], w.Padding[i])
	}
	return o
}

func (w Window) check(op string, t, h, wd int) {
	in := [3]int{t, h, wd}
	for i := range 3 {
		if w.Kernel[i] < 1 || w.Stride[i] < 1 || w.Padding[i] < 0 {
			panic(fmt.Sprintf("ops.%s: invalid window %+v", op, w))
		}
		if in[i]+2*w.Padding[i] < w.Kernel[i] {
			panic(fmt.Sprintf("ops.%s: axis %d has %d elements (+2×%d padding), smaller than the kernel %d",
				op, i, in[i], w.Padding[i], w.Kernel[i]))
		}
	}
}

// taps calls fn for every kernel offset (a, b, c) in raster order with the
// strided slice of the padded input xp (axes 1, 2, 3 are T, H, W) that the
// offset contributes to every output position.
func taps(xp *graph.Node, w Window, out [3]int, fn func(a, b, c int, s *graph.Node)) {
	for a := range w.Kernel[0] {
		for b := range w.Kernel[1] {
			for c := range w.Kernel[2] {
				s := graph.Slice(xp,
					graph.AxisRange(),
					graph.AxisRange(a, a+(out[0]-1)*w.Stride[0]+1).Stride(w.Stride[0]),
					graph.AxisRange(b, b+(out[1]-1)*w.Stride[1]+1).Stride(w.Stride[1]),
					graph.AxisRange(c, c+(out[2]-1)*w.Stride[2]+1).Stride(w.Stride[2]),
					graph.AxisRange())
				fn(a, b, c, s)
			}
		}
	}
}

// padChannelsLast pads axes 1..3 of a [N, T, H, W, C] tensor with value, in
// one Pad node (differentiable since GoMLX v0.28.16; v0.28.2's had no
// gradient, and three block concatenations stood in for it).
func padChannelsLast(x *graph.Node, p [3]int, value *graph.Node) *graph.Node {
	if p == [3]int{} {
		return x
	}
	axes := make([]compute.PadAxis, x.Rank())
	for i, n := range p {
		axes[i+1] = compute.PadAxis{Start: n, End: n}
	}
	return graph.Pad(x, graph.ConvertDType(value, x.DType()), axes...)
}
