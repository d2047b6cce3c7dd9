package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// brief describes a value read from a pickle for a message: scalars as
// they are (strings cut at 64 bytes), anything else by its type only — a
// hostile pickle can nest containers without end or make them contain
// themselves, which fmt's %v would follow forever.
func brief(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		if len(x) > 64 {
			x = x[:64] + "…"
		}
		return strconv.Quote(x)
	case int, int64, float64, bool:
		return fmt.Sprint(x)
	case *big.Int:
		if x.BitLen() > 128 {
			return fmt.Sprintf("an integer of %d bits", x.BitLen())
		}
		return x.String()
	case *torchClass:
		return x.module + "." + x.name
	}
	return fmt.Sprintf("a %T", v)
}

// maxPickleBytes bounds the pickle of a zip checkpoint (structure only: the
// tensors are separate records).
const maxPickleBytes = 1 << 30

// maxNesting bounds how deep collectTensors follows dicts and lists (a
// pickle can describe a cycle).
const maxNesting = 64

// stateDictKeys are tried, in order, to find the model weights inside a
// pickled checkpoint dictionary: Lightning ("state_dict"), pytorchvideo's
// model zoo ("model_state"), and common training scripts.
var stateDictKeys = []string{"state_dict", "model_state", "model", "module", "state"}

// storageDTypes maps torch's legacy storage classes to element types.
var storageDTypes = map[string]DType{
	"FloatStorage": F32, "DoubleStorage": F64, "HalfStorage": F16, "BFloat16Storage": BF16,
	"LongStorage": I64, "IntStorage": I32, "ShortStorage": I16, "CharStorage": I8,
	"ByteStorage": U8, "BoolStorage": Bool,
}

// ReadTorch reads a PyTorch checkpoint written by torch.save — the zip format
// of torch ≥ 1.6 and the legacy pickle stream — without importing Python: it
// runs the pickle through gopickle's virtual machine, resolving only the
// tensor-rebuilding globals and standing in an inert object for every other
// class (optimiser state, hyper-parameter objects, …).
//
// The result is the state dict found at the top level or under "state_dict"
// (Lightning .ckpt), "model_state" (pytorchvideo .pyth), "model" or
// "module"; nested dictionaries are flattened with dots. Top-level scalars
// (epoch, global_step, versions) become metadata.
func ReadTorch(path string) (set *Set, err error) {
	defer func() {
		if r := recover(); r != nil { // gopickle may panic on malformed input
			set, err = nil, fmt.Errorf("torch %s: malformed pickle: %v", path, r)
		}
	}()
	var obj any
	if zr, zerr := zip.OpenReader(path); zerr == nil {
		// Storages are read from the archive only when a tensor of the
		// chosen state dict needs them (a Lightning checkpoint's optimiser
		// state can be twice the size of the weights).
		defer zr.Close()
		obj, err = loadTorchZip(&zr.Reader)
	} else {
		buf, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, fmt.Errorf("torch: %w", rerr)
		}
		obj, err = loadTorchLegacy(buf)
	}
	return torchSet(path, obj, err)
}

// readTorchBytes is ReadTorch for a checkpoint held in memory.
func readTorchBytes(name string, buf []byte) (set *Set, err error) {
	defer func() {
		if r := recover(); r != nil {
			set, err = nil, fmt.Errorf("torch %s: malformed pickle: %v", name, r)
		}
	}()
	var obj any
	if zr, zerr := zip.NewReader(bytes.NewReader(buf), int64(len(buf))); zerr == nil {
		obj, err = loadTorchZip(zr)
	} else {
		obj, err = loadTorchLegacy(buf)
	}
	return torchSet(name, obj, err)
}

