package finetune

import (
	"math"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/heads"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/cmrfm/cmrfm/train"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Fixture from testdata/gen/train/finetune/gen_step.py (torch 1.13).
const stepGolden = "testdata/step_golden.safetensors"

func stepNet(c string) NetConfig {
	h := heads.RegressionConfig()
	if c == "cls" {
		h = heads.ClassificationConfig(2)
	}
	h.InDim, h.Hidden, h.AttnDim, h.Dropout = 16, 12, 8, 0
	return NetConfig{Video: mvit.Tiny(0), EmbedDim: 16, Head: h, Mode: ModeFinetune, HuberDelta: 1, ReferenceOptimizer: c == "bug"}
}

func fixtureF32(t *testing.T, s *weights.Set, name string) []float32 {
	t.Helper()
	tt, ok := s.Tensors[name]
	if !ok {
		t.Fatalf("fixture has no %q", name)
	}
	v, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// zeroGrad is the attention score's bias: softmax is shift-invariant, so
// its gradient is exactly zero and what torch and GoMLX compute for it is
// rounding noise.
const zeroGrad = "attention_net.6.attention_c.bias"

// TestStepMatchesTorch trains the projection and the multi-instance head
// on fixed encoder features for three updates (bags of 5, 3 and 5 clips,
// one bag per batch as the reference) and compares the first update's
// gradients, the loss before each update and every parameter after each
// update with torch's AdamW: regression (Huber on 100·logit, wd 0.01),
// two-label classification (LayerNorm, pos_weight, wd 5e-4), and the
// reference's bug (only the projection is optimised; the head must not
// move at all).
func TestStepMatchesTorch(t *testing.T) {
	g, err := weights.Load(stepGolden)
	if err != nil {
		t.Fatal(err)
	}
	feat := map[string]*tensors.Tensor{}
	for _, b := range []string{"A", "B"} {
		if feat[b], err = weights.ToTensorF32(g.Tensors["feat"+b]); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"reg", "cls", "bug"} {
		t.Run(c, func(t *testing.T) {
			nc := stepNet(c)
			if err := nc.Validate(); err != nil {
				t.Fatal(err)
			}
			st := model.NewStore()
			net := NewNet(st, nc)
			headSet, err := g.WithPrefix(c + ".init.").Rename(func(n string) (string, bool) { return n, len(n) < 5 || n[:5] != "proj." })
			if err != nil {
				t.Fatal(err)
			}
			if err := heads.LoadInto(net.Head, nc.Head, headSet); err != nil {
				t.Fatal(err)
			}
			if err := heads.LoadProjection(net.Proj, 24, 16, g.WithPrefix(c+".init.proj.")); err != nil {
				t.Fatal(err)
			}
			cfg := train.DefaultAdamW()
			if c == "cls" {
				cfg.WeightDecay = 5e-4
			}
			opt, err := train.NewOptimizer(st, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var pw *tensors.Tensor = tensors.FromFlatDataAndDimensions([]float32{1}, 1)
			if c == "cls" {
				pw = tensors.FromFlatDataAndDimensions([]float32{2.5, 0.7}, 2)
			}
			lossOf := func(x, gi, m, y, w *graph.Node) (*Output, *graph.Node) {
				st.SetTraining(x.Graph(), true)
				o := net.FromFeatures(x, gi, m)
				var pwn *graph.Node
				if c == "cls" {
					pwn = w
				}
				return o, net.Loss(o, y, graph.OnesLike(y), pwn)
			}
			backend := gomlxtest.Backend(t)
			specs := nc.Head.Specs()
			grads, err := model.NewExec(backend, st, func(_ *model.Scope, x, gi, m, y, w *graph.Node) []*graph.Node {
				_, loss := lossOf(x, gi, m, y, w)
				var vars []*graph.Node
				for _, s := range specs {
					vars = append(vars, st.GetVariable(heads.ParamPath(net.Head, s.Name)).NodeValue(x.Graph()))
				}
				for _, n := range []string{"weight", "bias"} {
					vars = append(vars, st.GetVariable(heads.ParamPath(net.Proj, n)).NodeValue(x.Graph()))
				}
				return graph.Gradient(loss, vars...)
			})
			if err != nil {
				t.Fatal(err)
			}
			step, err := model.NewExec(backend, st, func(_ *model.Scope, x, gi, m, y, w *graph.Node) []*graph.Node {
				_, loss := lossOf(x, gi, m, y, w)
				return []*graph.Node{loss, opt.Step(loss, net.Trainable(x.Graph()), true)}
			})
			if err != nil {
				t.Fatal(err)
			}
			inputs := func(bag string) []any {
				n := 5
				if bag == "B" {
					n = 3
				}
				gi := make([]int32, n)
				m := make([]float32, n)
				for i := range gi {
					gi[i], m[i] = int32(i), 1
				}
				y, err := weights.ToTensorF32(g.Tensors[c+".target"+bag])
				if err != nil {
					t.Fatal(err)
				}
				return []any{feat[bag], tensors.FromFlatDataAndDimensions(gi, 1, n), tensors.FromFlatDataAndDimensions(m, 1, n), y, pw}
			}
			names := func() []string {
				var out []string
				for _, s := range specs {
					out = append(out, s.Name)
				}
				return append(out, "proj.weight", "proj.bias")
			}()
			value := func(n string) []float32 {
				p := heads.ParamPath(net.Head, n)
				if n == "proj.weight" || n == "proj.bias" {
					p = heads.ParamPath(net.Proj, n[len("proj."):])
				}
				return tensors.MustCopyFlatData[float32](st.GetVariable(p).MustValue())
			}
			gs, err := grads.Exec(inputs("A")...)
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range names {
				want := fixtureF32(t, g, c+".grad0."+n)
				scale := 0.0
				for _, v := range want {
					scale = max(scale, math.Abs(float64(v)))
				}
				tol := 1e-5 * max(scale, 1e-3)
				if n == zeroGrad {
					tol = 1e-6 // mathematically 0: both sides hold rounding noise
				}
				gomlxtest.AssertClose(t, "grad0 "+n, tensors.MustCopyFlatData[float32](gs[i]), want, tol, 0)
			}
			wantLoss := fixtureF32(t, g, c+".loss")
			for k, bag := range []string{"A", "B", "A"} {
				outs, err := step.Exec(inputs(bag)...)
				if err != nil {
					t.Fatal(err)
				}
				if l := float64(tensors.ToScalar[float32](outs[0])); math.Abs(l-float64(wantLoss[k])) > 1e-5*max(1, math.Abs(float64(wantLoss[k]))) {
					t.Errorf("update %d: loss %g, torch %g", k+1, l, wantLoss[k])
				}
				for _, n := range names {
					want := fixtureF32(t, g, c+".step"+string(rune('1'+k))+"."+n)
					got := value(n)
					// Parameters move by ≈ lr = 1e-4 per update: compare
					// to 1e-7, a thousandth of a step.
					atol := 1e-7
					if n == zeroGrad {
						// Adam turns the rounding noise of a zero gradient
						// into steps of ±lr, of either sign: allow 2·lr
						// per update.
						atol = float64(k+1) * 2.02e-4
					}
					gomlxtest.AssertClose(t, "update "+string(rune('1'+k))+" "+n, got, want, atol, 1e-6)
					if c == "bug" && n[:5] != "proj." {
						init := fixtureF32(t, g, c+".init."+n)
						for i := range got {
							if got[i] != init[i] {
								t.Fatalf("reference optimiser: head parameter %s moved", n)
							}
						}
					}
				}
			}
		})
	}
}
