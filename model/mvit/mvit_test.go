package mvit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Fixtures from testdata/gen/model/mvit/gen_tiny.py (torch 1.13 / torchvision 0.14).
const (
	tinyWeights = "testdata/tiny_tv_weights.safetensors"
	tinyGolden  = "testdata/tiny_golden.safetensors"
)

func mustLoad(t *testing.T, path string) *weights.Set {
	t.Helper()
	s, err := weights.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func f32(t *testing.T, set *weights.Set, name string) []float32 {
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

func goldenInput(t *testing.T, golden *weights.Set) *tensors.Tensor {
	t.Helper()
	x, err := weights.ToTensorF32(golden.Tensors["input"])
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func tinyCanonical(t *testing.T) *weights.Set {
	t.Helper()
	set, err := ToCanonical(mustLoad(t, tinyWeights))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestTinyMatchesTorchvision checks every block's output and attention maps,
// the features and the logits against torchvision on the perturbed tiny model.
func TestTinyMatchesTorchvision(t *testing.T) {
	cfg := Tiny(5)
	golden := mustLoad(t, tinyGolden)
	store := model.NewStore()
	scope := store.RootScope().In("mvit")
	if err := LoadInto(scope, cfg, tinyCanonical(t)); err != nil {
		t.Fatal(err)
	}
	nb := len(cfg.Blocks)
	outs, err := model.CallOnceN(gomlxtest.Backend(t), store, func(_ *model.Scope, x *graph.Node) []*graph.Node {
		o := Encode(scope, cfg, x)
		res := []*graph.Node{o.Embedded, o.Features, o.Logits}
		res = append(res, o.Blocks...)
		return append(res, o.Attention...)
	}, goldenInput(t, golden))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got *tensors.Tensor) {
		gomlxtest.AssertClose(t, name, tensors.MustCopyFlatData[float32](got), f32(t, golden, name), 1e-5, 0)
	}
	check("act.pos_encoding", outs[0])
	for i := range nb {
		check(fmt.Sprintf("act.block%02d", i), outs[3+i])
		check(fmt.Sprintf("attn.block%02d", i), outs[3+nb+i])
	}
	check("features", outs[1])
	check("logits", outs[2])
}

// TestTinyGradientsMatchTorch compares d(Σ logits)/dθ for every parameter
// with torch's autograd (relative to each tensor's largest gradient).
func TestTinyGradientsMatchTorch(t *testing.T) {
	cfg := Tiny(5)
	golden := mustLoad(t, tinyGolden)
	grads, err := golden.WithPrefix("grad.").Rename(func(n string) (string, bool) { return n, true })
	if err != nil {
		t.Fatal(err)
	}
	want, err := ToCanonical(grads)
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.Check(cfg.Specs(), want); err != nil {
		t.Fatalf("golden gradients do not cover the parameters: %v", err)
	}
	store := model.NewStore()
	scope := store.RootScope().In("mvit")
	if err := LoadInto(scope, cfg, tinyCanonical(t)); err != nil {
		t.Fatal(err)
	}
	specs := cfg.Specs()
	outs, err := model.CallOnceN(gomlxtest.Backend(t), store, func(_ *model.Scope, x *graph.Node) []*graph.Node {
		o := Encode(scope, cfg, x)
		loss := graph.ReduceAllSum(o.Logits)
		vars := make([]*graph.Node, len(specs))
		for i, s := range specs {
			vars[i] = store.GetVariable(ParamPath(scope, s.Name)).NodeValue(x.Graph())
		}
		return graph.Gradient(loss, vars...)
	}, goldenInput(t, golden))
	if err != nil {
		t.Fatal(err)
	}
	maxAbs := func(v []float32) float64 {
		m := 0.0
		for _, x := range v {
			m = max(m, float64(abs32(x)))
		}
		return m
	}
	global := 0.0
	for _, s := range specs {
		global = max(global, maxAbs(f32(t, want, s.Name)))
	}
	for i, s := range specs {
		got := tensors.MustCopyFlatData[float32](outs[i])
		w := f32(t, want, s.Name)
		scale := maxAbs(w)
		if strings.HasSuffix(s.Name, ".attn.norm_k.bias") {
			// Analytically zero: the key-norm bias adds q·b to every score
			// of a softmax row, which softmax ignores. Both sides must be
			// rounding noise relative to the largest gradient.
			if g := maxAbs(got); g > 1e-6*global || scale > 1e-6*global {
				t.Errorf("grad %s should vanish: ours %.3g, torch %.3g (largest gradient %.3g)", s.Name, g, scale, global)
			}
			continue
		}
		d := gomlxtest.Compare(got, w)
		if d.MaxAbs > 1e-4*scale || d.NaNs > 0 {
			t.Errorf("grad %s: %s, exceeds 1e-4 × max|grad| = %.3g", s.Name, d, 1e-4*scale)
		} else if testing.Verbose() {
			t.Logf("grad %s: max|Δ|/max|grad| = %.2g", s.Name, d.MaxAbs/scale)
		}
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
