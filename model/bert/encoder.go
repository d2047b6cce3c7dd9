package bert

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// LoadInto checks a canonical weight set (HF BertModel names, see
// [ToCanonical]) against cfg and stores it in the scope's variables,
// creating or overwriting them; Linear weights are transposed into [in,
// out] kernels. Every missing, unexpected and mis-shaped tensor is named in
// the error (a *weights.MismatchError).
func LoadInto(scope *model.Scope, cfg Config, set *weights.Set) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	err := weights.LoadSpecs(scope, cfg.Specs(), set, weights.LoadOptions{Path: VariablePath,
		Value: func(s weights.Spec, t *weights.Tensor) (*tensors.Tensor, error) {
			vals, err := t.Float32()
			if err != nil {
				return nil, err
			}
			dims := s.Shape
			if isLinearWeight(s.Name) {
				vals = transpose2D(vals, dims[0], dims[1])
				dims = []int{dims[1], dims[0]}
			}
			return tensors.FromFlatDataAndDimensions(vals, dims...), nil
		}})
	var mm *weights.MismatchError
	if errors.As(err, &mm) && !cfg.NoPooler && len(mm.Missing) == 2 && len(mm.Unexpected)+len(mm.Misshaped) == 0 &&
		strings.HasPrefix(mm.Missing[0], "pooler.") && strings.HasPrefix(mm.Missing[1], "pooler.") {
		return fmt.Errorf("bert %s: %w\n(the file has no pooler, as Hugging Face saves BertForMaskedLM: set Config.NoPooler)", cfg.Name, err)
	}
	if err != nil {
		return fmt.Errorf("bert %s: %w", cfg.Name, err)
	}
	return nil
}

// SaveFrom reads the model's variables under scope back into a canonical
// set (HF names and layouts).
func SaveFrom(scope *model.Scope, cfg Config) (*weights.Set, error) {
	set, err := weights.SaveSpecs(scope, cfg.Specs(), weights.SaveOptions{Path: VariablePath,
		Tensor: func(s weights.Spec, val *tensors.Tensor) (*weights.Tensor, error) {
			if val.DType() != dtypes.Float32 {
				return nil, fmt.Errorf("%s: variable is %s, want float32", s.Name, val.DType())
			}
			vals, err := tensors.CopyFlatData[float32](val)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.Name, err)
			}
			if isLinearWeight(s.Name) {
				vals = transpose2D(vals, s.Shape[1], s.Shape[0])
			}
			if weights.NumElements(s.Shape) != len(vals) {
				return nil, fmt.Errorf("%s: variable has %d values, want %v", s.Name, len(vals), s.Shape)
			}
			return weights.FromFloat32(s.Name, s.Shape, vals), nil
		}})
	if err != nil {
		return nil, fmt.Errorf("bert %s: %w", cfg.Name, err)
	}
	return set, nil
}

// transpose2D transposes a row-major [rows, cols] matrix.
func transpose2D(v []float32, rows, cols int) []float32 {
	out := make([]float32, len(v))
	const blk = 32
	for r0 := 0; r0 < rows; r0 += blk {
		for c0 := 0; c0 < cols; c0 += blk {
			for r := r0; r < min(r0+blk, rows); r++ {
				for c := c0; c < min(c0+blk, cols); c++ {
					out[c*rows+r] = v[r*cols+c]
				}
			}
		}
	}
	return out
}

// Inputs is one batch for [Encoder.Forward]: [B, L] tensors.
type Inputs struct {
	// IDs are WordPiece ids (int32 or int64), each in [0, vocab).
	IDs *tensors.Tensor
	// TokenTypes (segment ids, int32 or int64) may be nil: all zero.
	TokenTypes *tensors.Tensor
	// Mask (1 real token, 0 padding; any integer, float or bool dtype) may
	// be nil: no padding.
	Mask *tensors.Tensor
}

