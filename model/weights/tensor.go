package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// DType names an element type with safetensors' spelling.
type DType string

// Element types read and written by this package.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size returns the byte size of one element, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// Tensor is one named array: little-endian elements in C (row-major) order.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements is the product of the dimensions (1 for a scalar).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// maxElements bounds the element count a file may declare for one tensor
// (2^40: far above any model, far below int overflow).
const maxElements = 1 << 40

// checkedElements is NumElements for shapes read from files: it fails on a
// negative dimension or a product above maxElements instead of
// overflowing.
func checkedElements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in %v", shape)
		}
		if d != 0 && n > maxElements/d {
			return 0, fmt.Errorf("shape %v has more than 2^40 elements", shape)
		}
		n *= d
	}
	return n, nil
}

// FromFloat32 wraps values as an F32 tensor.
func FromFloat32(name string, shape []int, values []float32) *Tensor {
	if NumElements(shape) != len(values) {
		panic(fmt.Sprintf("weights.FromFloat32(%q): %d values for shape %v", name, len(values), shape))
	}
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return &Tensor{Name: name, DType: F32, Shape: slices.Clone(shape), Data: b}
}

// Float32 converts the elements to float32 (floating and integer dtypes).
func (t *Tensor) Float32() ([]float32, error) {
	n := NumElements(t.Shape)
	if es := t.DType.Size(); es == 0 || len(t.Data) != n*es {
		return nil, fmt.Errorf("weights: tensor %q: %d bytes for %s%v", t.Name, len(t.Data), t.DType, t.Shape)
	}
	out := make([]float32, n)
	b := t.Data
	le := binary.LittleEndian
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case F16:
		for i := range out {
			out[i] = math.Float32frombits(f16to32(le.Uint16(b[2*i:])))
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
		}
	case I64:
		for i := range out {
			out[i] = float32(int64(le.Uint64(b[8*i:])))
		}
	case I32:
		for i := range out {
			out[i] = float32(int32(le.Uint32(b[4*i:])))
		}
	case I16:
		for i := range out {
			out[i] = float32(int16(le.Uint16(b[2*i:])))
		}
	case I8:
		for i := range out {
			out[i] = float32(int8(b[i]))
		}
	case U8, Bool:
		for i := range out {
			out[i] = float32(b[i])
		}
	default:
		return nil, fmt.Errorf("weights: tensor %q: cannot convert %s to float32", t.Name, t.DType)
	}
	return out, nil
}

// f16to32 converts IEEE half-precision bits to single-precision bits.
func f16to32(h uint16) uint32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf/NaN
		return sign | 0xff<<23 | frac<<13
	case exp == 0:
		if frac == 0 {
			return sign
		}
		// Subnormal: normalise.
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return sign | e<<23 | (frac&0x3ff)<<13
	}
	return sign | (exp+127-15)<<23 | frac<<13
}

// Set is a collection of tensors by name, with the file's metadata.
type Set struct {
	Tensors  map[string]*Tensor
	Metadata map[string]string
	// Format names where the set came from: "safetensors", "torch", "npz", "npy".
	Format string
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{Tensors: map[string]*Tensor{}, Metadata: map[string]string{}}
}

// Add stores t under t.Name, replacing any tensor of that name.
func (s *Set) Add(t *Tensor) { s.Tensors[t.Name] = t }

// Names returns the tensor names in sorted order.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.Tensors))
	for n := range s.Tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NumParameters is the total number of elements over all tensors.
func (s *Set) NumParameters() int {
	n := 0
	for _, t := range s.Tensors {
		n += NumElements(t.Shape)
	}
	return n
}

// Rename returns a new set holding the tensors for which fn returns keep,
// under their new names. Two tensors mapped to one name are an error.
func (s *Set) Rename(fn func(name string) (newName string, keep bool)) (*Set, error) {
	out := &Set{Tensors: map[string]*Tensor{}, Metadata: s.Metadata, Format: s.Format}
	from := map[string]string{}
	for _, name := range s.Names() {
		nn, keep := fn(name)
		if !keep {
			continue
		}
		if prev, dup := from[nn]; dup {
			return nil, fmt.Errorf("weights: both %q and %q map to %q", prev, name, nn)
		}
		from[nn] = name
		t := *s.Tensors[name]
		t.Name = nn
		out.Tensors[nn] = &t
	}
	return out, nil
}

// WithPrefix returns the tensors whose names start with prefix, with the
// prefix removed (a literal prefix, unlike Python's str.strip).
func (s *Set) WithPrefix(prefix string) *Set {
	out, _ := s.Rename(func(n string) (string, bool) {
		if !strings.HasPrefix(n, prefix) {
			return "", false
		}
		return n[len(prefix):], true
	})
	return out
}

// Spec is the name and shape a model expects for one tensor.
type Spec struct {
	Name  string
	Shape []int
}

// MismatchError lists every difference between expected and supplied tensors.
type MismatchError struct {
	Missing    []string // expected but absent
	Unexpected []string // supplied but not expected
	Misshaped  []string // "name: got [..] want [..]"
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	b.WriteString("weights do not match the model:")
	list := func(what string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n  %d %s:", len(items), what)
		const maxShown = 40
		for i, it := range items {
			if i == maxShown {
				fmt.Fprintf(&b, "\n    … and %d more", len(items)-maxShown)
				break
			}
			b.WriteString("\n    " + it)
		}
	}
	list("missing", e.Missing)
	list("unexpected", e.Unexpected)
	list("mis-shaped", e.Misshaped)
	return b.String()
}

// Check compares a set with the specs a model expects. It returns a
// *MismatchError naming every missing, unexpected and mis-shaped tensor, or
// nil when the set matches exactly.
func Check(want []Spec, have *Set) error {
	e := &MismatchError{}
	seen := map[string]bool{}
	for _, w := range want {
		seen[w.Name] = true
		t, ok := have.Tensors[w.Name]
		switch {
		case !ok:
			e.Missing = append(e.Missing, fmt.Sprintf("%s %v", w.Name, w.Shape))
		case !slices.Equal(t.Shape, w.Shape):
			e.Misshaped = append(e.Misshaped, fmt.Sprintf("%s: got %v want %v", w.Name, t.Shape, w.Shape))
		}
	}
	for _, n := range have.Names() {
		if !seen[n] {
			e.Unexpected = append(e.Unexpected, fmt.Sprintf("%s %v", n, have.Tensors[n].Shape))
		}
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.Misshaped) == 0 {
		return nil
	}
	return e
}

// Keep returns the tensors whose names start with one of prefixes, under
// their own names, with the set's metadata.
func (s *Set) Keep(prefixes ...string) *Set {
	out, _ := s.Rename(func(n string) (string, bool) {
		for _, p := range prefixes {
			if strings.HasPrefix(n, p) {
				return n, true
			}
		}
		return "", false
	})
	return out
}
