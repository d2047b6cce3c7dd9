package weights

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// stateDictKeys are tried, in order, to find the model weights inside a
// pickled checkpoint dictionary: Lightning ("state_dict"), pytorchvideo's
// model zoo ("model_state"), and common training scripts.
var stateDictKeys = []string{"state_dict", "model_state", "model", "module", "state"}

// ReadTorch reads a PyTorch checkpoint written by torch.save (the zip format
// of torch ≥ 1.6 and the legacy non-zip pickle): a state dict, or a
// dictionary holding one under "state_dict" (Lightning .ckpt), "model_state"
// (pytorchvideo .pyth), "model" or "module". Other top-level scalars (epoch,
// global_step, versions) become metadata. Classes the reader does not know —
// optimiser state, hyper-parameter objects — are tolerated and skipped.
func ReadTorch(path string) (set *Set, err error) {
	defer func() {
		if r := recover(); r != nil { // gopickle panics on some malformed inputs
			set, err = nil, fmt.Errorf("torch %s: %v", path, r)
		}
	}()
	obj, err := pytorch.LoadWithUnpickler(path, func(r io.Reader) pickle.Unpickler {
		u := pickle.NewUnpickler(r)
		u.FindClass = lenientFindClass
		return u
	})
	if err != nil {
		return nil, fmt.Errorf("torch %s: %w", path, err)
	}
	s := NewSet()
	s.Format = "torch"
	root := obj
	if d, ok := asDict(obj); ok {
		for _, k := range stateDictKeys {
			if v, ok := d.get(k); ok {
				if sub, ok := asDict(v); ok && sub.hasTensor() {
					root = v
					s.Metadata["torch.state_dict_key"] = k
					break
				}
			}
		}
		for _, k := range d.keys {
			switch v := d.vals[k].(type) {
			case string:
				s.Metadata[k] = v
			case int:
				s.Metadata[k] = strconv.Itoa(v)
			case float64:
				s.Metadata[k] = strconv.FormatFloat(v, 'g', -1, 64)
			case bool:
				s.Metadata[k] = strconv.FormatBool(v)
			}
		}
	}
	if err := collectTensors(s, "", root); err != nil {
		return nil, fmt.Errorf("torch %s: %w", path, err)
	}
	if len(s.Tensors) == 0 {
		return nil, fmt.Errorf("torch %s: no tensors found", path)
	}
	return s, nil
}

// dict is an insertion-ordered view of a pickled dict with string keys.
type dict struct {
	keys []string
	vals map[string]any
}

func (d dict) get(k string) (any, bool) { v, ok := d.vals[k]; return v, ok }

func (d dict) hasTensor() bool {
	for _, v := range d.vals {
		if _, ok := v.(*pytorch.Tensor); ok {
			return true
		}
	}
	return false
}

func asDict(obj any) (dict, bool) {
	d := dict{vals: map[string]any{}}
	add := func(k, v any) {
		ks, ok := k.(string)
		if !ok {
			ks = fmt.Sprint(k)
		}
		if _, dup := d.vals[ks]; !dup {
			d.keys = append(d.keys, ks)
		}
		d.vals[ks] = v
	}
	switch o := obj.(type) {
	case *types.OrderedDict:
		for e := o.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			add(entry.Key, entry.Value)
		}
	case *types.Dict:
		for _, e := range *o {
			add(e.Key, e.Value)
		}
	case *lenientObject:
		if o.dict == nil {
			return d, false
		}
		return asDict(o.dict)
	default:
		return d, false
	}
	return d, true
}