// Result of [Encoder.Forward].
type Result struct {
	Last   *tensors.Tensor   // [B, L, H] last hidden state
	Pooled *tensors.Tensor   // [B, H] pooler output (nil without a pooler)
	Hidden []*tensors.Tensor // embeddings and every layer's output, when requested
}

// Encoder runs a BERT with loaded weights on token batches.
type Encoder struct {
	Config  Config
	backend compute.Backend
	store   *model.Store
	scope   *model.Scope
	execs   map[execKey]*model.Exec
}

type execKey struct{ types, mask, hidden bool }

// NewEncoder holds cfg's model on backend with the given canonical weights.
func NewEncoder(backend compute.Backend, cfg Config, set *weights.Set) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store := model.NewStore()
	scope := store.RootScope().In("bert")
	if err := LoadInto(scope, cfg, set); err != nil {
		return nil, err
	}
	return &Encoder{Config: cfg, backend: backend, store: store, scope: scope, execs: map[execKey]*model.Exec{}}, nil
}

// Forward encodes a batch. With hidden, every layer's output is returned
// as well (HF output_hidden_states).
func (e *Encoder) Forward(in Inputs, hidden bool) (*Result, error) {
	if err := CheckInputs(e.Config, in); err != nil {
		return nil, err
	}
	key := execKey{types: in.TokenTypes != nil, mask: in.Mask != nil, hidden: hidden}
	exec, ok := e.execs[key]
	if !ok {
		cfg := e.Config
		var err error
		exec, err = model.NewExec(e.backend, e.store, func(_ *model.Scope, xs []*graph.Node) []*graph.Node {
			ids := xs[0]
			ops.FeedVariables(e.store, ids.Graph()) // weights as parameters, sharing the store's buffers
			var tt, mask *graph.Node
			i := 1
			if key.types {
				tt, i = xs[i], i+1
			}
			if key.mask {
				mask = xs[i]
			}
			o := Encode(e.scope, cfg, ids, tt, mask)
			outs := []*graph.Node{o.Last}
			if o.Pooled != nil {
				outs = append(outs, o.Pooled)
			}
			if hidden {
				outs = append(outs, o.Hidden...)
			}
			return outs
		})
		if err != nil {
			return nil, fmt.Errorf("bert: %w", err)
		}
		e.execs[key] = exec
	}
	args := []any{in.IDs}
	if key.types {
		args = append(args, in.TokenTypes)
	}
	if key.mask {
		args = append(args, in.Mask)
	}
	outs, err := exec.Call(args...)
	if err != nil {
		return nil, fmt.Errorf("bert %s: forward: %w", e.Config.Name, err)
	}
	res := &Result{Last: outs[0]}
	outs = outs[1:]
	if !e.Config.NoPooler {
		res.Pooled, outs = outs[0], outs[1:]
	}
	if hidden {
		res.Hidden = outs
	}
	return res, nil
}

