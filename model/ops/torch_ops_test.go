package ops

import (
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestAgainstTorch compares values and gradients with PyTorch 1.13's conv3d
// and max_pool3d (testdata/gen/model/ops/gen_ops.py). Torch layouts are
// channels-first; the ops' channels-last layouts are transposed in-graph.
func TestAgainstTorch(t *testing.T) {
	golden, err := weights.Load("testdata/ops_golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) *tensors.Tensor {
		tt, ok := golden.Tensors[name]
		if !ok {
			t.Fatalf("no %s in the golden file", name)
		}
		x, err := weights.ToTensorF32(tt)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	want := func(name string) []float32 { return flat(get(name)) }
	cl := func(x *graph.Node) *graph.Node { return graph.TransposeAllAxes(x, 0, 2, 3, 4, 1) } // NCTHW → NTHWC
	cf := func(x *graph.Node) *graph.Node { return graph.TransposeAllAxes(x, 0, 4, 1, 2, 3) } // NTHWC → NCTHW
	type tc struct {
		name   string
		w      Window
		params []string // inputs after x: w, b as present
		op     func(impl Impl, in []*graph.Node) *graph.Node
		// genericGrads is false where GoMLX's generic op has no (or a wrong) gradient.
		genericGrads bool
	}
	cases := []tc{
		{"conv_patch", Window{[3]int{3, 7, 7}, [3]int{2, 4, 4}, [3]int{1, 3, 3}}, []string{"w", "b"}, nil, true},
		{"conv_even", Window{[3]int{2, 3, 4}, [3]int{1, 2, 1}, [3]int{0, 1, 2}}, []string{"w", "b"}, nil, false},
		{"dw_q", Window{[3]int{3, 3, 3}, [3]int{1, 2, 2}, [3]int{1, 1, 1}}, []string{"w"}, nil, true},
		{"dw_s1", Window{[3]int{3, 3, 3}, [3]int{1, 1, 1}, [3]int{1, 1, 1}}, []string{"w"}, nil, true},
		{"max_skip", Window{[3]int{1, 3, 3}, [3]int{1, 2, 2}, [3]int{0, 1, 1}}, nil, nil, false},
	}
	for i := range cases {
		c := &cases[i]
		switch c.name[:3] {
		case "con":
			c.op = func(impl Impl, in []*graph.Node) *graph.Node { return cf(Conv3D(in[0], in[1], in[2], c.w, impl)) }
		case "dw_":
			c.op = func(impl Impl, in []*graph.Node) *graph.Node { return cf(DepthwiseConv3D(cl(in[0]), in[1], c.w, impl)) }
		default:
			c.op = func(impl Impl, in []*graph.Node) *graph.Node { return cf(MaxPool3D(cl(in[0]), c.w, impl)) }
		}
	}
	be := gomlxtest.Backend(t)
	for _, c := range cases {
		inputs := []*tensors.Tensor{get(c.name + ".x")}
		for _, p := range c.params {
			inputs = append(inputs, get(c.name+"."+p))
		}
		r := get(c.name + ".r")
		for _, impl := range []Impl{Composed, Generic} {
			t.Run(c.name+"/"+impl.String(), func(t *testing.T) {
				grads := impl == Composed || c.genericGrads
				outs := graph.MustExecOnceN(be, func(in []*graph.Node) []*graph.Node {
					xs := in[:len(in)-1]
					y := c.op(impl, xs)
					if !grads {
						return []*graph.Node{y}
					}
					loss := graph.ReduceAllSum(graph.Mul(y, in[len(in)-1]))
					return append([]*graph.Node{y}, graph.Gradient(loss, xs...)...)
				}, append(anys(inputs), r)...)
				gomlxtest.AssertClose(t, "y", flat(outs[0]), want(c.name+".y"), 1e-5, 1e-5)
				if !grads {
					return
				}
				gomlxtest.AssertClose(t, "grad x", flat(outs[1]), want(c.name+".gx"), 1e-5, 1e-5)
				for j, p := range c.params {
					gomlxtest.AssertClose(t, "grad "+p, flat(outs[2+j]), want(c.name+".g"+p), 1e-5, 1e-5)
				}
			})
		}
	}
}
