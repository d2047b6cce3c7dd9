package train

import (
	"iter"
	"math"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	gtrain "github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/loss"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// fixedBatches yields one-example batches (x, y) in order.
type fixedBatches struct{ x, y []float32 }

func (d fixedBatches) Name() string { return "fixed" }

func (d fixedBatches) Iter() iter.Seq2[gtrain.Batch, error] {
	return func(yield func(gtrain.Batch, error) bool) {
		for i := range d.x {
			b := gtrain.Batch{
				Inputs: []*tensors.Tensor{tensors.FromValue([]float32{d.x[i]})},
				Labels: []*tensors.Tensor{tensors.FromValue([]float32{d.y[i]})},
			}
			if !yield(b, nil) {
				return
			}
		}
	}
}

// TestUpstreamTrainerEvalIsStale shows that GoMLX's own trainer
// (ml/train.Trainer, whose evalStepGraph marks its graph as not training)
// is hit by the same behaviour as cmrfm's loops were
// (docs/gomlx-constant-variables.md), in two ways:
//
//  1. the mean-loss metric accumulates in non-trainable variables updated by
//     the eval graph itself; embedded as constants (their values at compile
//     time, zero), every eval step restarts the running sums from zero, so
//     Eval returns the last batch's loss instead of the mean;
//  2. the model weight is embedded too, so an Eval after a TrainStep scores
//     the weights the eval graph was compiled with.
//
// The model is y = w·x with w = 0, MSE, SGD without decay at lr 0.1, on two
// batches (x, y) = (1, 1) and (1, 3): the right mean loss is (1 + 9)/2 = 5;
// one step on (1, 1) moves w to 0.2, after which the mean is
// (0.64 + 7.84)/2 = 4.24. The test asserts the faulty numbers (9 and 9) on
// backends that prefer constants, so it fails the day upstream changes.
func TestUpstreamTrainerEvalIsStale(t *testing.T) {
	be := gomlxtest.Backend(t)
	st := model.NewStore()
	modelFn := func(scope *model.Scope, x *graph.Node) *graph.Node {
		w := scope.VariableWithValue("w", float32(0))
		return graph.Mul(x, w.NodeValue(x.Graph()))
	}
	tr := gtrain.NewTrainer(be, st, modelFn, loss.MeanSquaredError,
		optimizer.StochasticGradientDescent().WithDecay(false).WithLearningRate(0.1).Done(), nil, nil)
	ds := fixedBatches{x: []float32{1, 1}, y: []float32{1, 3}}
	eval := func() float64 {
		t.Helper()
		m, err := tr.Eval(ds)
		if err != nil {
			t.Fatal(err)
		}
		return float64(tensors.ToScalar[float32](m[0]))
	}
	before := eval()
	if _, err := tr.TrainStep(gtrain.Batch{
		Inputs: []*tensors.Tensor{tensors.FromValue([]float32{1})},
		Labels: []*tensors.Tensor{tensors.FromValue([]float32{1})},
	}); err != nil {
		t.Fatal(err)
	}
	w, err := st.GetVariable("/w").Value()
	if err != nil {
		t.Fatal(err)
	}
	if got := tensors.ToScalar[float32](w); math.Abs(float64(got)-0.2) > 1e-6 {
		t.Fatalf("w after one SGD step = %g, want 0.2 (the training graph itself must be right)", got)
	}
	after := eval()
	t.Logf("mean eval loss before the step %g (right: 5), after %g (right: 4.24)", before, after)
	if !be.Capabilities().PreferConstantsForVariables {
		if math.Abs(before-5) > 1e-6 || math.Abs(after-4.24) > 1e-5 {
			t.Fatalf("backend %s feeds variables as parameters, yet Eval gives %g and %g, want 5 and 4.24", be.Name(), before, after)
		}
		return
	}
	if before != 9 || after != 9 {
		t.Fatalf("GoMLX's Trainer.Eval no longer returns the stale 9 and 9 (got %g and %g): upstream changed; "+
			"re-read docs/gomlx-constant-variables.md and retire train.FeedVariables if it is fixed", before, after)
	}
}
