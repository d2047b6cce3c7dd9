package heads

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Fixture from testdata/gen/model/heads/gen_heads.py (torch 1.13).
const golden = "testdata/heads_golden.safetensors"

func load(t *testing.T) *weights.Set {
	t.Helper()
	s, err := weights.Load(golden)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func f32(t *testing.T, s *weights.Set, name string) []float32 {
	t.Helper()
	tt, ok := s.Tensors[name]
	if !ok {
		t.Fatalf("golden has no %q", name)
	}
	v, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func tensorOf(t *testing.T, s *weights.Set, name string) *tensors.Tensor {
	t.Helper()
	x, err := weights.ToTensorF32(s.Tensors[name])
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func smallConfig(c string) Config {
	if c == "reg" {
		cfg := RegressionConfig()
		cfg.InDim, cfg.Hidden, cfg.AttnDim = 16, 12, 8
		return cfg
	}
	cfg := ClassificationConfig(2)
	cfg.InDim, cfg.Hidden, cfg.AttnDim = 16, 12, 8
	return cfg
}

type caseResult struct {
	outs  map[string][]float32
	grads map[string][]float32
}

// run builds projection + head + loss on the golden's padded bags and
// returns activations, the loss and every gradient.
func run(t *testing.T, g *weights.Set, c string, input *tensors.Tensor, training bool) caseResult {
	t.Helper()
	cfg := smallConfig(c)
	store := model.NewStore()
	head := store.RootScope().In("classifier_head")
	proj := store.RootScope().In("video_proj")
	if err := LoadInto(head, cfg, g.WithPrefix(c+".param.")); err != nil {
		t.Fatal(err)
	}
	if err := LoadProjection(proj, 24, 16, g.WithPrefix(c+".proj.")); err != nil {
		t.Fatal(err)
	}
	specs := cfg.Specs()
	names := []string{"hidden1", "features", "scores", "attention", "pooled", "logits", "pred", "loss"}
	args := []any{input, tensorOf(t, g, c+".mask"), tensorOf(t, g, c+".target")}
	if c == "cls" {
		args = append(args, tensorOf(t, g, c+".pos_weight"))
	}
	fn := func(s *model.Scope, in []*graph.Node) []*graph.Node {
		x, mask, target := in[0], in[1], in[2]
		store.SetTraining(x.Graph(), training)
		d := x.Shape().Dimensions
		emb := graph.Reshape(Project(proj, graph.Reshape(x, d[0]*d[1], d[2]), 16), d[0], d[1], 16)
		o := MIL(head, cfg, emb, mask)
		var loss *graph.Node
		if c == "reg" {
			loss = Huber(o.Prediction, target, nil, 1)
		} else {
			loss = BCEWithLogits(o.Logits, target, in[3], nil)
		}
		res := []*graph.Node{o.Hidden1, o.Features, o.Scores, o.Attention, o.Pooled, o.Logits, o.Prediction, loss}
		var vars []*graph.Node
		for _, sp := range specs {
			vars = append(vars, store.GetVariable(ParamPath(head, sp.Name)).NodeValue(x.Graph()))
		}
		for _, n := range []string{"weight", "bias"} {
			vars = append(vars, store.GetVariable(ParamPath(proj, n)).NodeValue(x.Graph()))
		}
		return append(res, graph.Gradient(loss, vars...)...)
	}
	outs, err := model.CallOnceN(gomlxtest.Backend(t), store, fn, args...)
	if err != nil {
		t.Fatal(err)
	}
	r := caseResult{outs: map[string][]float32{}, grads: map[string][]float32{}}
	for i, n := range names {
		r.outs[n] = tensors.MustCopyFlatData[float32](outs[i])
	}
	for i, sp := range specs {
		r.grads[sp.Name] = tensors.MustCopyFlatData[float32](outs[len(names)+i])
	}
	r.grads["proj.weight"] = tensors.MustCopyFlatData[float32](outs[len(names)+len(specs)])
	r.grads["proj.bias"] = tensors.MustCopyFlatData[float32](outs[len(names)+len(specs)+1])
	return r
}

// TestMatchesTorch compares activations, attention, loss and the gradient
// of every parameter with torch, for the regression head (no LayerNorm)
// and a two-label classification head (LayerNorm, pos_weight), on three
// bags of 3, 1 and 5 clips padded to 6 with garbage in the padded slots.
func TestMatchesTorch(t *testing.T) {
	g := load(t)
	for _, c := range []string{"reg", "cls"} {
		t.Run(c, func(t *testing.T) {
			r := run(t, g, c, tensorOf(t, g, c+".input"), false)
			mask := f32(t, g, c+".mask")
			const n = 6
			for _, name := range []string{"hidden1", "features", "scores", "attention", "pooled", "logits", "pred"} {
				got, want := r.outs[name], f32(t, g, c+".out."+name)
				if per := len(want) / len(mask); name != "pooled" && name != "logits" && name != "pred" {
					// Compare real instances only; the golden has zeros on padding.
					var gr, wr []float32
					for i, m := range mask {
						if m == 1 {
							gr = append(gr, got[i*per:(i+1)*per]...)
							wr = append(wr, want[i*per:(i+1)*per]...)
						} else if name == "attention" && got[i] != 0 {
							t.Errorf("attention on padded slot %d = %g, want exactly 0", i, got[i])
						}
					}
					got, want = gr, wr
				}
				_ = n
				gomlxtest.AssertClose(t, c+" "+name, got, want, 1e-5, 1e-5)
			}
			gomlxtest.AssertClose(t, c+" loss", r.outs["loss"], f32(t, g, c+".loss"), 1e-5, 1e-5)
			for name, got := range r.grads {
				want := f32(t, g, c+".grad."+name)
				scale := 0.0
				for _, v := range want {
					scale = max(scale, math.Abs(float64(v)))
				}
				// Relative to the tensor's largest gradient (regression gradients carry the ×100).
				gomlxtest.AssertClose(t, c+" grad "+name, got, want, 1e-5*max(1, scale), 0)
			}
		})
	}
}

// TestPaddingInvariant: different garbage in the padded slots gives
// bit-identical outputs and gradients.
func TestPaddingInvariant(t *testing.T) {
	g := load(t)
	x := f32(t, g, "reg.input")
	mask := f32(t, g, "reg.mask")
	y := slices.Clone(x)
	for i, m := range mask {
		if m == 0 {
			for k := range 24 {
				y[i*24+k] = float32(k%5) - 7.5*float32(i)
			}
		}
	}
	a := run(t, g, "reg", tensors.FromFlatDataAndDimensions(x, 3, 6, 24), false)
	b := run(t, g, "reg", tensors.FromFlatDataAndDimensions(y, 3, 6, 24), false)
	for _, n := range []string{"attention", "pooled", "pred", "loss"} {
		if !slices.Equal(a.outs[n], b.outs[n]) {
			t.Errorf("%s changed with the padding contents", n)
		}
	}
	for n := range a.grads {
		if !slices.Equal(a.grads[n], b.grads[n]) {
			t.Errorf("gradient %s changed with the padding contents", n)
		}
	}
}

// TestDropoutTraining: in training mode the three dropouts change the
// output; with rate 0 training equals evaluation.
func TestDropoutTraining(t *testing.T) {
	g := load(t)
	in := tensorOf(t, g, "reg.input")
	ev, tr := run(t, g, "reg", in, false), run(t, g, "reg", in, true)
	if slices.Equal(ev.outs["pred"], tr.outs["pred"]) {
		t.Error("training-mode prediction equals evaluation: dropout inactive")
	}
	for _, v := range tr.outs["pred"] {
		if math.IsNaN(float64(v)) {
			t.Fatal("NaN in training mode")
		}
	}
}

// TestReferenceSizesAndKeys: the full-size heads have the parameter counts
// docs/reference.md §3.3 gives (263,298; 263,810 with LayerNorm) and the
// authors' Lightning key names.
func TestReferenceSizesAndKeys(t *testing.T) {
	if n := RegressionConfig().NumParams(); n != 263298 {
		t.Errorf("regression head: %d parameters, want 263298", n)
	}
	if n := ClassificationConfig(1).NumParams(); n != 263810 {
		t.Errorf("classification head: %d parameters, want 263810", n)
	}
	var keys []string
	for _, s := range ClassificationConfig(1).Specs() {
		keys = append(keys, LightningPrefix+s.Name+fmt.Sprint(s.Shape))
	}
	want := []string{
		"classifier_head.attention_net.0.weight[256 512]", "classifier_head.attention_net.0.bias[256]",
		"classifier_head.attention_net.3.weight[256 256]", "classifier_head.attention_net.3.bias[256]",
		"classifier_head.attention_net.6.layernorm.weight[256]", "classifier_head.attention_net.6.layernorm.bias[256]",
		"classifier_head.attention_net.6.attention_a.0.weight[128 256]", "classifier_head.attention_net.6.attention_a.0.bias[128]",
		"classifier_head.attention_net.6.attention_b.0.weight[128 256]", "classifier_head.attention_net.6.attention_b.0.bias[128]",
		"classifier_head.attention_net.6.attention_c.weight[1 128]", "classifier_head.attention_net.6.attention_c.bias[1]",
		"classifier_head.classifier_head.fc.0.weight[1 256]", "classifier_head.classifier_head.fc.0.bias[1]",
	}
	if !slices.Equal(keys, want) {
		t.Errorf("keys:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	// Full-size forward from the initialisers: shapes, bias 0.57 → ≈57 %, attention sums to 1.
	store := model.NewStore()
	scope := store.RootScope().In("classifier_head")
	h := make([]float32, 2*4*512)
	for i := range h {
		h[i] = float32(math.Sin(float64(i))) / 22
	}
	outs, err := model.CallOnceN(gomlxtest.Backend(t), store, func(_ *model.Scope, x, m *graph.Node) []*graph.Node {
		o := MIL(scope, RegressionConfig(), x, m)
		return []*graph.Node{o.Prediction, o.Attention}
	}, tensors.FromFlatDataAndDimensions(h, 2, 4, 512), tensors.FromFlatDataAndDimensions([]float32{1, 1, 1, 0, 1, 0, 0, 0}, 2, 4))
	if err != nil {
		t.Fatal(err)
	}
	pred := tensors.MustCopyFlatData[float32](outs[0])
	att := tensors.MustCopyFlatData[float32](outs[1])
	if len(pred) != 2 || math.Abs(float64(pred[0])-57) > 40 {
		t.Errorf("initial predictions %v, want near 57", pred)
	}
	if s := att[0] + att[1] + att[2]; math.Abs(float64(s)-1) > 1e-6 || att[3] != 0 || att[4] != 1 {
		t.Errorf("attention %v", att)
	}
}

// formula is gen_heads.py's formula(): scale·sin(2π·u/10007) with the
// integer phase u = (i+1)·(2k+7)·7919 mod 10007, rounded to float32.
func formula(n, k int, scale float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		u := (int64(i+1) * int64(2*k+7) * 7919) % 10007
		out[i] = float32(scale * math.Sin(float64(u)*(2*math.Pi/10007)))
	}
	return out
}

func formulaSet(specs []weights.Spec, k0 int) *weights.Set {
	names := make([]string, len(specs))
	shape := map[string][]int{}
	for i, s := range specs {
		names[i] = s.Name
		shape[s.Name] = s.Shape
	}
	slices.Sort(names)
	set := weights.NewSet()
	for k, n := range names {
		sh := shape[n]
		// As gen_heads.py: instances stay distinct and the scores spread (small biases).
		scale := 0.05
		if len(sh) == 2 {
			mult := 1.0
			switch {
			case strings.Contains(n, "attention_c"):
				mult = 20
			case strings.Contains(n, "attention_"):
				mult = 5
			case strings.HasPrefix(n, "attention_net."):
				mult = 8
			}
			scale = mult / math.Sqrt(float64(sh[1]))
		}
		set.Add(weights.FromFloat32(n, sh, formula(weights.NumElements(sh), k0+k, scale)))
	}
	return set
}

// TestFullSizeMatchesTorch runs the reference-size classification head
// (768 → 512 projection, 512 → 256 → 256, LayerNorm, attention 128, pos_weight
// 2.5) on two bags of 5 and 2 clips (padded to 5), with formula weights
// both sides compute, against torch: attention, prediction and loss within
// 1e-5, and every parameter's gradient by its sum, sum of squares and
// largest magnitude (the two smallest gradients in full).
func TestFullSizeMatchesTorch(t *testing.T) {
	g := load(t)
	cfg := ClassificationConfig(1)
	store := model.NewStore()
	head := store.RootScope().In("classifier_head")
	proj := store.RootScope().In("video_proj")
	if err := LoadInto(head, cfg, formulaSet(cfg.Specs(), 10)); err != nil {
		t.Fatal(err)
	}
	if err := LoadProjection(proj, 768, 512, formulaSet(ProjectionSpecs(768, 512), 0)); err != nil {
		t.Fatal(err)
	}
	x := tensors.FromFlatDataAndDimensions(formula(2*5*768, 99, 1), 2, 5, 768)
	mask := tensors.FromFlatDataAndDimensions([]float32{1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, 2, 5)
	target := tensors.FromFlatDataAndDimensions([]float32{1, 0}, 2, 1)
	specs := append([]weights.Spec(nil), cfg.Specs()...)
	outs, err := model.CallOnceN(gomlxtest.Backend(t), store, func(_ *model.Scope, x, m, y *graph.Node) []*graph.Node {
		emb := graph.Reshape(Project(proj, graph.Reshape(x, 10, 768), 512), 2, 5, 512)
		o := MIL(head, cfg, emb, m)
		loss := BCEWithLogits(o.Logits, y, graph.Const(x.Graph(), []float32{2.5}), nil)
		res := []*graph.Node{o.Attention, o.Prediction, loss}
		var vars []*graph.Node
		for _, s := range specs {
			vars = append(vars, store.GetVariable(ParamPath(head, s.Name)).NodeValue(x.Graph()))
		}
		vars = append(vars, store.GetVariable(ParamPath(proj, "weight")).NodeValue(x.Graph()),
			store.GetVariable(ParamPath(proj, "bias")).NodeValue(x.Graph()))
		return append(res, graph.Gradient(loss, vars...)...)
	}, x, mask, target)
	if err != nil {
		t.Fatal(err)
	}
	flat := func(i int) []float32 { return tensors.MustCopyFlatData[float32](outs[i]) }
	gomlxtest.AssertClose(t, "attention", flat(0), f32(t, g, "full.attention"), 1e-5, 1e-5)
	gomlxtest.AssertClose(t, "prediction", flat(1), f32(t, g, "full.pred"), 1e-5, 1e-5)
	gomlxtest.AssertClose(t, "loss", flat(2), f32(t, g, "full.loss"), 1e-5, 1e-5)
	names := make([]string, 0, len(specs)+2)
	for _, s := range specs {
		names = append(names, s.Name)
	}
	names = append(names, "proj.weight", "proj.bias")
	for i, n := range names {
		grad := flat(3 + i)
		var sum, sq, mx float64
		for _, v := range grad {
			sum += float64(v)
			sq += float64(v) * float64(v)
			mx = max(mx, math.Abs(float64(v)))
		}
		want, err := g.Tensors["full.gradstat."+n].Float32()
		if err != nil {
			t.Fatal(err)
		}
		tol := 1e-5 * max(float64(want[2]), 1e-3) * math.Sqrt(float64(len(grad)))
		t.Logf("grad %s: sum %.6g (torch %.6g), Σg² %.6g (%.6g), max %.6g (%.6g)", n, sum, want[0], sq, want[1], mx, want[2])
		if math.Abs(sum-float64(want[0])) > tol || math.Abs(sq-float64(want[1])) > 1e-4*float64(want[1])+1e-12 ||
			math.Abs(mx-float64(want[2])) > 1e-4*float64(want[2])+1e-9 {
			t.Errorf("grad %s differs from torch (sum tolerance %.3g)", n, tol)
		}
		if full, ok := g.Tensors["full.grad."+n]; ok {
			w, _ := full.Float32()
			gomlxtest.AssertClose(t, "grad "+n, grad, w, 1e-5*max(float64(want[2]), 1e-3), 0)
		}
	}
}