// torchSet finds the state dict in an unpickled checkpoint.
func torchSet(path string, obj any, err error) (*Set, error) {
	if err != nil {
		return nil, fmt.Errorf("torch %s: %w", path, err)
	}
	s := NewSet()
	s.Format = "torch"
	root := obj
	if d, ok := asDict(obj); ok {
		for _, k := range stateDictKeys {
			if v, ok := d.vals[k]; ok {
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
	if err := collectTensors(s, "", root, 0); err != nil {
		return nil, fmt.Errorf("torch %s: %w", path, err)
	}
	if len(s.Tensors) == 0 {
		return nil, fmt.Errorf("torch %s: no tensors found", path)
	}
	return s, nil
}

// storage is one torch storage: raw little-endian bytes of one dtype.
type storage struct {
	dtype DType
	numel int
	data  []byte                 // nil until read
	load  func() ([]byte, error) // reads data on first use (zip format)
}

// bytes returns the storage's data, reading it on first use.
func (st *storage) bytes() ([]byte, error) {
	if st.data == nil && st.load != nil {
		d, err := st.load()
		if err != nil {
			return nil, err
		}
		st.data, st.load = d, nil
	}
	if st.data == nil {
		return nil, errors.New("storage never read")
	}
	return st.data, nil
}

// tensorView is a rebuilt tensor: a strided view of a storage.
type tensorView struct {
	st     *storage
	offset int
	size   []int
	stride []int
}

// newUnpickler prepares a pickle VM that resolves torch's globals leniently.
func newUnpickler(r io.Reader, persistent func(any) (any, error)) pickle.Unpickler {
	u := pickle.NewUnpickler(r)
	u.FindClass = findClass
	u.PersistentLoad = persistent
	return u
}

// storageFromPID decodes ('storage', <class>, key, location, numel[, view]).
func storageFromPID(pid any) (cls *torchClass, key string, numel int, err error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() < 5 {
		return nil, "", 0, fmt.Errorf("unexpected persistent id %s", brief(pid))
	}
	if s, _ := t.Get(0).(string); s != "storage" {
		return nil, "", 0, fmt.Errorf("unsupported persistent id type %s", brief(t.Get(0)))
	}
	cls, ok = t.Get(1).(*torchClass)
	if !ok || cls.dtype == "" {
		return nil, "", 0, fmt.Errorf("unsupported storage type %s", brief(t.Get(1)))
	}
	switch k := t.Get(2).(type) {
	case string:
		key = k
	case int:
		key = strconv.Itoa(k)
	default:
		return nil, "", 0, fmt.Errorf("storage key %s", brief(t.Get(2)))
	}
	numel, ok = t.Get(4).(int)
	if !ok || numel < 0 {
		return nil, "", 0, fmt.Errorf("storage size %s", brief(t.Get(4)))
	}
	if t.Len() > 5 && t.Get(5) != nil {
		return nil, "", 0, errors.New("legacy storage views are not supported")
	}
	return cls, key, numel, nil
}

func loadTorchZip(zr *zip.Reader) (any, error) {
	records := map[string]*zip.File{}
	var pkl *zip.File
	for _, f := range zr.File {
		dir, name := path.Split(f.Name)
		if name == "data.pkl" && strings.Count(dir, "/") == 1 {
			pkl = f
		}
		if strings.HasSuffix(strings.TrimSuffix(dir, "/"), "/data") || dir == "data/" {
			records[name] = f
		}
		if name == "constants.pkl" {
			return nil, errors.New("TorchScript archives are not supported; save the state_dict instead")
		}
	}
	if pkl == nil {
		return nil, errors.New("zip archive without */data.pkl: not a torch.save file")
	}
	storages := map[string]*storage{}
	persistent := func(pid any) (any, error) {
		cls, key, numel, err := storageFromPID(pid)
		if err != nil {
			return nil, err
		}
		if st, ok := storages[key]; ok {
			return st, nil
		}
		f, ok := records[key]
		if !ok {
			return nil, fmt.Errorf("storage record data/%s missing", key)
		}
		if numel > maxElements {
			return nil, fmt.Errorf("storage data/%s: %d elements", key, numel)
		}
		want := numel * cls.dtype.Size()
		if f.UncompressedSize64 < uint64(want) {
			return nil, fmt.Errorf("storage data/%s: %d bytes for %d %s elements", key, f.UncompressedSize64, numel, cls.dtype)
		}
		// torch stores storages uncompressed; deflate cannot expand more
		// than 1032:1, so a larger claim is a lie about the size.
		if lim := f.CompressedSize64 * 1032; f.Method != zip.Store && uint64(want) > lim || f.Method == zip.Store && uint64(want) > f.CompressedSize64 {
			return nil, fmt.Errorf("storage data/%s: %d bytes declared, %d stored", key, want, f.CompressedSize64)
		}
		st := &storage{dtype: cls.dtype, numel: numel, load: func() ([]byte, error) {
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("storage data/%s: %w", key, err)
			}
			defer rc.Close()
			data := make([]byte, want)
			if _, err := io.ReadFull(rc, data); err != nil {
				return nil, fmt.Errorf("storage data/%s: %d bytes expected: %w", key, want, err)
			}
			return data, nil
		}}
		storages[key] = st
		return st, nil
	}
	if pkl.UncompressedSize64 > maxPickleBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d MiB a state dict's pickle needs", pkl.Name, pkl.UncompressedSize64, maxPickleBytes>>20)
	}
	rc, err := pkl.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	pb, err := io.ReadAll(io.LimitReader(rc, maxPickleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	if len(pb) > maxPickleBytes {
		return nil, fmt.Errorf("%s: more than %d MiB", pkl.Name, maxPickleBytes>>20)
	}
	if _, err := scanPickle(pb); err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	u := newUnpickler(bytes.NewReader(pb), persistent)
	return u.Load()
}

// loadTorchLegacy reads the pre-1.6 stream: magic number, protocol version
// and system info pickles, the object pickle, the storage key list, then
// each storage as an 8-byte element count followed by its bytes.
func loadTorchLegacy(buf []byte) (any, error) {
	r := bytes.NewReader(buf)
	// Each of the five pickles is scanned before gopickle runs it (see
	// scanPickle): declared lengths must fit in the file.
	scan := func(what string) error {
		if _, err := scanPickle(buf[len(buf)-r.Len():]); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if err := scan("header"); err != nil {
		return nil, fmt.Errorf("not a torch file: %w", err)
	}
	mu := pickle.NewUnpickler(r)
	magic, err := mu.Load()
	if err != nil {
		return nil, fmt.Errorf("not a torch file: %w", err)
	}
	if n, ok := magic.(*big.Int); !ok || n.Text(16) != "1950a86a20f9469cfc6c" {
		return nil, errors.New("not a torch file (bad magic number)")
	}
	for _, what := range []string{"protocol version", "system info"} {
		if err := scan(what); err != nil {
			return nil, err
		}
		u := pickle.NewUnpickler(r)
		if _, err := u.Load(); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	storages := map[string]*storage{}
	persistent := func(pid any) (any, error) {
		cls, key, numel, err := storageFromPID(pid)
		if err != nil {
			return nil, err
		}
		if st, ok := storages[key]; ok {
			return st, nil
		}
		st := &storage{dtype: cls.dtype, numel: numel}
		storages[key] = st
		return st, nil
	}
	if err := scan("object"); err != nil {
		return nil, err
	}
	u := newUnpickler(r, persistent)
	obj, err := u.Load()
	if err != nil {
		return nil, err
	}
	if err := scan("storage keys"); err != nil {
		return nil, err
	}
	ku := pickle.NewUnpickler(r)
	keysObj, err := ku.Load()
	if err != nil {
		return nil, fmt.Errorf("storage keys: %w", err)
	}
	keys, ok := keysObj.(*types.List)
	if !ok {
		return nil, errors.New("storage keys: not a list")
	}
	for _, k := range *keys {
		var key string
		switch k := k.(type) {
		case string:
			key = k
		case int:
			key = strconv.Itoa(k)
		default:
			return nil, fmt.Errorf("storage key %s", brief(k))
		}
		st, ok := storages[key]
		if !ok {
			return nil, fmt.Errorf("storage %s listed but never referenced", key)
		}
		var n int64
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, fmt.Errorf("storage %s: %w", key, err)
		}
		if int(n) != st.numel {
			return nil, fmt.Errorf("storage %s: %d elements, pickle said %d", key, n, st.numel)
		}
		if uint64(st.numel) > uint64(r.Len())/uint64(st.dtype.Size()) {
			return nil, fmt.Errorf("storage %s: %d %s elements, only %d bytes left in the file", key, st.numel, st.dtype, r.Len())
		}
		st.data = make([]byte, st.numel*st.dtype.Size())
		if _, err := io.ReadFull(r, st.data); err != nil {
			return nil, fmt.Errorf("storage %s: %w", key, err)
		}
	}
	return obj, nil
}

// torchClass is a pickled global. Known torch storage classes carry a dtype;
// _rebuild_tensor_v2 and _rebuild_parameter rebuild tensors; anything else
// is inert and only collects state.
type torchClass struct {
	module, name string
	dtype        DType
}

func findClass(module, name string) (any, error) {
	c := &torchClass{module: module, name: name}
	if module == "torch" {
		c.dtype = storageDTypes[name]
	}
	return c, nil
}

func (c *torchClass) Call(args ...any) (any, error) {
	switch c.module + "." + c.name {
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensor(args)
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(args) == 0 {
			return nil, errors.New("_rebuild_parameter without arguments")
		}
		return args[0], nil
	case "collections.OrderedDict":
		return types.NewOrderedDict(), nil
	}
	return &inertObject{class: c}, nil
}

func (c *torchClass) PyNew(args ...any) (any, error) { return &inertObject{class: c}, nil }

func rebuildTensor(args []any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments", len(args))
	}
	st, ok := args[0].(*storage)
	off, ok2 := args[1].(int)
	size, ok3 := intTuple(args[2])
	stride, ok4 := intTuple(args[3])
	if !ok || !ok2 || !ok3 || !ok4 || len(size) != len(stride) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: unexpected arguments (%s, %s, %s, %s)", brief(args[0]), brief(args[1]), brief(args[2]), brief(args[3]))
	}
	return &tensorView{st: st, offset: off, size: size, stride: stride}, nil
}

func intTuple(v any) ([]int, bool) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, false
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, false
		}
	}
	return out, true
}

