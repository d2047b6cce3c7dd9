package bert

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// goldenLoss is the generator's loss: Σ last·r_hidden + Σ pooled·r_pooled.
func goldenLoss(o *Output, rHidden, rPooled *graph.Node) *graph.Node {
	return graph.Add(graph.ReduceAllSum(graph.Mul(o.Last, rHidden)), graph.ReduceAllSum(graph.Mul(o.Pooled, rPooled)))
}

func f32Tensor(t testing.TB, set *weights.Set, name string) *tensors.Tensor {
	t.Helper()
	x, err := weights.ToTensorF32(set.Tensors[name])
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// gradients returns d loss / d θ for every parameter (HF names and
// layouts) under cfg, computed by GoMLX's autodiff on the golden batch.
func gradients(t *testing.T, cfg Config) map[string][]float32 {
	t.Helper()
	golden := mustLoad(t, tinyGolden)
	store := model.NewStore()
	scope := store.RootScope().In("bert")
	if err := LoadInto(scope, cfg, tinyCanonical(t)); err != nil {
		t.Fatal(err)
	}
	in := goldenInputs(t, golden)
	specs := cfg.Specs()
	outs, err := model.CallOnceN(gomlxtest.Backend(t), store, func(_ *model.Scope, xs []*graph.Node) []*graph.Node {
		o := Encode(scope, cfg, xs[0], xs[1], xs[2])
		loss := goldenLoss(o, xs[3], xs[4])
		vars := make([]*graph.Node, len(specs))
		for i, s := range specs {
			vars[i] = store.GetVariable(VariablePath(scope, s.Name)).NodeValue(loss.Graph())
		}
		return graph.Gradient(loss, vars...)
	}, in.IDs, in.TokenTypes, in.Mask, f32Tensor(t, golden, "loss.r_hidden"), f32Tensor(t, golden, "loss.r_pooled"))
	if err != nil {
		t.Fatal(err)
	}
	res := map[string][]float32{}
	for i, s := range specs {
		g := tensors.MustCopyFlatData[float32](outs[i])
		if isLinearWeight(s.Name) {
			g = transpose2D(g, s.Shape[1], s.Shape[0])
		}
		res[s.Name] = g
	}
	return res
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// TestTinyGradientsMatchTorch is the gradient check: d loss/dθ for every
// parameter against torch autograd on the same perturbed model and padded
// batch, to 1e-4 of each tensor's largest gradient. The padding row of the
// word embeddings must get exactly zero (nn.Embedding padding_idx).
func TestTinyGradientsMatchTorch(t *testing.T) {
	golden := mustLoad(t, tinyGolden)
	got := gradients(t, Tiny())
	global := 0.0
	for _, s := range Tiny().Specs() {
		global = max(global, maxAbs(f32(t, golden, "grad."+s.Name)))
	}
	for _, s := range Tiny().Specs() {
		want := f32(t, golden, "grad."+s.Name)
		scale := maxAbs(want)
		if keyBiasVanishes(t, s.Name, got[s.Name], want, global) {
			continue
		}
		if scale == 0 {
			t.Fatalf("torch gradient of %s is all zero: the fixture cannot test it", s.Name)
		}
		d := gomlxtest.Compare(got[s.Name], want)
		if d.MaxAbs > 1e-4*scale || d.NaNs > 0 {
			t.Errorf("grad %s: %s, exceeds 1e-4 × max|grad| = %.3g", s.Name, d, 1e-4*scale)
		} else if testing.Verbose() {
			t.Logf("grad %s: max|Δ|/max|grad| = %.2g", s.Name, d.MaxAbs/scale)
		}
	}
	pad := got["embeddings.word_embeddings.weight"][:Tiny().Hidden]
	if maxAbs(pad) != 0 {
		t.Errorf("padding row of the word embeddings has gradient %v, want 0", pad)
	}
}

// keyBiasVanishes handles the key projection's bias, whose gradient is
// analytically zero: it adds q·b_k to every score of a softmax row, which
// softmax ignores. Both sides must then be rounding noise relative to the
// largest gradient of the model. It reports whether name is such a bias.
func keyBiasVanishes(t *testing.T, name string, got, want []float32, global float64) bool {
	t.Helper()
	if !strings.HasSuffix(name, ".attention.self.key.bias") {
		return false
	}
	if g, w := maxAbs(got), maxAbs(want); g > 1e-6*global || w > 1e-6*global {
		t.Errorf("grad %s should vanish: ours %.3g, torch %.3g (largest gradient %.3g)", name, g, w, global)
	}
	return true
}

func isFrozen(f Freeze, name string) bool {
	if strings.HasPrefix(name, "embeddings.") {
		return f.Embeddings
	}
	for i := range f.Layers {
		if strings.HasPrefix(name, fmt.Sprintf("encoder.layer.%d.", i)) {
			return true
		}
	}
	return false
}

// TestFreezeGradients: with the embeddings and layer 0 frozen, the frozen
// parameters get an all-zero gradient (the graph stops it below layer 1)
// and the others keep exactly torch's gradients. With only layer 0 frozen,
// the gradient still flows through it to the trainable embeddings.
func TestFreezeGradients(t *testing.T) {
	golden := mustLoad(t, tinyGolden)
	for _, f := range []Freeze{{Embeddings: true, Layers: 1}, {Embeddings: false, Layers: 1}, {Embeddings: true}} {
		cfg := Tiny()
		cfg.Freeze = f
		got := gradients(t, cfg)
		for _, s := range cfg.Specs() {
			if f.Embeddings && isFrozen(cfg.Freeze, s.Name) {
				if m := maxAbs(got[s.Name]); m != 0 {
					t.Errorf("%+v: frozen %s has gradient max %g", f, s.Name, m)
				}
				continue
			}
			want := f32(t, golden, "grad."+s.Name)
			if keyBiasVanishes(t, s.Name, got[s.Name], want, 1) {
				continue
			}
			if d := gomlxtest.Compare(got[s.Name], want); d.MaxAbs > 1e-4*maxAbs(want) {
				t.Errorf("%+v: grad %s: %s", f, s.Name, d)
			}
		}
	}
}

// TestFreezeTrainingStep runs one AdamW step (dropout active) with the
// paper-style freezing applied to the tiny model (embeddings + layer 0; and
// layer 0 alone under trainable embeddings):
// frozen weights stay bit-identical and have no optimiser state; every
// trainable weight moves and has its two Adam moments.
func TestFreezeTrainingStep(t *testing.T) {
	for _, c := range []struct {
		f               Freeze
		frozen, trained int
	}{{Freeze{Embeddings: true, Layers: 1}, 5 + 16, 16 + 2}, {Freeze{Layers: 1}, 16, 5 + 16 + 2}} {
		t.Run(fmt.Sprintf("%+v", c.f), func(t *testing.T) { testFreezeTrainingStep(t, c.f, c.frozen, c.trained) })
	}
}

func testFreezeTrainingStep(t *testing.T, f Freeze, wantFrozen, wantTrained int) {
	golden := mustLoad(t, tinyGolden)
	cfg := Tiny()
	cfg.Freeze = f
	store := model.NewStore()
	scope := store.RootScope().In("bert")
	before := tinyCanonical(t)
	if err := LoadInto(scope, cfg, before); err != nil {
		t.Fatal(err)
	}
	opt := optimizer.Adam().LearningRate(1e-2).WeightDecay(0.01).Done()
	in := goldenInputs(t, golden)
	exec, err := model.NewExec(gomlxtest.Backend(t), store, func(_ *model.Scope, xs []*graph.Node) *graph.Node {
		g := xs[0].Graph()
		store.SetTraining(g, true)
		o := Encode(scope, cfg, xs[0], xs[1], xs[2])
		loss := goldenLoss(o, xs[3], xs[4])
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Call(in.IDs, in.TokenTypes, in.Mask, f32Tensor(t, golden, "loss.r_hidden"), f32Tensor(t, golden, "loss.r_pooled")); err != nil {
		t.Fatal(err)
	}
	after, err := SaveFrom(scope, cfg)
	if err != nil {
		t.Fatal(err)
	}
	moments := map[string]int{}
	for v := range store.IterVariables() {
		if strings.HasSuffix(v.Name(), "_moment") {
			moments[strings.TrimPrefix(v.Scope(), "/"+optimizer.AdamDefaultScope)+"/"+strings.TrimSuffix(strings.TrimSuffix(v.Name(), "_1st_moment"), "_2nd_moment")]++
		}
	}
	var nFrozen, nTrained int
	for _, s := range cfg.Specs() {
		a, b := f32(t, before, s.Name), f32(t, after, s.Name)
		changed := 0
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				changed++
			}
		}
		m := moments[VariablePath(scope, s.Name)]
		if isFrozen(cfg.Freeze, s.Name) {
			nFrozen++
			if changed != 0 || m != 0 {
				t.Errorf("frozen %s: %d values changed, %d optimiser moments", s.Name, changed, m)
			}
			continue
		}
		nTrained++
		if changed == 0 || m != 2 {
			t.Errorf("trainable %s: %d values changed, %d optimiser moments (want > 0 and 2)", s.Name, changed, m)
		}
	}
	if nFrozen != wantFrozen || nTrained != wantTrained {
		t.Errorf("%d frozen and %d trainable tensors, want %d and %d", nFrozen, nTrained, wantFrozen, wantTrained)
	}
	// Every BERT variable's trainable flag follows the freeze.
	frozenByPath := map[string]bool{}
	for _, s := range cfg.Specs() {
		frozenByPath[VariablePath(scope, s.Name)] = isFrozen(cfg.Freeze, s.Name)
	}
	for v := range store.IterVariables() {
		if frozen, ok := frozenByPath[v.Path()]; ok && v.Trainable == frozen {
			t.Errorf("variable %s: trainable=%v", v.Path(), v.Trainable)
		}
	}
}
