package bert

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph building reads best unqualified
)

// Pooling is a way to turn per-token hidden states into one vector per
// sequence.
type Pooling string

// Poolings. The paper does not say which one its text tower used
// (docs/reference.md §3.7: the authors' model_factory.pool offers max, mean and
// sum over a mask, left over from ConVIRT).
const (
	PoolCLS    Pooling = "cls"    // the first token's hidden state ([CLS])
	PoolPooler Pooling = "pooler" // HF pooler_output: tanh(W·h[CLS] + b)
	PoolMean   Pooling = "mean"   // mean over the real tokens (mask = 1)
	PoolMax    Pooling = "max"    // element-wise max over the real tokens
)

// ParsePooling checks a pooling name.
func ParsePooling(s string) (Pooling, error) {
	switch p := Pooling(s); p {
	case PoolCLS, PoolPooler, PoolMean, PoolMax:
		return p, nil
	}
	return "", fmt.Errorf("bert: unknown pooling %q (want cls, pooler, mean or max)", s)
}

// Pool reduces hidden states [B, L, H] to [B, H] over the real tokens of
// mask [B, L] (float32, 1 real / 0 padding; nil means no padding):
//
//	cls:  h[:, 0]
//	mean: Σₗ h[:, l]·m[:, l] / Σₗ m[:, l]
//	max:  maxₗ { h[:, l] : m[:, l] = 1 }
//
// PoolPooler needs the pooler's output; use [Output.Pool] for it. A row
// whose mask is all zero gives NaN (mean) or the lowest float32 (max).
func Pool(hidden, mask *Node, p Pooling) *Node {
	if hidden.Rank() != 3 {
		panic(fmt.Sprintf("bert.Pool: hidden states %s, want [batch, seq, hidden]", hidden.Shape()))
	}
	dims := hidden.Shape().Dimensions
	switch p {
	case PoolCLS:
		return Reshape(Slice(hidden, AxisRange(), AxisElem(0), AxisRange()), dims[0], dims[2])
	case PoolMean:
		if mask == nil {
			return ReduceMean(hidden, 1)
		}
		m := InsertAxes(ConvertDType(mask, hidden.DType()), -1) // [B, L, 1]
		return Div(ReduceSum(Mul(hidden, m), 1), ReduceSum(m, 1))
	case PoolMax:
		if mask == nil {
			return ReduceMax(hidden, 1)
		}
		m := BroadcastToDims(InsertAxes(NotEqual(ConvertDType(mask, dtypes.Float32), ScalarZero(hidden.Graph(), dtypes.Float32)), -1), dims...)
		return MaskedReduceMax(hidden, m, 1)
	}
	panic(fmt.Sprintf("bert.Pool: pooling %q needs the pooler output or is unknown", p))
}

// Pool returns the sentence embedding of the given kind (see [Pool]); for
// PoolPooler it is o.Pooled.
func (o *Output) Pool(p Pooling) *Node {
	if p == PoolPooler {
		if o.Pooled == nil {
			panic("bert: pooler output requested from a model without a pooler")
		}
		return o.Pooled
	}
	return Pool(o.Last, o.Mask, p)
}