// inertObject accepts whatever state the pickle gives it (it may be a dict
// subclass such as Lightning's AttributeDict, which is kept for traversal).
type inertObject struct {
	class *torchClass
	dict  *types.Dict
}

func (o *inertObject) PySetState(state any) error {
	if d, ok := state.(*types.Dict); ok {
		o.dict = d
	}
	return nil
}

func (o *inertObject) PyDictSet(key, value any) error {
	if o.dict == nil {
		o.dict = types.NewDict()
	}
	o.dict.Set(key, value)
	return nil
}

func (o *inertObject) PySetAttr(key string, value any) error { return o.PyDictSet(key, value) }

// Set makes dict subclasses loadable.
func (o *inertObject) Set(key, value any) { _ = o.PyDictSet(key, value) }

// Append makes list subclasses loadable; their items are dropped.
func (o *inertObject) Append(any) {}

// dict is an insertion-ordered view of a pickled dict with string keys.
type dict struct {
	keys []string
	vals map[string]any
}

func (d dict) hasTensor() bool {
	for _, v := range d.vals {
		if _, ok := v.(*tensorView); ok {
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
			ks = brief(k)
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
	case *inertObject:
		if o.dict == nil {
			return d, false
		}
		return asDict(o.dict)
	default:
		return d, false
	}
	return d, true
}

// collectTensors walks dicts and lists below obj, adding every tensor under
// its dotted path.
func collectTensors(s *Set, prefix string, obj any, depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("%q: dicts and lists nested more than %d deep (or a cycle)", prefix, maxNesting)
	}
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	if t, ok := obj.(*tensorView); ok {
		tt, err := t.materialise(prefix)
		if err != nil {
			return err
		}
		s.Add(tt)
		return nil
	}
	if d, ok := asDict(obj); ok {
		for _, k := range d.keys {
			if err := collectTensors(s, join(k), d.vals[k], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if l, ok := obj.(*types.List); ok {
		for i, v := range *l {
			if err := collectTensors(s, join(strconv.Itoa(i)), v, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// materialise copies a (possibly strided) view out of its storage in C order.
func (t *tensorView) materialise(name string) (*Tensor, error) {
	st := t.st
	data, err := st.bytes()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	es := st.dtype.Size()
	n, err := checkedElements(t.size)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if len(t.stride) != len(t.size) {
		return nil, fmt.Errorf("tensor %q: %d strides for %d dimensions", name, len(t.stride), len(t.size))
	}
	if n > st.numel {
		return nil, fmt.Errorf("tensor %q: %d elements in a storage of %d", name, n, st.numel)
	}
	if n == 0 {
		return &Tensor{Name: name, DType: st.dtype, Shape: append([]int{}, t.size...), Data: []byte{}}, nil
	}
	// Check the extreme offsets once (every term is bounded: sizes by
	// the storage, strides by maxElements, so nothing overflows).
	lo, hi := t.offset, t.offset
	for ax, d := range t.size {
		sd := t.stride[ax]
		if sd > maxElements || sd < -maxElements {
			return nil, fmt.Errorf("tensor %q: stride %d", name, sd)
		}
		if sd >= 0 {
			hi += (d - 1) * sd
		} else {
			lo += (d - 1) * sd
		}
	}
	if lo < 0 || hi >= st.numel || t.offset < 0 || t.offset > st.numel {
		return nil, fmt.Errorf("tensor %q: view %v/%v at offset %d reaches outside its storage of %d elements", name, t.size, t.stride, t.offset, st.numel)
	}
	out := &Tensor{Name: name, DType: st.dtype, Shape: append([]int{}, t.size...), Data: make([]byte, n*es)}
	if contiguous(t.size, t.stride) {
		copy(out.Data, data[t.offset*es:(t.offset+n)*es])
		return out, nil
	}
	idx := make([]int, len(t.size))
	for i := range n {
		off := t.offset
		for ax, v := range idx {
			off += v * t.stride[ax]
		}
		copy(out.Data[i*es:(i+1)*es], data[off*es:(off+1)*es])
		for ax := len(idx) - 1; ax >= 0; ax-- {
			idx[ax]++
			if idx[ax] < t.size[ax] {
				break
			}
			idx[ax] = 0
		}
	}
	return out, nil
}

func contiguous(size, stride []int) bool {
	want := 1
	for ax := len(size) - 1; ax >= 0; ax-- {
		if size[ax] != 1 && stride[ax] != want {
			return false
		}
		want *= size[ax]
	}
	return true
}