// CheckInputs validates a batch against cfg: shapes [B, L] with L ≤
// max_position_embeddings, integer ids in [0, vocab) and token types in
// [0, type_vocab_size), mask values 0 or 1. Out-of-range ids would
// otherwise index outside the embedding tables.
func CheckInputs(cfg Config, in Inputs) error {
	if in.IDs == nil {
		return fmt.Errorf("bert: no input ids")
	}
	dims := in.IDs.Shape().Dimensions
	if len(dims) != 2 || dims[0] == 0 || dims[1] == 0 {
		return fmt.Errorf("bert: input ids have shape %v, want [batch, seq] with both > 0", dims)
	}
	if dims[1] > cfg.MaxPositions {
		return fmt.Errorf("bert %s: sequence length %d exceeds max_position_embeddings %d", cfg.Name, dims[1], cfg.MaxPositions)
	}
	check := func(what string, t *tensors.Tensor, limit int64) error {
		if t == nil {
			return nil
		}
		if d := t.Shape().Dimensions; !slices.Equal(d, dims) {
			return fmt.Errorf("bert: %s have shape %v, want %v like the ids", what, d, dims)
		}
		vals, err := intValues(t)
		if err != nil {
			return fmt.Errorf("bert: %s: %w", what, err)
		}
		for i, v := range vals {
			if v < 0 || v >= limit {
				return fmt.Errorf("bert %s: %s[%d, %d] = %d is outside [0, %d)", cfg.Name, what, i/dims[1], i%dims[1], v, limit)
			}
		}
		return nil
	}
	if err := check("input ids", in.IDs, int64(cfg.VocabSize)); err != nil {
		return err
	}
	if err := check("token type ids", in.TokenTypes, int64(cfg.TypeVocabSize)); err != nil {
		return err
	}
	if in.Mask != nil {
		if d := in.Mask.Shape().Dimensions; !slices.Equal(d, dims) {
			return fmt.Errorf("bert: attention mask has shape %v, want %v like the ids", d, dims)
		}
		vals, err := maskValues(in.Mask)
		if err != nil {
			return fmt.Errorf("bert: attention mask: %w", err)
		}
		for i, v := range vals {
			if v != 0 && v != 1 {
				return fmt.Errorf("bert: attention mask[%d, %d] = %g, want 0 or 1", i/dims[1], i%dims[1], v)
			}
		}
	}
	return nil
}

func intValues(t *tensors.Tensor) ([]int64, error) {
	switch t.DType() {
	case dtypes.Int64:
		return tensors.CopyFlatData[int64](t)
	case dtypes.Int32:
		v, err := tensors.CopyFlatData[int32](t)
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, err
	}
	return nil, fmt.Errorf("dtype %s, want int32 or int64", t.DType())
}

func maskValues(t *tensors.Tensor) ([]float64, error) {
	conv := func(n int, at func(int) float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	switch t.DType() {
	case dtypes.Bool:
		v, err := tensors.CopyFlatData[bool](t)
		return conv(len(v), func(i int) float64 {
			if v[i] {
				return 1
			}
			return 0
		}), err
	case dtypes.Int64:
		v, err := tensors.CopyFlatData[int64](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), err
	case dtypes.Int32:
		v, err := tensors.CopyFlatData[int32](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), err
	case dtypes.Float32:
		v, err := tensors.CopyFlatData[float32](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), err
	case dtypes.Float64:
		v, err := tensors.CopyFlatData[float64](t)
		return conv(len(v), func(i int) float64 { return v[i] }), err
	case dtypes.Uint8:
		v, err := tensors.CopyFlatData[uint8](t)
		return conv(len(v), func(i int) float64 { return float64(v[i]) }), err
	}
	return nil, fmt.Errorf("dtype %s, want an integer, float or bool", t.DType())
}

// Pool computes a sentence embedding [B, H] from a forward result and the
// batch's mask (nil = no padding); see [Pool].
func (e *Encoder) Pool(res *Result, mask *tensors.Tensor, p Pooling) (*tensors.Tensor, error) {
	if _, err := ParsePooling(string(p)); err != nil {
		return nil, err
	}
	if p == PoolPooler {
		if res.Pooled == nil {
			return nil, fmt.Errorf("bert %s: no pooler in this model", e.Config.Name)
		}
		return res.Pooled, nil
	}
	if mask == nil {
		d := res.Last.Shape().Dimensions
		ones := make([]float32, d[0]*d[1])
		for i := range ones {
			ones[i] = 1
		}
		mask = tensors.FromFlatDataAndDimensions(ones, d[0], d[1])
	}
	out, err := graph.ExecOnce(e.backend, func(h, m *graph.Node) *graph.Node {
		return Pool(h, graph.ConvertDType(m, dtypes.Float32), p)
	}, res.Last, mask)
	if err != nil {
		return nil, fmt.Errorf("bert: pooling %s: %w", p, err)
	}
	return out, nil
}
