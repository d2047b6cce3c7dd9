package weights

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
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

// VariablePath returns the store path of the parameter named name (dotted,
// as PyTorch names it: "blocks.0.attn.proj.weight") under scope: every dot
// becomes a scope separator. It is how every cmrfm model lays out its
// variables.
func VariablePath(scope *model.Scope, name string) string {
	return model.JoinPath(scope.Scope(), strings.ReplaceAll(name, ".", model.ScopeSeparator))
}

// LoadOptions adapt LoadSpecs to a model's layout.
type LoadOptions struct {
	// Path maps a spec name to its variable path (nil: VariablePath).
	Path func(scope *model.Scope, name string) string
	// Value converts a spec's tensor into the variable's value (nil:
	// ToTensorF32); BERT transposes Linear weights here.
	Value func(s Spec, t *Tensor) (*tensors.Tensor, error)
}

// LoadSpecs checks set against specs (Check: every missing, unexpected
// and mis-shaped tensor named in a *MismatchError) and stores each spec's
// tensor in the scope's variables, creating or overwriting them. Errors
// about one tensor are prefixed with its name; callers add their package
// and model name.
func LoadSpecs(scope *model.Scope, specs []Spec, set *Set, o LoadOptions) error {
	if err := Check(specs, set); err != nil {
		return err
	}
	path := o.Path
	if path == nil {
		path = VariablePath
	}
	for _, s := range specs {
		var t *tensors.Tensor
		var err error
		if o.Value != nil {
			t, err = o.Value(s, set.Tensors[s.Name])
		} else {
			t, err = ToTensorF32(set.Tensors[s.Name])
		}
		if err != nil {
			return err
		}
		p := path(scope, s.Name)
		if v := scope.Store().GetVariable(p); v != nil {
			if err := v.SetValue(t); err != nil {
				return fmt.Errorf("%s: %w", s.Name, err)
			}
			continue
		}
		if _, err := scope.Store().CreateVariable(p, t); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return nil
}

// SaveSpecs reads the scope's variables of specs back into a set, keyed
// by the spec names: the inverse of LoadSpecs. A missing variable is an
// error naming the spec.
func SaveSpecs(scope *model.Scope, specs []Spec, o SaveOptions) (*Set, error) {
	path := o.Path
	if path == nil {
		path = VariablePath
	}
	out := NewSet()
	for _, s := range specs {
		v := scope.Store().GetVariable(path(scope, s.Name))
		if v == nil {
			return nil, fmt.Errorf("variable %s does not exist", s.Name)
		}
		val, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		var t *Tensor
		if o.Tensor != nil {
			t, err = o.Tensor(s, val)
		} else {
			t, err = FromTensor(s.Name, val)
		}
		if err != nil {
			return nil, err
		}
		out.Add(t)
	}
	return out, nil
}

// SaveOptions adapt SaveSpecs to a model's layout.
type SaveOptions struct {
	// Path maps a spec name to its variable path (nil: VariablePath).
	Path func(scope *model.Scope, name string) string
	// Tensor converts a variable's value into the spec's tensor (nil:
	// FromTensor); BERT transposes kernels back into Linear weights here.
	Tensor func(s Spec, val *tensors.Tensor) (*Tensor, error)
}
