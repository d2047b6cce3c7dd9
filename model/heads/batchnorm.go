package heads

import (
	"fmt"
	"math"

	"github.com/cmrfm/cmrfm/model/weights"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph building reads best unqualified
	"github.com/gomlx/gomlx/ml/model"
)

// Feature batch-normalisation constants: torch.nn.BatchNorm1d's defaults.
const (
	BatchNormMomentum = 0.1
	BatchNormEps      = 1e-5
)

// Names of FeatureBatchNorm's running statistics under its scope (torch's
// buffer names). They are model state, not parameters: never trainable.
const (
	RunningMean = "running_mean"
	RunningVar  = "running_var"
)

// FeatureBatchNorm is torch.nn.BatchNorm1d(D, affine=False) on features x
// [B, D]. When the store is in training mode for x's graph it normalises
// with the batch mean and the biased batch variance and moves the running
// statistics (variables prefix.running_mean and prefix.running_var under
// scope — prefix "" for none — created as 0 and 1) by momentum 0.1 towards the batch mean and the unbiased batch
// variance; otherwise it normalises with the running statistics. Training
// needs B ≥ 2 (torch raises the same error).
func FeatureBatchNorm(scope *model.Scope, prefix string, x *Node) *Node {
	if x.Rank() != 2 {
		panic(fmt.Errorf("heads: feature batch norm wants [B, D] features, got %s", x.Shape()))
	}
	g := x.Graph()
	b, d := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	st := scope.Store()
	mk := func(name string, init float64) *model.Variable {
		if prefix != "" {
			name = prefix + "." + name
		}
		v := st.VariableWithShape(ParamPath(scope, name), shapes.Make(x.DType(), d),
			func(g *Graph, s shapes.Shape) *Node { return AddScalar(Zeros(g, s), init) })
		v.SetTrainable(false)
		return v
	}
	rm, rv := mk(RunningMean, 0), mk(RunningVar, 1)
	if !st.IsTraining(g) {
		mean, v := Reshape(rm.NodeValue(g), 1, d), Reshape(rv.NodeValue(g), 1, d)
		return Div(Sub(x, mean), Sqrt(AddScalar(v, BatchNormEps)))
	}
	if b < 2 {
		panic(fmt.Errorf("heads: feature batch norm in training needs a batch of at least 2, got %d", b))
	}
	mean := ReduceAndKeep(x, ReduceMean, 0)
	c := Sub(x, mean)
	v := ReduceAndKeep(Square(c), ReduceMean, 0)
	y := Div(c, Sqrt(AddScalar(v, BatchNormEps)))
	m := BatchNormMomentum
	unbiased := MulScalar(Reshape(v, d), float64(b)/float64(b-1))
	rm.SetValueGraph(Add(MulScalar(rm.NodeValue(g), 1-m), MulScalar(Reshape(mean, d), m)))
	rv.SetValueGraph(Add(MulScalar(rv.NodeValue(g), 1-m), MulScalar(StopGradient(unbiased), m)))
	return y
}

// FoldFeatureBatchNorm returns the projection set (weight [out, in], bias
// [out]) with the evaluation-mode FeatureBatchNorm named prefix in front of
// it folded in: weight·diag(1/σ) and bias − weight·(μ/σ), σ = √(running_var
// + eps). The result has only weight and bias.
func FoldFeatureBatchNorm(set *weights.Set, prefix string) (*weights.Set, error) {
	get := func(name string) (*weights.Tensor, []float32, error) {
		t, ok := set.Tensors[name]
		if !ok {
			return nil, nil, fmt.Errorf("heads: folding %s: no tensor %q", prefix, name)
		}
		v, err := t.Float32()
		if err != nil {
			return nil, nil, fmt.Errorf("heads: folding %s: %s: %w", prefix, name, err)
		}
		return t, v, nil
	}
	wt, w, err := get("weight")
	if err != nil {
		return nil, err
	}
	_, b, err := get("bias")
	if err != nil {
		return nil, err
	}
	_, mean, err := get(prefix + "." + RunningMean)
	if err != nil {
		return nil, err
	}
	_, variance, err := get(prefix + "." + RunningVar)
	if err != nil {
		return nil, err
	}
	if len(wt.Shape) != 2 || len(b) != wt.Shape[0] || len(mean) != wt.Shape[1] || len(variance) != wt.Shape[1] {
		return nil, fmt.Errorf("heads: folding %s: weight %v, bias %d, running statistics %d/%d do not fit", prefix, wt.Shape, len(b), len(mean), len(variance))
	}
	out, in := wt.Shape[0], wt.Shape[1]
	fw, fb := make([]float32, len(w)), make([]float32, out)
	for o := range out {
		acc := float64(b[o])
		for i := range in {
			s := math.Sqrt(float64(variance[i]) + BatchNormEps)
			wi := float64(w[o*in+i]) / s
			fw[o*in+i] = float32(wi)
			acc -= wi * float64(mean[i])
		}
		fb[o] = float32(acc)
	}
	res := weights.NewSet()
	res.Add(weights.FromFloat32("weight", []int{out, in}, fw))
	res.Add(weights.FromFloat32("bias", []int{out}, fb))
	return res, nil
}
