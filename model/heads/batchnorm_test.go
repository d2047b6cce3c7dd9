package heads

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Fixture from testdata/gen/model/heads/gen_batchnorm.py (torch 1.13).
const batchNormGolden = "testdata/batchnorm_golden.safetensors"

// TestFeatureBatchNormMatchesTorch runs three training steps (outputs,
// input gradients of sum(y·w), running statistics after each) and one
// evaluation call against torch's BatchNorm1d(affine=False), in float32.
func TestFeatureBatchNormMatchesTorch(t *testing.T) {
	s, err := weights.Load(batchNormGolden)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) *tensors.Tensor {
		tt, ok := s.Tensors[name]
		if !ok {
			t.Fatalf("golden has no %q", name)
		}
		v, err := tt.Float32()
		if err != nil {
			t.Fatal(err)
		}
		return tensors.FromFlatDataAndDimensions(v, tt.Shape...)
	}
	flat := func(x *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](x) }
	b := gomlxtest.Backend(t)
	st := model.NewStore()
	scope := st.RootScope()
	train, err := model.NewExec(b, st, func(_ *model.Scope, x, w *graph.Node) []*graph.Node {
		st.SetTraining(x.Graph(), true)
		y := FeatureBatchNorm(scope, "proj_norm", x)
		gr := graph.Gradient(graph.ReduceAllSum(graph.Mul(y, w)), x)
		return []*graph.Node{y, gr[0]}
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"s0.", "s1.", "s2."} {
		outs, err := train.Call(get(p+"x"), get(p+"w"))
		if err != nil {
			t.Fatal(err)
		}
		// Feature 1 has mean/std ≈ 300: centering it in float32 leaves
		// ≈ 300 × 6e-8 ≈ 2e-5 relative error in either implementation, so
		// outputs (O(1)) are compared to 1e-4 and each feature's gradients
		// to 1e-4 of their natural scale max|w|/std (with B = 2 the output
		// is ±1 whatever x is and the true gradient is ≈ 0: rounding noise
		// on both sides).
		gomlxtest.AssertClose(t, p+"y", flat(outs[0]), flat(get(p+"y")), 1e-4, 0)
		got, want := flat(outs[1]), flat(get(p+"grad"))
		xs, ws := flat(get(p+"x")), flat(get(p+"w"))
		d := outs[1].Shape().Dimensions[1]
		for j := range d {
			var gj, wj []float64
			var mean, wmax float64
			for i := j; i < len(want); i += d {
				gj, wj = append(gj, float64(got[i])), append(wj, float64(want[i]))
				mean += float64(xs[i]) / float64(len(want)/d)
				wmax = max(wmax, math.Abs(float64(ws[i])))
			}
			var v float64
			for i := j; i < len(want); i += d {
				v += (float64(xs[i]) - mean) * (float64(xs[i]) - mean) / float64(len(want)/d)
			}
			tol := 1e-4 * wmax / math.Sqrt(v+BatchNormEps)
			for i := range gj {
				if math.Abs(gj[i]-wj[i]) > tol {
					t.Errorf("%sgrad feature %d row %d: got %g want %g (tolerance %.3g)", p, j, i, gj[i], wj[i], tol)
				}
			}
		}
		for _, name := range []string{RunningMean, RunningVar} {
			v := st.GetVariable("/proj_norm/" + name)
			if v == nil {
				t.Fatalf("no variable %s", name)
			}
			if v.Trainable {
				t.Errorf("%s is trainable", name)
			}
			val, err := v.Value()
			if err != nil {
				t.Fatal(err)
			}
			gomlxtest.AssertClose(t, p+name, flat(val), flat(get(p+name)), 1e-5, 1e-5)
		}
		t.Logf("step %d matches", i)
	}
	eval, err := model.NewExec(b, st, func(_ *model.Scope, x *graph.Node) *graph.Node {
		st.SetTraining(x.Graph(), false)
		return FeatureBatchNorm(scope, "proj_norm", x)
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := eval.Call(get("eval.x"))
	if err != nil {
		t.Fatal(err)
	}
	gomlxtest.AssertClose(t, "eval y", flat(outs[0]), flat(get("eval.y")), 1e-5, 1e-5)
}

// TestLoadProjectionFoldsBatchNorm: a projection loaded from a set with
// running statistics computes, on new inputs, what evaluation-mode
// FeatureBatchNorm followed by the original projection computes.
func TestLoadProjectionFoldsBatchNorm(t *testing.T) {
	const in, out, n = 6, 4, 5
	r := rand.New(rand.NewPCG(1, 2))
	vals := func(k int, scale, offset float64) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = float32(offset + scale*r.NormFloat64())
		}
		return v
	}
	w, b, x := vals(out*in, 0.5, 0), vals(out, 0.5, 0), vals(n*in, 3, 10)
	mean, variance := vals(in, 2, 10), vals(in, 0.2, 1.5)
	set := weights.NewSet()
	set.Add(weights.FromFloat32("weight", []int{out, in}, w))
	set.Add(weights.FromFloat32("bias", []int{out}, b))
	set.Add(weights.FromFloat32("norm."+RunningMean, []int{in}, mean))
	set.Add(weights.FromFloat32("norm."+RunningVar, []int{in}, variance))
	be := gomlxtest.Backend(t)

	// Reference: the unfolded network, running statistics as variables.
	ref := model.NewStore()
	rs := ref.RootScope()
	for name, v := range map[string][]float32{"weight": w, "bias": b, "norm/" + RunningMean: mean, "norm/" + RunningVar: variance} {
		shape := []int{len(v)}
		if name == "weight" {
			shape = []int{out, in}
		}
		if _, err := ref.CreateVariable("/"+name, tensors.FromFlatDataAndDimensions(v, shape...)); err != nil {
			t.Fatal(err)
		}
	}
	want, err := model.NewExec(be, ref, func(_ *model.Scope, x *graph.Node) *graph.Node {
		ref.SetTraining(x.Graph(), false)
		return Project(rs, FeatureBatchNorm(rs, "norm", x), out)
	})
	if err != nil {
		t.Fatal(err)
	}
	folded := model.NewStore()
	if err := LoadProjection(folded.RootScope(), in, out, set); err != nil {
		t.Fatal(err)
	}
	got, err := model.NewExec(be, folded, func(_ *model.Scope, x *graph.Node) *graph.Node {
		return Project(folded.RootScope(), x, out)
	})
	if err != nil {
		t.Fatal(err)
	}
	xt := tensors.FromFlatDataAndDimensions(x, n, in)
	a, err := want.Call(xt)
	if err != nil {
		t.Fatal(err)
	}
	c, err := got.Call(xt)
	if err != nil {
		t.Fatal(err)
	}
	gomlxtest.AssertClose(t, "folded projection", tensors.MustCopyFlatData[float32](c[0]), tensors.MustCopyFlatData[float32](a[0]), 1e-5, 1e-5)
	if folded.GetVariable("/norm/"+RunningMean) != nil {
		t.Error("folding left running statistics in the store")
	}
}
