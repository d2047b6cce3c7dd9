package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// randTensor returns a tensor of normal(0,1) values from a fixed seed.
func randTensor(seed uint64, dims ...int) *tensors.Tensor { return randScaled(seed, 1, dims...) }

// randScaled returns a tensor of normal(0,σ²) values from a fixed seed.
func randScaled(seed uint64, sigma float64, dims ...int) *tensors.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(sigma * r.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

func flat(t *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](t) }

// valueAndGrads runs op on inputs and returns its output followed by the
// gradients of Σ(output·r) with respect to every input (r is a fixed random
// tensor shaped like the output, appended as the last argument).
func valueAndGrads(t *testing.T, op func(in []*graph.Node) *graph.Node, inputs ...*tensors.Tensor) [][]float32 {
	t.Helper()
	be := gomlxtest.Backend(t)
	// First pass: output shape, to build r.
	y := graph.MustExecOnce(be, func(in []*graph.Node) *graph.Node { return op(in) }, anys(inputs)...)
	r := randTensor(99, y.Shape().Dimensions...)
	outs := graph.MustExecOnceN(be, func(in []*graph.Node) []*graph.Node {
		xs := in[:len(in)-1]
		out := op(xs)
		loss := graph.ReduceAllSum(graph.Mul(out, in[len(in)-1]))
		return append([]*graph.Node{out}, graph.Gradient(loss, xs...)...)
	}, append(anys(inputs), r)...)
	res := make([][]float32, len(outs))
	for i, o := range outs {
		res[i] = flat(o)
	}
	return res
}

func anys(ts []*tensors.Tensor) []any {
	a := make([]any, len(ts))
	for i, t := range ts {
		a[i] = t
	}
	return a
}

func compareImpls(t *testing.T, name string, op func(impl Impl) func(in []*graph.Node) *graph.Node, inputs ...*tensors.Tensor) {
	t.Helper()
	gen := valueAndGrads(t, op(Generic), inputs...)
	com := valueAndGrads(t, op(Composed), inputs...)
	labels := []string{"value"}
	for i := range inputs {
		labels = append(labels, fmt.Sprintf("grad[%d]", i))
	}
	for i := range gen {
		gomlxtest.AssertClose(t, name+" "+labels[i], com[i], gen[i], 1e-5, 1e-5)
	}
}

func TestConv3DMatchesGeneric(t *testing.T) {
	cases := []struct {
		name string
		x, k []int
		w    Window
	}{
		{"odd-strides", []int{2, 3, 5, 9, 11}, []int{4, 3, 3, 3, 3}, Window{[3]int{3, 3, 3}, [3]int{2, 2, 3}, [3]int{1, 1, 1}}},
		{"mvit-patch", []int{1, 3, 4, 16, 20}, []int{5, 3, 3, 7, 7}, Window{[3]int{3, 7, 7}, [3]int{2, 4, 4}, [3]int{1, 3, 3}}},
		// GoMLX's generic ConvGeneral gradient is wrong for even kernels, so
		// the generic comparison uses odd kernels only; torch_ops_test.go
		// checks an even kernel against PyTorch.
		{"no-pad", []int{1, 2, 4, 6, 6}, []int{3, 2, 1, 3, 5}, Window{[3]int{1, 3, 5}, [3]int{1, 1, 2}, [3]int{0, 0, 0}}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := randTensor(uint64(10*i+1), c.x...)
			// Weights of a realistic scale keep outputs O(1), so float32
			// summation-order noise stays below the tolerance.
			k := randScaled(uint64(10*i+2), 0.05, c.k...)
			b := randTensor(uint64(10*i+3), c.k[0])
			compareImpls(t, c.name, func(impl Impl) func(in []*graph.Node) *graph.Node {
				return func(in []*graph.Node) *graph.Node { return Conv3D(in[0], in[1], in[2], c.w, impl) }
			}, x, k, b)
		})
	}
}