// collectTensors walks dicts (and lists) below obj, adding every tensor under
// its dotted path.
func collectTensors(s *Set, prefix string, obj any) error {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	if t, ok := obj.(*pytorch.Tensor); ok {
		tt, err := convertTorchTensor(prefix, t)
		if err != nil {
			return err
		}
		s.Add(tt)
		return nil
	}
	if d, ok := asDict(obj); ok {
		for _, k := range d.keys {
			if err := collectTensors(s, join(k), d.vals[k]); err != nil {
				return err
			}
		}
		return nil
	}
	if l, ok := obj.(*types.List); ok {
		for i, v := range *l {
			if err := collectTensors(s, join(strconv.Itoa(i)), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// convertTorchTensor copies a (possibly strided) view out of its storage.
func convertTorchTensor(name string, t *pytorch.Tensor) (*Tensor, error) {
	var (
		dt   DType
		get  func(i int) []byte
		size int
	)
	le := func(bits uint64, n int) []byte {
		b := make([]byte, n)
		for i := range n {
			b[i] = byte(bits >> (8 * i))
		}
		return b
	}
	switch st := t.Source.(type) {
	case *pytorch.FloatStorage:
		dt, size = F32, len(st.Data)
		get = func(i int) []byte { return le(uint64(math.Float32bits(st.Data[i])), 4) }
	case *pytorch.HalfStorage: // gopickle widens half to float32
		dt, size = F32, len(st.Data)
		get = func(i int) []byte { return le(uint64(math.Float32bits(st.Data[i])), 4) }
	case *pytorch.BFloat16Storage:
		dt, size = F32, len(st.Data)
		get = func(i int) []byte { return le(uint64(math.Float32bits(st.Data[i])), 4) }
	case *pytorch.DoubleStorage:
		dt, size = F64, len(st.Data)
		get = func(i int) []byte { return le(math.Float64bits(st.Data[i]), 8) }
	case *pytorch.LongStorage:
		dt, size = I64, len(st.Data)
		get = func(i int) []byte { return le(uint64(st.Data[i]), 8) }
	case *pytorch.IntStorage:
		dt, size = I32, len(st.Data)
		get = func(i int) []byte { return le(uint64(st.Data[i]), 4) }
	case *pytorch.ShortStorage:
		dt, size = I16, len(st.Data)
		get = func(i int) []byte { return le(uint64(st.Data[i]), 2) }
	case *pytorch.CharStorage:
		dt, size = I8, len(st.Data)
		get = func(i int) []byte { return []byte{byte(st.Data[i])} }
	case *pytorch.ByteStorage:
		dt, size = U8, len(st.Data)
		get = func(i int) []byte { return []byte{st.Data[i]} }
	case *pytorch.BoolStorage:
		dt, size = Bool, len(st.Data)
		get = func(i int) []byte {
			if st.Data[i] {
				return []byte{1}
			}
			return []byte{0}
		}
	default:
		return nil, fmt.Errorf("tensor %q: unsupported storage %T", name, t.Source)
	}
	shape := slices.Clone(t.Size)
	if len(t.Stride) != len(shape) {
		return nil, fmt.Errorf("tensor %q: %d strides for shape %v", name, len(t.Stride), shape)
	}
	n := NumElements(shape)
	es := dt.Size()
	out := make([]byte, 0, n*es)
	idx := make([]int, len(shape))
	for range n {
		off := t.StorageOffset
		for ax, i := range idx {
			off += i * t.Stride[ax]
		}
		if off < 0 || off >= size {
			return nil, fmt.Errorf("tensor %q: view %v/%v at offset %d reaches outside its storage of %d", name, shape, t.Stride, t.StorageOffset, size)
		}
		out = append(out, get(off)...)
		for ax := len(idx) - 1; ax >= 0; ax-- {
			idx[ax]++
			if idx[ax] < shape[ax] {
				break
			}
			idx[ax] = 0
		}
	}
	return &Tensor{Name: name, DType: dt, Shape: shape, Data: out}, nil
}

// lenientFindClass resolves the few torch globals a state dict needs and
// stands in a generic, inert class for everything else.
func lenientFindClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_parameter":
		return rebuildParameter{}, nil
	case "torch._utils._rebuild_parameter_with_state":
		return rebuildParameter{}, nil
	}
	return &lenientClass{module: module, name: name}, nil
}

// rebuildParameter unwraps nn.Parameter(data, requires_grad, hooks) to data.
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("_rebuild_parameter: no arguments")
	}
	return args[0], nil
}

// lenientClass is any class the reader does not model: calling it or
// creating it yields a lenientObject that accepts state and ignores it.
type lenientClass struct{ module, name string }

func (c *lenientClass) Call(args ...any) (any, error)  { return &lenientObject{class: c}, nil }
func (c *lenientClass) PyNew(args ...any) (any, error) { return &lenientObject{class: c}, nil }

type lenientObject struct {
	class *lenientClass
	dict  *types.Dict
}

func (o *lenientObject) PySetState(state any) error {
	if d, ok := state.(*types.Dict); ok {
		o.dict = d
	}
	return nil
}

func (o *lenientObject) PyDictSet(key, value any) error {
	if o.dict == nil {
		o.dict = types.NewDict()
	}
	o.dict.Set(key, value)
	return nil
}

func (o *lenientObject) PySetAttr(key string, value any) error { return o.PyDictSet(key, value) }

// Set makes dict subclasses (Lightning's AttributeDict) unpicklable.
func (o *lenientObject) Set(key, value any) { _ = o.PyDictSet(key, value) }

// Append makes list subclasses unpicklable; their items are dropped.
func (o *lenientObject) Append(any) {}

// looksLikeTorch reports whether the file extension is one PyTorch uses.
func looksLikeTorch(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".pt", ".pth", ".ckpt", ".pyth", ".bin", ".tar":
		return true
	}
	return false
}
