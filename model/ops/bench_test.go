package ops

import (
	"syscall"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// benchOp times fn on inputs (compiled once) and reports CPU ms per call.
func benchOp(b *testing.B, fn func(in []*graph.Node) *graph.Node, inputs ...*tensors.Tensor) {
	exec := graph.MustNewExec(gomlxtest.Backend(b), fn)
	args := anys(inputs)
	exec.MustCall(args...)
	b.ResetTimer()
	var r0, r1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	for b.Loop() {
		exec.MustCall(args...)
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
	b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
}

// MViT-B block 1 query pooling: 2 heads × 96 channels on 8×56×56, stride (1,2,2).
var benchQPool = Window{[3]int{3, 3, 3}, [3]int{1, 2, 2}, [3]int{1, 1, 1}}

func benchDepthwise(b *testing.B, impl Impl) {
	benchOp(b, func(in []*graph.Node) *graph.Node { return DepthwiseConv3D(in[0], in[1], benchQPool, impl) },
		randTensor(1, 1, 8, 56, 56, 192), randTensor(2, 192, 1, 3, 3, 3))
}

func BenchmarkDepthwiseConv3DComposed(b *testing.B) { benchDepthwise(b, Composed) }
func BenchmarkDepthwiseConv3DGeneric(b *testing.B)  { benchDepthwise(b, Generic) }

// MViT's patch embedding (3×7×7, stride 2×4×4) on a quarter of a clip (1×3×8×112×112).
func benchConv(b *testing.B, impl Impl) {
	w := Window{[3]int{3, 7, 7}, [3]int{2, 4, 4}, [3]int{1, 3, 3}}
	benchOp(b, func(in []*graph.Node) *graph.Node { return Conv3D(in[0], in[1], in[2], w, impl) },
		randTensor(3, 1, 3, 8, 112, 112), randScaled(4, 0.05, 96, 3, 3, 7, 7), randTensor(5, 96))
}

func BenchmarkConv3DComposed(b *testing.B) { benchConv(b, Composed) }
func BenchmarkConv3DGeneric(b *testing.B)  { benchConv(b, Generic) }

// MViT-B block 1 skip pooling: 192 channels on 8×56×56, kernel (1,3,3) stride (1,2,2).
func benchMaxPool(b *testing.B, impl Impl) {
	w := Window{[3]int{1, 3, 3}, [3]int{1, 2, 2}, [3]int{0, 1, 1}}
	benchOp(b, func(in []*graph.Node) *graph.Node { return MaxPool3D(in[0], w, impl) }, randTensor(6, 1, 8, 56, 56, 192))
}

func BenchmarkMaxPool3DComposed(b *testing.B) { benchMaxPool(b, Composed) }
func BenchmarkMaxPool3DGeneric(b *testing.B)  { benchMaxPool(b, Generic) }