func TestDepthwiseConv3DMatchesGeneric(t *testing.T) {
	cases := []struct {
		name string
		x    []int
		w    Window
	}{
		{"q-pool", []int{3, 4, 6, 7, 5}, Window{[3]int{3, 3, 3}, [3]int{1, 2, 2}, [3]int{1, 1, 1}}},
		{"kv-stride4", []int{2, 2, 8, 8, 4}, Window{[3]int{3, 3, 3}, [3]int{1, 4, 4}, [3]int{1, 1, 1}}},
		{"stride1", []int{2, 3, 4, 5, 3}, Window{[3]int{3, 3, 3}, [3]int{1, 1, 1}, [3]int{1, 1, 1}}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := randTensor(uint64(10*i+4), c.x...)
			k := randTensor(uint64(10*i+5), c.x[4], 1, c.w.Kernel[0], c.w.Kernel[1], c.w.Kernel[2])
			compareImpls(t, c.name, func(impl Impl) func(in []*graph.Node) *graph.Node {
				return func(in []*graph.Node) *graph.Node { return DepthwiseConv3D(in[0], in[1], c.w, impl) }
			}, x, k)
		})
	}
}

// naiveMaxPool is an independent loop implementation of PyTorch's MaxPool3d
// on [N,T,H,W,C]: it returns the output and the gradient of Σ(out·r) with
// respect to x, routing each window's gradient to its first maximal element
// (PyTorch's CPU kernel keeps the first index of the maximum).
func naiveMaxPool(x []float32, dims [5]int, w Window, r []float32) (out, grad []float32) {
	n, T, H, W, C := dims[0], dims[1], dims[2], dims[3], dims[4]
	o := w.OutDims(T, H, W)
	idx := func(b, t, h, ww, c int) int { return (((b*T+t)*H+h)*W+ww)*C + c }
	grad = make([]float32, len(x))
	for b := range n {
		for ot := range o[0] {
			for oh := range o[1] {
				for ow := range o[2] {
					for c := range C {
						best, bi := float32(0), -1
						for a := range w.Kernel[0] {
							for bb := range w.Kernel[1] {
								for cc := range w.Kernel[2] {
									t := ot*w.Stride[0] - w.Padding[0] + a
									h := oh*w.Stride[1] - w.Padding[1] + bb
									ww := ow*w.Stride[2] - w.Padding[2] + cc
									if t < 0 || t >= T || h < 0 || h >= H || ww < 0 || ww >= W {
										continue
									}
									if v := x[idx(b, t, h, ww, c)]; bi < 0 || v > best {
										best, bi = v, idx(b, t, h, ww, c)
									}
								}
							}
						}
						oi := (((b*o[0]+ot)*o[1]+oh)*o[2]+ow)*C + c
						out = append(out, best)
						grad[bi] += r[oi]
					}
				}
			}
		}
	}
	return out, grad
}

func TestMaxPool3D(t *testing.T) {
	cases := []struct {
		name string
		x    [5]int
		w    Window
		ties bool // quantise x so that windows hold equal maxima
	}{
		{"skip-pool", [5]int{2, 3, 6, 7, 4}, Window{[3]int{1, 3, 3}, [3]int{1, 2, 2}, [3]int{0, 1, 1}}, false},
		{"cube", [5]int{1, 5, 5, 6, 3}, Window{[3]int{3, 3, 3}, [3]int{2, 2, 2}, [3]int{1, 1, 1}}, false},
		{"ties", [5]int{2, 2, 5, 5, 2}, Window{[3]int{1, 3, 3}, [3]int{1, 2, 2}, [3]int{0, 1, 1}}, true},
	}
	be := gomlxtest.Backend(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := randTensor(uint64(10*i+6), c.x[:]...)
			if c.ties {
				tensors.MustMutableFlatData[float32](x, func(v []float32) {
					for j := range v {
						v[j] = float32(int(v[j] * 2))
					}
				})
			}
			got := valueAndGrads(t, func(in []*graph.Node) *graph.Node { return MaxPool3D(in[0], c.w, Composed) }, x)
			o := c.w.OutDims(c.x[1], c.x[2], c.x[3])
			r := randTensor(99, c.x[0], o[0], o[1], o[2], c.x[4]) // the same r valueAndGrads uses
			wantOut, wantGrad := naiveMaxPool(flat(x), c.x, c.w, flat(r))
			gomlxtest.AssertClose(t, c.name+" value vs loops", got[0], wantOut, 0, 0)
			gomlxtest.AssertClose(t, c.name+" grad vs loops", got[1], wantGrad, 1e-6, 0)
			// The generic op (ReduceWindow) has no gradient on the Go backend:
			// compare values only.
			gen := graph.MustExecOnce(be, func(in *graph.Node) *graph.Node { return MaxPool3D(in, c.w, Generic) }, x)
			gomlxtest.AssertClose(t, c.name+" value vs generic", got[0], flat(gen), 0, 0)
		})
	}
}

