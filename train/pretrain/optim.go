package pretrain

// INTERIM: the shared training core (package train: AdamW with weight-decay
// exclusions, step decay, global-norm clipping, gradient accumulation,
// checkpoints) was not in the repository while this package was written.
// This file is the smallest update step pretraining needs; it should be
// replaced by the core's when that lands (see docs/pretraining.md).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph building reads best unqualified
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// Variable names of the optimiser state, under ScopeOptim.
const (
	ScopeOptim = "optimizer"
	VarLR      = "lr"   // the current learning rate (set by the host each epoch)
	VarStep    = "step" // the number of updates applied (int64)
	scopeAccum = "accumulated"
	scopeM     = "m" // Adam first moments
	scopeV     = "v" // Adam second moments
)

// Decays reports whether AdamW decays a variable: weights of rank ≥ 2,
// except positional embeddings and the CLS token (biases, LayerNorm
// parameters and the temperature are never decayed).
func Decays(v *model.Variable) bool {
	if v.Shape().Rank() < 2 {
		return false
	}
	n := v.Path()
	return !strings.Contains(n, "pos_embed") && !strings.Contains(n, "cls_token")
}

// trainables lists the trainable model variables used by g, sorted by
// path: the order fixes the summation order of the gradient norm, and it
// must not depend on whether variables were created by the graph or
// restored from a checkpoint (resume must be bit-identical).
func trainables(store *model.Store, g *Graph) []*model.Variable {
	var out []*model.Variable
	for v := range store.RootScope().In(ScopeModel).IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *model.Variable) int { return strings.Compare(a.Path(), b.Path()) })
	return out
}

func optimVar(store *model.Store, sub, path string, shape shapes.Shape) *model.Variable {
	p := model.JoinPath("/"+ScopeOptim, sub) + path
	v := store.VariableWithShape(p, shape, initializer.Zero)
	v.SetTrainable(false)
	return v
}

// LRVariable returns the learning-rate variable (float32 scalar).
func LRVariable(store *model.Store, initial float64) *model.Variable {
	v := store.VariableWithValue(model.JoinPath("/"+ScopeOptim, VarLR), float32(initial))
	v.SetTrainable(false)
	return v
}

// StepVariable returns the update counter.
func StepVariable(store *model.Store) *model.Variable {
	v := store.VariableWithValue(model.JoinPath("/"+ScopeOptim, VarStep), int64(0))
	v.SetTrainable(false)
	return v
}

// updateGraph adds the optimiser to a training graph whose loss is loss:
//
//   - apply = false: the gradients are added to accumulators (a micro-batch
//     of gradient accumulation);
//   - apply = true: g = (accumulated + gradient)/Accumulate, then the
//     global-norm clip (torch clip_grad_norm_: ×min(1, c/(‖g‖₂ + 1e-6))),
//     then AdamW (torch semantics: p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε) with
//     bias-corrected moments), and the accumulators are reset.
//
// It returns the global gradient norm before clipping (0 when not
// applying).
func updateGraph(store *model.Store, loss *Node, o OptimConfig) *Node {
	return buildUpdate(store, loss, o, true)
}

func accumulateGraph(store *model.Store, loss *Node, o OptimConfig) {
	buildUpdate(store, loss, o, false)
}

func buildUpdate(store *model.Store, loss *Node, o OptimConfig, apply bool) *Node {
	g := loss.Graph()
	vars := trainables(store, g)
	if len(vars) == 0 {
		panic("pretrain: no trainable variable in the graph")
	}
	nodes := make([]*Node, len(vars))
	for i, v := range vars {
		nodes[i] = v.NodeValue(g)
	}
	grads := Gradient(loss, nodes...)
	accumulating := o.Accumulate > 1
	if !apply {
		for i, v := range vars {
			acc := optimVar(store, scopeAccum, v.Path(), v.Shape())
			acc.SetNodeValue(Add(acc.NodeValue(g), grads[i]))
		}
		return nil
	}
	if accumulating {
		for i, v := range vars {
			acc := optimVar(store, scopeAccum, v.Path(), v.Shape())
			grads[i] = MulScalar(Add(acc.NodeValue(g), grads[i]), 1/float64(o.Accumulate))
			acc.SetNodeValue(ZerosLike(grads[i]))
		}
	}
	sq := make([]*Node, len(grads))
	for i, gr := range grads {
		sq[i] = ReduceAllSum(Square(gr))
	}
	norm := Sqrt(ReduceAllSum(Stack(sq, 0)))
	if o.ClipNorm > 0 {
		coef := MinScalar(Div(Scalar(g, dtypes.Float32, o.ClipNorm), AddScalar(norm, 1e-6)), 1)
		for i := range grads {
			grads[i] = Mul(grads[i], coef)
		}
	}
	lr := LRVariable(store, o.LR).NodeValue(g)
	stepVar := StepVariable(store)
	step := AddScalar(stepVar.NodeValue(g), 1)
	stepVar.SetNodeValue(step)
	t := ConvertDType(step, dtypes.Float32)
	b1, b2 := o.Betas[0], o.Betas[1]
	bc1 := OneMinus(Pow(Scalar(g, dtypes.Float32, b1), t))
	bc2 := OneMinus(Pow(Scalar(g, dtypes.Float32, b2), t))
	stepSize := Div(lr, bc1)
	sqrtBC2 := Sqrt(bc2)
	for i, v := range vars {
		if v.DType() != dtypes.Float32 {
			panic(fmt.Sprintf("pretrain: trainable %s is %s, want float32", v.Path(), v.DType()))
		}
		gr := grads[i]
		mv := optimVar(store, scopeM, v.Path(), v.Shape())
		vv := optimVar(store, scopeV, v.Path(), v.Shape())
		m := Add(MulScalar(mv.NodeValue(g), b1), MulScalar(gr, 1-b1))
		s := Add(MulScalar(vv.NodeValue(g), b2), MulScalar(Square(gr), 1-b2))
		mv.SetNodeValue(m)
		vv.SetNodeValue(s)
		p := nodes[i]
		if o.WeightDecay > 0 && Decays(v) {
			p = Mul(p, OneMinus(MulScalar(lr, o.WeightDecay)))
		}
		denom := AddScalar(Div(Sqrt(s), sqrtBC2), o.Eps)
		v.SetNodeValue(Sub(p, Mul(stepSize, Div(m, denom))))
	}
	return norm
}

// LearningRate is the step-decay schedule: the base rate, times gamma once
// epoch ≥ decayEpoch (decayEpoch 0: never).
func LearningRate(o OptimConfig, epoch int) float64 {
	if o.DecayEpoch > 0 && epoch >= o.DecayEpoch {
		return o.LR * o.DecayGamma
	}
	return o.LR
}
