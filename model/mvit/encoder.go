package mvit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// LoadInto checks a canonical weight set against cfg and stores it in the
// scope's variables (creating or overwriting them). A set carrying the
// classification head for a head-less config is an error: drop it with
// [DropHead] first.
func LoadInto(scope *model.Scope, cfg Config, set *weights.Set) error {
	if err := weights.LoadSpecs(scope, cfg.Specs(), set, weights.LoadOptions{}); err != nil {
		return fmt.Errorf("mvit %s: %w", cfg.Name, err)
	}
	return nil
}

// SaveFrom reads the model's variables under scope back into a canonical set.
func SaveFrom(scope *model.Scope, cfg Config) (*weights.Set, error) {
	set, err := weights.SaveSpecs(scope, cfg.Specs(), weights.SaveOptions{})
	if err != nil {
		return nil, fmt.Errorf("mvit %s: %w", cfg.Name, err)
	}
	return set, nil
}

// Encoder runs an MViT with loaded weights on clip batches.
type Encoder struct {
	Config  Config
	backend compute.Backend
	store   *model.Store
	scope   *model.Scope
	execs   map[bool]*model.Exec // by "with attention"
}

// NewEncoder holds cfg's model on backend with the given canonical weights.
func NewEncoder(backend compute.Backend, cfg Config, set *weights.Set) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store := model.NewStore()
	scope := store.RootScope().In("mvit")
	if err := LoadInto(scope, cfg, set); err != nil {
		return nil, err
	}
	return &Encoder{Config: cfg, backend: backend, store: store, scope: scope, execs: map[bool]*model.Exec{}}, nil
}

// Result of [Encoder.Forward].
type Result struct {
	Features  *tensors.Tensor   // [B, D]
	Logits    *tensors.Tensor   // [B, classes], nil without a head
	Attention []*tensors.Tensor // per block [B, heads, Nq, Nk], when requested
}

// Forward encodes x [B, C, T, H, W] (float32). With attention, every block's
// attention maps are returned too.
func (e *Encoder) Forward(x *tensors.Tensor, attention bool) (res *Result, err error) {
	want := []int{e.Config.InChannels, e.Config.Frames, e.Config.Height, e.Config.Width}
	if d := x.Shape().Dimensions; len(d) != 5 || !slices.Equal(d[1:], want) {
		return nil, fmt.Errorf("mvit %s: input shape %v, want [B %s]", e.Config.Name, x.Shape().Dimensions, strings.Trim(fmt.Sprint(want), "[]"))
	}
	exec, ok := e.execs[attention]
	if !ok {
		cfg := e.Config
		exec, err = model.NewExec(e.backend, e.store, func(_ *model.Scope, x *graph.Node) []*graph.Node {
			ops.FeedVariables(e.store, x.Graph()) // weights as parameters, sharing the store's buffers
			o := Encode(e.scope, cfg, x)
			outs := []*graph.Node{o.Features}
			if o.Logits != nil {
				outs = append(outs, o.Logits)
			}
			if attention {
				outs = append(outs, o.Attention...)
			}
			return outs
		})
		if err != nil {
			return nil, fmt.Errorf("mvit: %w", err)
		}
		e.execs[attention] = exec
	}
	outs, err := exec.Call(x)
	if err != nil {
		return nil, fmt.Errorf("mvit %s: forward: %w", e.Config.Name, err)
	}
	res = &Result{Features: outs[0]}
	outs = outs[1:]
	if e.Config.NumClasses > 0 {
		res.Logits, outs = outs[0], outs[1:]
	}
	if attention {
		res.Attention = outs
	}
	return res, nil
}

// InputShape is the float32 shape of a batch of clips for cfg.
func InputShape(cfg Config, batch int) shapes.Shape {
	return shapes.Make(dtypes.Float32, batch, cfg.InChannels, cfg.Frames, cfg.Height, cfg.Width)
}
