package ops

import (
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"

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

// benchMatMul times [m,k]·[k,n] with both operands in dtype (converted
// before the timer), as a bf16 inference mode would run the models'
// products.
func benchMatMul(b *testing.B, dt dtypes.DType, m, k, n int) {
	be := gomlxtest.Backend(b)
	conv := func(t *tensors.Tensor) *tensors.Tensor {
		return graph.MustExecOnce(be, func(x *graph.Node) *graph.Node { return graph.ConvertDType(x, dt) }, t)
	}
	x, w := conv(randTensor(1, m, k)), conv(randScaled(2, 0.05, k, n))
	exec := graph.MustNewExec(be, func(x, w *graph.Node) *graph.Node {
		return graph.DotGeneral(x, []int{1}, nil, w, []int{0}, nil)
	})
	exec.MustCall(x, w)
	b.ResetTimer()
	cpu0 := gomlxtest.CPUSeconds()
	for b.Loop() {
		exec.MustCall(x, w)
	}
	b.ReportMetric((gomlxtest.CPUSeconds()-cpu0)/float64(b.N)*1000, "cpu-ms/op")
	b.ReportMetric(2*float64(m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkMatMulPrecision compares float32 and bfloat16 products of
// MViT-B's MLP (block 0: 25089 tokens, 96 → 384) and BERT-base's FFN
// (1024 tokens, 768 → 3072) shapes: the measurement behind leaving a bf16
// inference mode out (docs/benchmarks.md).
func BenchmarkMatMulPrecision(b *testing.B) {
	for _, s := range []struct {
		name    string
		m, k, n int
	}{{"mvit-mlp", 25089, 96, 384}, {"bert-ffn", 1024, 768, 3072}} {
		for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.BFloat16} {
			b.Run(s.name+"/"+dt.String(), func(b *testing.B) { benchMatMul(b, dt, s.m, s.k, s.n) })
		}
	}
}

// BenchmarkMatMulLayout compares the weight layouts of a linear layer at
// BERT-base's FFN shape (1024 tokens, 768 → 3072) and MViT-B's first MLP
// (25089 tokens, 96 → 384): [in, out] (x·W, the layout model/bert
// stores), PyTorch's [out, in] (x·Wᵀ, as model/mvit stores), and [out, in]
// transposed in the graph before an [in, out] product.
func BenchmarkMatMulLayout(b *testing.B) {
	be := gomlxtest.Backend(b)
	for _, s := range []struct {
		name    string
		m, k, n int
	}{{"bert-ffn", 1024, 768, 3072}, {"mvit-mlp", 25089, 96, 384}} {
		x := randTensor(1, s.m, s.k)
		for _, l := range []string{"in-out", "out-in", "out-in-transposed"} {
			w := randScaled(2, 0.05, s.k, s.n)
			if l != "in-out" {
				w = randScaled(2, 0.05, s.n, s.k)
			}
			b.Run(s.name+"/"+l, func(b *testing.B) {
				exec := graph.MustNewExec(be, func(x, w *graph.Node) *graph.Node {
					switch l {
					case "out-in":
						return graph.DotGeneral(x, []int{1}, nil, w, []int{1}, nil)
					case "out-in-transposed":
						w = graph.TransposeAllAxes(w, 1, 0)
					}
					return graph.DotGeneral(x, []int{1}, nil, w, []int{0}, nil)
				})
				exec.MustCall(x, w)
				b.ResetTimer()
				cpu0 := gomlxtest.CPUSeconds()
				for b.Loop() {
					exec.MustCall(x, w)
				}
				b.ReportMetric((gomlxtest.CPUSeconds()-cpu0)/float64(b.N)*1000, "cpu-ms/op")
			})
		}
	}
}