func TestAutoPicksCompositionOnGoBackend(t *testing.T) {
	be := gomlxtest.Backend(t)
	if IsXLA(be) {
		if !Auto.generic(graph.NewGraph(be, "probe")) {
			t.Error("Auto on XLA should pick the generic ops")
		}
		return
	}
	if Auto.generic(graph.NewGraph(be, "probe")) {
		t.Errorf("Auto on backend %q picked the generic ops; want the compositions", be.Name())
	}
	if !Generic.generic(graph.NewGraph(be, "probe")) || Composed.generic(graph.NewGraph(be, "probe")) {
		t.Error("Generic/Composed must force their path")
	}
}

// TestDepthwiseConv3DHeads checks the attention-layout pooling (channels-
// first input, kernel shared by heads, output [N·heads, T'H'W', hd]) of both
// paths against a per-head application of the generic op.
func TestDepthwiseConv3DHeads(t *testing.T) {
	const n, heads, hd = 2, 3, 4
	w := Window{[3]int{3, 3, 3}, [3]int{1, 2, 2}, [3]int{1, 1, 1}}
	x := randTensor(21, n, 3, 6, 5, heads*hd)
	k := randTensor(22, hd, 1, 3, 3, 3)
	perHead := func(in []*graph.Node) *graph.Node {
		var outs []*graph.Node
		for h := range heads {
			xh := graph.SliceAxis(in[0], 4, graph.AxisRange(h*hd, (h+1)*hd))
			y := DepthwiseConv3D(xh, in[1], w, Generic) // [n, T', H', W', hd]
			d := y.Shape().Dimensions
			outs = append(outs, graph.Reshape(y, n, 1, d[1]*d[2]*d[3], hd))
		}
		y := graph.Concatenate(outs, 1) // [n, heads, M, hd]
		d := y.Shape().Dimensions
		return graph.Reshape(y, n*heads, d[2], hd)
	}
	want := valueAndGrads(t, perHead, x, k)
	for _, impl := range []Impl{Composed, Generic} {
		got := valueAndGrads(t, func(in []*graph.Node) *graph.Node {
			return DepthwiseConv3DHeads(graph.TransposeAllAxes(in[0], 4, 0, 1, 2, 3), in[1], heads, w, impl)
		}, x, k)
		for i, label := range []string{"value", "grad x", "grad kernel"} {
			gomlxtest.AssertClose(t, impl.String()+" "+label, got[i], want[i], 1e-5, 1e-5)
		}
	}
}

// TestParallelExecutionCompletes is the reproduction of the worker-pool
// deadlock of compute v0.1.2 (docs/model-bert.md had it hang on the second
// execution at -cpu 2): eight independent multi-threaded matmuls that
// become ready together, executed repeatedly, with independent nodes run
// concurrently (forced, and in the backend's default mode). It completes
// on compute v0.1.14 at -cpu 1, 2 and 4 (a deadlock would hit the test
// timeout), and every execution gives the same sum.
func TestParallelExecutionCompletes(t *testing.T) {
	for _, cfg := range []string{"go:ops_parallel", DefaultBackendConfig} {
		be, err := NewBackend(cfg)
		if err != nil {
			t.Fatal(err)
		}
		exec := graph.MustNewExec(be, func(in []*graph.Node) *graph.Node {
			var acc *graph.Node
			for _, w := range in[1:] {
				y := graph.ReduceAllSum(graph.DotGeneral(in[0], []int{1}, nil, w, []int{0}, nil))
				if acc == nil {
					acc = y
				} else {
					acc = graph.Add(acc, y)
				}
			}
			return acc
		})
		args := []any{randTensor(1, 512, 384)}
		for i := range 8 {
			args = append(args, randTensor(uint64(i+2), 384, 384))
		}
		var first float32
		for i := range 10 {
			got := tensors.ToScalar[float32](exec.MustCall(args...)[0])
			if i == 0 {
				first = got
			} else if got != first {
				t.Fatalf("%s: execution %d gave %g, the first %g", cfg, i, got, first)
			}
		}
	}
}
