package train

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph building reads best unqualified
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// DecayPolicy says which variables AdamW's weight decay applies to.
type DecayPolicy string

const (
	// DecayAll decays every optimised variable: torch.optim.AdamW over
	// model.parameters(), what the authors' fine-tuning code does.
	DecayAll DecayPolicy = "all"
	// DecayMatrices decays weight matrices and kernels (rank ≥ 2) only,
	// sparing biases, LayerNorm scales and shifts, positional embeddings
	// and the CLS token: the usual transformer recipe.
	DecayMatrices DecayPolicy = "matrices"
)

// ParseDecayPolicy checks a policy name ("" means DecayAll).
func ParseDecayPolicy(s string) (DecayPolicy, error) {
	switch p := DecayPolicy(s); p {
	case "":
		return DecayAll, nil
	case DecayAll, DecayMatrices:
		return p, nil
	}
	return "", fmt.Errorf("train: weight decay policy %q: want %s or %s", s, DecayAll, DecayMatrices)
}

// Decays reports whether the policy decays a variable with this path and
// shape.
func (p DecayPolicy) Decays(path string, shape shapes.Shape) bool {
	if p != DecayMatrices {
		return true
	}
	if shape.Rank() < 2 {
		return false
	}
	return !strings.Contains(path, "pos_embed") && !strings.Contains(path, "cls_token")
}

