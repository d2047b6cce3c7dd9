package mvit

import (
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// benchForward times one forward pass of cfg on a batch of one clip with
// constant weights (the compile happens before the timer). With constants,
// the weights are embedded in the graph as constants (what GoMLX does by
// default on the Go backend for graphs not marked for training) instead of
// fed as parameters (what mvit.Encoder does, docs/gomlx-constant-variables.md).
func benchForward(b *testing.B, cfg Config, constants bool) {
	be, err := ops.NewInferenceBackend("") // the backend cmrfm forward and predict use
	if err != nil {
		b.Fatal(err)
	}
	store := model.NewStore()
	scope := store.RootScope().In("mvit")
	if err := LoadInto(scope, cfg, constantWeights(cfg, 0.01)); err != nil { // skip random initialisation
		b.Fatal(err)
	}
	exec, err := model.NewExec(be, store, func(_ *model.Scope, x *graph.Node) *graph.Node {
		if !constants {
			ops.FeedVariables(store, x.Graph())
		}
		return Encode(scope, cfg, x).Features
	})
	if err != nil {
		b.Fatal(err)
	}
	x := tensors.FromShape(InputShape(cfg, 1))
	if _, err := exec.Call(x); err != nil { // compile + initialise variables
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := gomlxtest.CPUSeconds()
	for b.Loop() {
		if _, err := exec.Call(x); err != nil {
			b.Fatal(err)
		}
	}
	// CPU seconds per op (all threads): robust to other load on a shared machine.
	b.ReportMetric((gomlxtest.CPUSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(2*float64(cfg.MultiplyAdds())/1e9*float64(b.N)/b.Elapsed().Seconds(), "GFLOP/s")
}

func BenchmarkForwardMViTB16x4(b *testing.B) { benchForward(b, MViTB16x4(), false) }

// BenchmarkForwardMViTB16x4Constants is the same with the weights embedded
// as graph constants.
func BenchmarkForwardMViTB16x4Constants(b *testing.B) { benchForward(b, MViTB16x4(), true) }

// smallTrainConfig is MViT-B's 16 blocks on 3×8×64×64 clips: the training
// benchmark (testdata/gen/model/mvit/full_mvit.py train times the same in torch).
func smallTrainConfig() Config {
	c := MViTB16x4()
	c.Frames, c.Height, c.Width = 8, 64, 64
	return c
}

// BenchmarkTrainStepSmall times forward + backward (gradients of Σ features
// with respect to every parameter) on a batch of 2 small clips.
func BenchmarkTrainStepSmall(b *testing.B) {
	cfg := smallTrainConfig()
	be := gomlxtest.Backend(b)
	store := model.NewStore()
	scope := store.RootScope().In("mvit")
	if err := LoadInto(scope, cfg, constantWeights(cfg, 0.01)); err != nil {
		b.Fatal(err)
	}
	specs := cfg.Specs()
	exec, err := model.NewExec(be, store, func(_ *model.Scope, x *graph.Node) []*graph.Node {
		loss := graph.ReduceAllSum(Encode(scope, cfg, x).Features)
		vars := make([]*graph.Node, len(specs))
		for i, s := range specs {
			vars[i] = store.GetVariable(ParamPath(scope, s.Name)).NodeValue(x.Graph())
		}
		return graph.Gradient(loss, vars...)
	})
	if err != nil {
		b.Fatal(err)
	}
	x := tensors.FromShape(InputShape(cfg, 2))
	if _, err := exec.Call(x); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := gomlxtest.CPUSeconds()
	for b.Loop() {
		if _, err := exec.Call(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((gomlxtest.CPUSeconds()-cpu0)/float64(b.N), "cpu-s/op")
}
func BenchmarkForwardTiny(b *testing.B) { benchForward(b, Tiny(0), false) }

// constantWeights fills every parameter with v (timing does not depend on values).
func constantWeights(cfg Config, v float32) *weights.Set {
	s := weights.NewSet()
	for _, sp := range cfg.Specs() {
		vals := make([]float32, weights.NumElements(sp.Shape))
		for i := range vals {
			vals[i] = v
		}
		s.Add(weights.FromFloat32(sp.Name, sp.Shape, vals))
	}
	return s
}
