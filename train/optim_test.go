package train

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
)

// Fixture from testdata/gen/train/gen_adamw.py (torch 1.13).
const adamwGolden = "testdata/adamw_golden.safetensors"

func golden(t *testing.T) *weights.Set {
	t.Helper()
	s, err := weights.Load(adamwGolden)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func floats(t *testing.T, s *weights.Set, name string) []float32 {
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

func float64s(t *testing.T, s *weights.Set, name string) []float64 {
	t.Helper()
	tt, ok := s.Tensors[name]
	if !ok || tt.DType != weights.F64 {
		t.Fatalf("fixture has no float64 %q", name)
	}
	out := make([]float64, len(tt.Data)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(tt.Data[8*i:]))
	}
	return out
}

var toyParams = []string{"l1.weight", "l1.bias", "ln.weight", "ln.bias", "l2.weight", "l2.bias"}

// toyStore creates the fixture's model variables under /model.
func toyStore(t *testing.T, g *weights.Set) *model.Store {
	t.Helper()
	store := model.NewStore()
	for _, n := range toyParams {
		x, err := weights.ToTensorF32(g.Tensors["init."+n])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateVariable(toyPath(n), x); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

func toyPath(name string) string {
	switch name {
	case "l1.weight":
		return "/model/l1/weight"
	case "l1.bias":
		return "/model/l1/bias"
	case "ln.weight":
		return "/model/ln/weight"
	case "ln.bias":
		return "/model/ln/bias"
	case "l2.weight":
		return "/model/l2/weight"
	}
	return "/model/l2/bias"
}

// toyLoss is the fixture's model: mean((Linear(tanh(LN(Linear(x)))) − y)²).
func toyLoss(store *model.Store, x, y *graph.Node) *graph.Node {
	g := x.Graph()
	v := func(n string) *graph.Node { return store.GetVariable(toyPath(n)).NodeValue(g) }
	h := nn.Dense(x, v("l1.weight"), v("l1.bias"), compute.DenseLayoutOutputsInput)
	h = graph.Tanh(nn.LayerNorm(h, []int{-1}, 1e-5, v("ln.weight"), v("ln.bias"), nil))
	out := nn.Dense(h, v("l2.weight"), v("l2.bias"), compute.DenseLayoutOutputsInput)
	return graph.ReduceAllMean(graph.Square(graph.Sub(out, y)))
}

func stepExec(t *testing.T, store *model.Store, opt *Optimizer, apply bool) *model.Exec {
	t.Helper()
	e, err := model.NewExec(gomlxtest.Backend(t), store, func(_ *model.Scope, x, y *graph.Node) []*graph.Node {
		store.SetTraining(x.Graph(), true)
		loss := toyLoss(store, x, y)
		norm := opt.Step(loss, Trainable(store, x.Graph(), "/model/"), apply)
		return []*graph.Node{loss, norm}
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func compareParams(t *testing.T, g *weights.Set, store *model.Store, prefix string, tol float64) {
	t.Helper()
	for _, n := range toyParams {
		got := tensors.MustCopyFlatData[float32](store.GetVariable(toyPath(n)).MustValue())
		gomlxtest.AssertClose(t, prefix+n, got, floats(t, g, prefix+n), tol, tol)
	}
}

// TestAdamWMatchesTorch: three full-batch AdamW updates (weight decay on
// every parameter, learning rate changed between updates) give torch's
// parameters after every update.
func TestAdamWMatchesTorch(t *testing.T) {
	g := golden(t)
	store := toyStore(t, g)
	cfg := DefaultAdamW()
	cfg.LR, cfg.WeightDecay = 0.05, 0.1
	opt, err := NewOptimizer(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	step := stepExec(t, store, opt, true)
	x, _ := weights.ToTensorF32(g.Tensors["x"])
	y, _ := weights.ToTensorF32(g.Tensors["y"])
	wantLoss := floats(t, g, "all.loss")
	for k, lr := range []float64{0.05, 0.05, 0.005} {
		if err := opt.SetLR(lr); err != nil {
			t.Fatal(err)
		}
		outs, err := step.Exec(x, y)
		if err != nil {
			t.Fatal(err)
		}
		loss := tensors.ToScalar[float32](outs[0])
		if math.Abs(float64(loss-wantLoss[k])) > 1e-5*math.Abs(float64(wantLoss[k])) {
			t.Errorf("update %d: loss %g, torch %g", k+1, loss, wantLoss[k])
		}
		compareParams(t, g, store, "all.step"+string(rune('1'+k))+".", 2e-6)
	}
	if n, _ := opt.Updates(); n != 3 {
		t.Errorf("updates = %d, want 3", n)
	}
}

// TestAdamWDecayClipAccumulate: weight decay on matrices only, global-norm
// clipping and two micro-batches per update give torch's clip norm and
// parameters (the second update exercises the moments' bias correction).
func TestAdamWDecayClipAccumulate(t *testing.T) {
	g := golden(t)
	store := toyStore(t, g)
	cfg := DefaultAdamW()
	cfg.LR, cfg.WeightDecay, cfg.Decay, cfg.ClipNorm, cfg.Accumulate = 0.05, 0.1, DecayMatrices, 0.1, 2
	opt, err := NewOptimizer(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	micro, apply := stepExec(t, store, opt, false), stepExec(t, store, opt, true)
	xs := floats(t, g, "x")
	ys := floats(t, g, "y")
	part := func(i int) (*tensors.Tensor, *tensors.Tensor) {
		return tensors.FromFlatDataAndDimensions(xs[i*12:(i+1)*12], 3, 4), tensors.FromFlatDataAndDimensions(ys[i*3:(i+1)*3], 3, 1)
	}
	wantNorm := floats(t, g, "matrices.norm")
	for k := range 2 {
		x0, y0 := part(0)
		if _, err := micro.Exec(x0, y0); err != nil {
			t.Fatal(err)
		}
		x1, y1 := part(1)
		outs, err := apply.Exec(x1, y1)
		if err != nil {
			t.Fatal(err)
		}
		norm := tensors.ToScalar[float32](outs[1])
		if math.Abs(float64(norm-wantNorm[k])) > 1e-5*float64(wantNorm[k]) {
			t.Errorf("update %d: gradient norm %g, torch %g", k+1, norm, wantNorm[k])
		}
		if wantNorm[k] <= 0.1 {
			t.Fatalf("fixture norm %g does not exercise clipping", wantNorm[k])
		}
		compareParams(t, g, store, "matrices.step"+string(rune('1'+k))+".", 2e-6)
	}
	// The accumulators are back to zero after an update.
	for v := range store.IterVariables() {
		if len(v.Path()) > len("/optimizer/acc/") && v.Path()[:len("/optimizer/acc/")] == "/optimizer/acc/" {
			for _, x := range tensors.MustCopyFlatData[float32](v.MustValue()) {
				if x != 0 {
					t.Fatalf("%s not reset after the update", v.Path())
				}
			}
		}
	}
}

// TestScheduleMatchesTorch compares learning-rate sequences with torch's
// StepLR (fractional and integer step sizes) and MultiStepLR, bit for bit.
func TestScheduleMatchesTorch(t *testing.T) {
	g := golden(t)
	for _, c := range []struct {
		name string
		s    Schedule
	}{
		{"sched.steplr_half", Schedule{Gamma: 0.1, StepSize: 0.5}},
		{"sched.steplr_4", Schedule{Gamma: 0.1, StepSize: 4}},
		{"sched.multistep", Schedule{Gamma: 0.5, Milestones: []int{3, 6}}},
	} {
		want := float64s(t, g, c.name)
		for e, w := range want {
			if got := c.s.LR(1, e, 0); got != w {
				t.Errorf("%s epoch %d: lr %v, torch %v", c.name, e, got, w)
			}
		}
	}
	s := Schedule{StepSize: 2, Interval: PerUpdate}
	want := 1e-4
	for range 2 {
		want *= 0.1 // float64 steps, as torch
	}
	if got := s.LR(1e-4, 5, 4); got != want {
		t.Errorf("per-update schedule: %v", got)
	}
	if err := (Schedule{StepSize: 1, Milestones: []int{2}}).Validate(); err == nil {
		t.Error("step_size and milestones together accepted")
	}
}

// TestDecayPolicy: the matrices policy spares biases, norms, positional
// embeddings and the CLS token.
func TestDecayPolicy(t *testing.T) {
	cases := []struct {
		path string
		dims []int
		want bool
	}{
		{"/model/video_encoder/blocks/0/attn/q/weight", []int{96, 96}, true},
		{"/model/video_encoder/blocks/0/attn/q/bias", []int{96}, false},
		{"/model/video_encoder/norm_embed/weight", []int{768}, false},
		{"/model/video_encoder/cls_positional_encoding/pos_embed_spatial", []int{1, 3136, 96}, false},
		{"/model/video_encoder/cls_positional_encoding/cls_token", []int{1, 1, 96}, false},
		{"/model/video_encoder/patch_embed/patch_model/weight", []int{96, 3, 3, 7, 7}, true},
	}
	for _, c := range cases {
		sh := shapes.Make(dtypes.Float32, c.dims...)
		if got := DecayMatrices.Decays(c.path, sh); got != c.want {
			t.Errorf("matrices %s: %v, want %v", c.path, got, c.want)
		}
		if !DecayAll.Decays(c.path, sh) {
			t.Errorf("all %s: not decayed", c.path)
		}
	}
}

// TestTrainableOrderAndState: Trainable returns variables in path order
// whatever order they were created in (a resumed store creates them in
// checkpoint order), and never returns model state restored from a
// checkpoint (batch-norm running statistics).
func TestTrainableOrderAndState(t *testing.T) {
	st := model.NewStore()
	for _, p := range []string{"/m/z", "/m/b/running_mean", "/m/a", "/m/c"} {
		if err := setVariable(st, p, tensors.FromValue([]float32{1, 2})); err != nil {
			t.Fatal(err)
		}
	}
	exec, err := model.NewExec(gomlxtest.Backend(t), st, func(_ *model.Scope, x *graph.Node) []*graph.Node {
		g := x.Graph()
		sum := x
		for v := range st.IterVariables() {
			sum = graph.Add(sum, v.NodeValue(g))
		}
		var got []string
		for _, v := range Trainable(st, g, "/m/") {
			got = append(got, v.Path())
		}
		if want := "/m/a /m/c /m/z"; strings.Join(got, " ") != want {
			t.Errorf("Trainable = %v, want %s", got, want)
		}
		return []*graph.Node{sum}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Call(tensors.FromValue([]float32{0, 0})); err != nil {
		t.Fatal(err)
	}
}