// AdamW configures the optimiser: torch.optim.AdamW (decoupled weight
// decay, bias-corrected moments, amsgrad off), optionally preceded by
// torch's clip_grad_norm_ on the global L2 norm of the gradients, with
// gradient accumulation. The zero value is not usable; start from
// DefaultAdamW.
type AdamW struct {
	// LR is the base learning rate; the Schedule scales it.
	LR float64 `yaml:"lr" json:"lr"`
	// Betas are the moment decays (0.9, 0.999).
	Betas [2]float64 `yaml:"betas" json:"betas"`
	// Eps is added to the denominator (1e-8).
	Eps float64 `yaml:"eps" json:"eps"`
	// WeightDecay is the decoupled decay: p ← p·(1 − lr·wd) before the
	// Adam step.
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`
	// Decay chooses the decayed variables ("" = DecayAll).
	Decay DecayPolicy `yaml:"decay_policy" json:"decay_policy"`
	// ClipNorm > 0 rescales the gradients so that their global L2 norm is
	// at most ClipNorm: g ← g·min(1, ClipNorm/(‖g‖ + 1e-6)) (torch
	// clip_grad_norm_). 0 disables clipping.
	ClipNorm float64 `yaml:"clip_norm" json:"clip_norm"`
	// Accumulate is the number of micro-batches whose gradients are
	// averaged into one update (Lightning's accumulate_grad_batches; 1 or
	// 0: none).
	Accumulate int `yaml:"accumulate" json:"accumulate"`
	// Schedule scales LR by epoch or update.
	Schedule Schedule `yaml:"schedule" json:"schedule"`
}

// DefaultAdamW is torch's AdamW with lr 1e-4 (the authors' fine-tuning
// optimiser, weight decay 0.01), no schedule, clipping or accumulation.
func DefaultAdamW() AdamW {
	return AdamW{LR: 1e-4, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, WeightDecay: 0.01, Decay: DecayAll, Accumulate: 1}
}

// Validate checks the settings.
func (a AdamW) Validate() error {
	if !(a.LR > 0) || math.IsInf(a.LR, 0) {
		return fmt.Errorf("train: learning rate %g: want > 0", a.LR)
	}
	for _, b := range a.Betas {
		if !(b >= 0 && b < 1) {
			return fmt.Errorf("train: AdamW betas %v: want 0 ≤ β < 1", a.Betas)
		}
	}
	if !(a.Eps > 0) {
		return fmt.Errorf("train: AdamW eps %g: want > 0", a.Eps)
	}
	if a.WeightDecay < 0 || math.IsNaN(a.WeightDecay) {
		return fmt.Errorf("train: weight decay %g: want ≥ 0", a.WeightDecay)
	}
	if _, err := ParseDecayPolicy(string(a.Decay)); err != nil {
		return err
	}
	if a.ClipNorm < 0 || math.IsNaN(a.ClipNorm) {
		return fmt.Errorf("train: clip norm %g: want ≥ 0", a.ClipNorm)
	}
	if a.Accumulate < 0 {
		return fmt.Errorf("train: accumulate %d: want ≥ 1", a.Accumulate)
	}
	return a.Schedule.Validate()
}

func (a AdamW) accumulate() int { return max(a.Accumulate, 1) }

// Variable paths of the optimiser state. Everything lives under
// /optimizer, so a checkpoint of the store holds it and a model-only
// export can leave it out.
const (
	ScopeOptimizer = "optimizer"
	VarLR          = "lr"        // float64 scalar: the learning rate of the next update
	VarUpdates     = "updates"   // int64 scalar: updates applied (torch's step)
	VarAccumCount  = "acc_count" // float32 scalar: micro-batches accumulated since the last update
	VarSkipped     = "skipped"   // int64 scalar: updates skipped for a non-finite loss or gradient
	scopeM         = "m"         // first moments
	scopeV         = "v"         // second moments
	scopeAcc       = "acc"       // accumulated gradients
)

// Optimizer adds AdamW updates to training graphs. Its state (moments,
// accumulators, learning rate, update count) is held in variables of the
// store, so it is checkpointed with the model and the training step stays
// a pure function of (variables, batch).
type Optimizer struct {
	cfg   AdamW
	store *model.Store
}

// NewOptimizer returns an optimiser keeping its state in store. The
// learning rate variable starts at cfg.LR (or keeps a restored value).
func NewOptimizer(store *model.Store, cfg AdamW) (*Optimizer, error) {
	if cfg.Decay == "" {
		cfg.Decay = DecayAll
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Optimizer{cfg: cfg, store: store}
	o.lrVar()
	o.updatesVar()
	o.countVar()
	o.skippedVar()
	return o, nil
}

// Config returns the optimiser's settings.
func (o *Optimizer) Config() AdamW { return o.cfg }

func optPath(parts ...string) string {
	return model.JoinPath(append([]string{"/" + ScopeOptimizer}, parts...)...)
}

func (o *Optimizer) state(path string, value any) *model.Variable {
	v := o.store.GetVariable(path)
	if v == nil {
		v = o.store.VariableWithValue(path, value)
	}
	v.SetTrainable(false)
	return v
}

func (o *Optimizer) lrVar() *model.Variable { return o.state(optPath(VarLR), o.cfg.LR) }
func (o *Optimizer) updatesVar() *model.Variable {
	return o.state(optPath(VarUpdates), int64(0))
}
func (o *Optimizer) countVar() *model.Variable { return o.state(optPath(VarAccumCount), float32(0)) }
func (o *Optimizer) skippedVar() *model.Variable {
	return o.state(optPath(VarSkipped), int64(0))
}

// Skipped returns the number of updates skipped so far because the loss or
// a gradient was not finite (see Step).
func (o *Optimizer) Skipped() (int, error) {
	t, err := o.skippedVar().Value()
	if err != nil {
		return 0, err
	}
	return int(tensors.ToScalar[int64](t)), nil
}

// slot returns the optimiser variable sub/<path of v>, zero-initialised.
func (o *Optimizer) slot(sub string, v *model.Variable) *model.Variable {
	p := optPath(sub) + v.Path()
	s := o.store.GetVariable(p)
	if s == nil {
		s = o.store.VariableWithShape(p, v.Shape(), initializer.Zero)
	}
	s.SetTrainable(false)
	return s
}

// SetLR sets the learning rate of the next updates (the loop calls it with
// the schedule's value before each update).
func (o *Optimizer) SetLR(lr float64) error {
	return o.lrVar().SetValue(tensors.FromScalar(lr))
}

// LR returns the current learning rate.
func (o *Optimizer) LR() (float64, error) {
	t, err := o.lrVar().Value()
	if err != nil {
		return 0, err
	}
	return tensors.ToScalar[float64](t), nil
}

// Updates returns the number of updates applied.
func (o *Optimizer) Updates() (int, error) {
	t, err := o.updatesVar().Value()
	if err != nil {
		return 0, err
	}
	return int(tensors.ToScalar[int64](t)), nil
}

// Trainable lists, sorted by path, the trainable variables graph g uses
// whose path starts with one of prefixes (none: any). Optimiser state, the
// RNG state and model state (IsModelState) are never trainable. The order
// is by path, not by creation: a resumed store creates its variables in
// checkpoint order, and float32 sums over variables (the gradient norm)
// must not depend on it, or a resumed run would not be bit-identical.
func Trainable(store *model.Store, g *Graph, prefixes ...string) []*model.Variable {
	var out []*model.Variable
	for v := range store.IterVariables() {
		if !v.Trainable || !v.InUseByGraph(g) {
			continue
		}
		if len(prefixes) == 0 {
			out = append(out, v)
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(v.Path(), p) {
				out = append(out, v)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b *model.Variable) int { return strings.Compare(a.Path(), b.Path()) })
	return out
}

// Step adds the optimiser to a training graph for the micro-batch whose
// loss is loss, over the variables vars (see Trainable):
//
//   - apply = false: the gradients are added to the accumulators (a
//     micro-batch that is not the last of its accumulation group);
//   - apply = true: g = (accumulated + gradient)/(micro-batches in the
//     group), then optional global-norm clipping, then one AdamW update
//     of every variable; the accumulators are reset.
//
// It returns the global L2 norm of g before clipping (a zero scalar when
// apply is false). Every variable must be float32, and g must feed its
// variables as parameters (a graph marked for training, or FeedVariables):
// Step panics, naming the variable, when one is a compile-time constant.
//
// A non-finite loss or gradient never reaches the model. The update is
// computed, then every variable it changes — parameters, moments, the
// update count — takes its new value only if the loss, the gradient norm
// (and, when accumulating, every micro-batch loss of the group) are
// finite, and keeps its old value otherwise, inside the graph; the
// accumulators are cleared either way and the Skipped counter goes up. With
// finite values the selection returns the new values bit for bit.
func (o *Optimizer) Step(loss *Node, vars []*model.Variable, apply bool) *Node {
	g := loss.Graph()
	if len(vars) == 0 {
		panic("train: no trainable variable in the graph")
	}
	params := make([]*Node, len(vars))
	for i, v := range vars {
		if v.DType() != dtypes.Float32 {
			panic(fmt.Sprintf("train: variable %s is %s; the optimiser handles float32", v.Path(), v.DType()))
		}
		params[i] = fedAsParameter(v, g)
	}
	grads := Gradient(loss, params...)
	count := o.countVar()
	n := AddScalar(fedAsParameter(count, g), 1)
	finiteLoss := IsFinite(loss)
	if !apply {
		for i, v := range vars {
			acc := o.slot(scopeAcc, v)
			acc.SetNodeValue(Add(fedAsParameter(acc, g), grads[i]))
		}
		// A non-finite loss poisons the count, so the group's update is
		// skipped even when its gradient came out finite.
		count.SetNodeValue(Where(finiteLoss, n, Scalar(g, dtypes.Float32, math.NaN())))
		return ScalarZero(g, dtypes.Float32)
	}
	ok := finiteLoss
	if o.cfg.accumulate() > 1 {
		ok = LogicalAnd(ok, IsFinite(n))
		inv := Inverse(n)
		for i, v := range vars {
			acc := o.slot(scopeAcc, v)
			grads[i] = Mul(Add(fedAsParameter(acc, g), grads[i]), inv)
			acc.SetNodeValue(ZerosLike(grads[i]))
		}
		count.SetNodeValue(ZerosLike(n))
	}
	norms := make([]*Node, len(grads))
	for i, gr := range grads {
		norms[i] = Sqrt(ReduceAllSum(Square(gr)))
	}
	norm := Sqrt(ReduceAllSum(Square(Stack(norms, 0))))
	ok = LogicalAnd(ok, IsFinite(norm))
	keep := func(next, prev *Node) *Node { return Where(ok, next, prev) }
	if o.cfg.ClipNorm > 0 {
		coef := MinScalar(Div(Scalar(g, dtypes.Float32, o.cfg.ClipNorm), AddScalar(norm, 1e-6)), 1)
		for i := range grads {
			grads[i] = Mul(grads[i], coef)
		}
	}
	// Scalars in float64, as torch computes them in Python doubles, then
	// rounded to float32 where they meet the tensors.
	lr := fedAsParameter(o.lrVar(), g)
	upd := o.updatesVar()
	prevStep := fedAsParameter(upd, g)
	step := AddScalar(prevStep, 1)
	upd.SetNodeValue(keep(step, prevStep))
	skipped := o.skippedVar()
	prevSkipped := fedAsParameter(skipped, g)
	skipped.SetNodeValue(keep(prevSkipped, AddScalar(prevSkipped, 1)))
	t := ConvertDType(step, dtypes.Float64)
	b1, b2 := o.cfg.Betas[0], o.cfg.Betas[1]
	bc1 := OneMinus(Pow(Scalar(g, dtypes.Float64, b1), t))
	bc2 := OneMinus(Pow(Scalar(g, dtypes.Float64, b2), t))
	stepSize := ConvertDType(Div(lr, bc1), dtypes.Float32)
	sqrtBC2 := ConvertDType(Sqrt(bc2), dtypes.Float32)
	decay := ConvertDType(OneMinus(MulScalar(lr, o.cfg.WeightDecay)), dtypes.Float32)
	for i, v := range vars {
		gr := grads[i]
		mv, vv := o.slot(scopeM, v), o.slot(scopeV, v)
		mPrev, sPrev := fedAsParameter(mv, g), fedAsParameter(vv, g)
		m := Add(MulScalar(mPrev, b1), MulScalar(gr, 1-b1))
		s := Add(MulScalar(sPrev, b2), Mul(MulScalar(gr, 1-b2), gr))
		mv.SetNodeValue(keep(m, mPrev))
		vv.SetNodeValue(keep(s, sPrev))
		p := params[i]
		if o.cfg.WeightDecay > 0 && o.cfg.Decay.Decays(v.Path(), v.Shape()) {
			p = Mul(p, decay)
		}
		denom := AddScalar(Div(Sqrt(s), sqrtBC2), o.cfg.Eps)
		v.SetNodeValue(keep(Sub(p, Mul(stepSize, Div(m, denom))), params[i]))
	}
	return norm
}

// ZeroAccumulators clears the accumulated gradients (a partial group that
// will not be applied).
func (o *Optimizer) ZeroAccumulators() error {
	prefix := optPath(scopeAcc) + "/"
	for v := range o.store.IterVariables() {
		if strings.HasPrefix(v.Path(), prefix) {
			if err := v.SetValue(tensors.FromShape(v.Shape())); err != nil {
				return err
			}
		}
	}
	return o.countVar().SetValue(tensors.FromScalar(float32(0)))
}
