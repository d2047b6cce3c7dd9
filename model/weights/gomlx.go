package weights

import (
	"fmt"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// ToTensorF32 converts t to a float32 GoMLX tensor (converting the dtype).
func ToTensorF32(t *Tensor) (*tensors.Tensor, error) {
	v, err := t.Float32()
	if err != nil {
		return nil, err
	}
	return tensors.FromFlatDataAndDimensions(v, t.Shape...), nil
}

// FromTensor copies a float32 GoMLX tensor into a named F32 tensor.
func FromTensor(name string, t *tensors.Tensor) (*Tensor, error) {
	if t.DType() != dtypes.Float32 {
		return nil, fmt.Errorf("weights: tensor %q: want float32, got %s", name, t.DType())
	}
	v, err := tensors.CopyFlatData[float32](t)
	if err != nil {
		return nil, fmt.Errorf("weights: tensor %q: %w", name, err)
	}
	return FromFloat32(name, slices.Clone(t.Shape().Dimensions), v), nil
}
