package pretrain

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/heads"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

const lossGolden = "testdata/loss_golden.safetensors"

// f64 returns a float64 tensor of the fixture with its shape.
func f64(t *testing.T, set *weights.Set, name string) ([]float64, []int) {
	t.Helper()
	x, ok := set.Tensors[name]
	if !ok || x.DType != weights.F64 {
		t.Fatalf("fixture %s: no float64 tensor %q", lossGolden, name)
	}
	out := make([]float64, len(x.Data)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(x.Data[8*i:]))
	}
	return out, x.Shape
}

func scalar(t *testing.T, set *weights.Set, name string) float64 {
	t.Helper()
	v, _ := f64(t, set, name)
	return v[0]
}

// tensorOf builds a tensor of dtype dt (float32 or float64) from float64 values.
func tensorOf(dt dtypes.DType, v []float64, shape ...int) *tensors.Tensor {
	if dt == dtypes.Float64 {
		return tensors.FromFlatDataAndDimensions(v, shape...)
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return tensors.FromFlatDataAndDimensions(f, shape...)
}

func flat64(t *tensors.Tensor) []float64 {
	if t.DType() == dtypes.Float64 {
		return tensors.MustCopyFlatData[float64](t)
	}
	f := tensors.MustCopyFlatData[float32](t)
	out := make([]float64, len(f))
	for i, x := range f {
		out[i] = float64(x)
	}
	return out
}

// TestLossMatchesTorch checks the loss, both per-pair terms, and the
// gradients with respect to the unnormalised embeddings and the log scale
// against torch autograd in float64 (testdata/gen/train/pretrain/gen_loss.py):
// the Go graph in float64 within 1e-12, in float32 within 1e-6, each times
// max(1, largest |value|) of the quantity (the textonly case has input norms
// from 1e-3 to 1e3, so gradients up to ~1e3; float32 cannot do better than
// a few roundings of that).
func TestLossMatchesTorch(t *testing.T) {
	set, err := weights.Load(lossGolden)
	if err != nil {
		t.Fatal(err)
	}
	backend := gomlxtest.Backend(t)
	for _, c := range []string{"random", "aligned", "wide", "textonly"} {
		v, shape := f64(t, set, c+".v")
		u, _ := f64(t, set, c+".u")
		logScale := scalar(t, set, c+".log_scale")
		lambda, flood := scalar(t, set, c+".lambda"), scalar(t, set, c+".flood")
		want := map[string][]float64{}
		for _, k := range []string{"loss", "loss_raw", "loss_v2u", "loss_u2v", "grad_v", "grad_u", "grad_log_scale"} {
			want[k], _ = f64(t, set, c+"."+k)
		}
		for _, tc := range []struct {
			dt  dtypes.DType
			tol float64
		}{{dtypes.Float64, 1e-12}, {dtypes.Float32, 1e-6}} {
			outs, err := graph.ExecOnceN(backend, func(v, u, ls *graph.Node) []*graph.Node {
				o := ContrastiveLoss(heads.L2Normalize12(v), heads.L2Normalize12(u), ls, lambda, flood)
				grads := graph.Gradient(o.Loss, v, u, ls)
				return append([]*graph.Node{o.Loss, o.Raw, o.VideoToText, o.TextToVideo}, grads...)
			}, tensorOf(tc.dt, v, shape...), tensorOf(tc.dt, u, shape...), tensorOf(tc.dt, []float64{logScale}))
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range []string{"loss", "loss_raw", "loss_v2u", "loss_u2v", "grad_v", "grad_u", "grad_log_scale"} {
				got := flat64(outs[i])
				if len(got) != len(want[k]) {
					t.Fatalf("%s %s %s: %d values, want %d", c, tc.dt, k, len(got), len(want[k]))
				}
				scale := 1.0
				for _, w := range want[k] {
					scale = max(scale, math.Abs(w))
				}
				worst := 0.0
				for j := range got {
					worst = max(worst, math.Abs(got[j]-want[k][j]))
					if math.IsNaN(got[j]) {
						worst = math.Inf(1)
					}
				}
				if worst > tc.tol*scale {
					t.Errorf("%s %s %s: max |Go − torch| = %.3g > %.0g × max(1, max|torch|) = %.3g", c, tc.dt, k, worst, tc.tol, tc.tol*scale)
				} else if testing.Verbose() {
					t.Logf("%s %s %s: max |Go − torch| = %.3g (%.2g × max(1, max|torch| = %.3g))", c, tc.dt, k, worst, worst/scale, scale)
				}
			}
		}
	}
}

// TestFloodingReversesGradient: below the flood level the gradient of the
// flooded loss is minus the raw loss's (gradient ascent), above it equal.
func TestFloodingReversesGradient(t *testing.T) {
	set, err := weights.Load(lossGolden)
	if err != nil {
		t.Fatal(err)
	}
	backend := gomlxtest.Backend(t)
	for _, c := range []struct {
		name string
		sign float64
	}{{"aligned", -1}, {"random", 1}} {
		v, shape := f64(t, set, c.name+".v")
		u, _ := f64(t, set, c.name+".u")
		ls := scalar(t, set, c.name+".log_scale")
		lambda, flood := scalar(t, set, c.name+".lambda"), scalar(t, set, c.name+".flood")
		outs, err := graph.ExecOnceN(backend, func(v, u, ls *graph.Node) []*graph.Node {
			o := ContrastiveLoss(heads.L2Normalize12(v), heads.L2Normalize12(u), ls, lambda, flood)
			return []*graph.Node{graph.Gradient(o.Loss, v)[0], graph.Gradient(o.Raw, v)[0]}
		}, tensorOf(dtypes.Float64, v, shape...), tensorOf(dtypes.Float64, u, shape...), tensorOf(dtypes.Float64, []float64{ls}))
		if err != nil {
			t.Fatal(err)
		}
		gl, gr := flat64(outs[0]), flat64(outs[1])
		for i := range gl {
			if gl[i] != c.sign*gr[i] {
				t.Fatalf("%s: d flooded/dv[%d] = %g, d raw/dv = %g, want sign %g", c.name, i, gl[i], gr[i], c.sign)
			}
		}
	}
}
