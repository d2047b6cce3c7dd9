package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Checkpoint metadata keys and the format name.
const (
	// FormatTrain is the cmrfm.format of a training checkpoint.
	FormatTrain = "cmrfm-train-v1"
	// MetaState holds the loop State as JSON.
	MetaState = "cmrfm.train.state"
	// MetaDTypes maps each tensor to its GoMLX dtype (JSON), for the
	// dtypes safetensors has no name for (uint64 RNG state).
	MetaDTypes = "cmrfm.train.dtypes"
	// MetaKind says what trained ("finetune", "pretrain", …); MetaConfig
	// holds the run's configuration (YAML).
	MetaKind   = "cmrfm.train.kind"
	MetaConfig = "cmrfm.train.config"
)

// State is where a run stands; it is saved with every checkpoint and is
// everything (with the store's variables) a resumed run needs to continue
// bit for bit.
type State struct {
	// Epoch is the epoch in progress; Position the next position of its
	// order (batches or samples, as the Source counts).
	Epoch    int `json:"epoch"`
	Position int `json:"position"`
	// Updates is the number of optimiser updates applied.
	Updates int `json:"updates"`
	// Window accumulates the training values since the last metrics row
	// (sums and counts), Pending is the newest row not yet written (a
	// validation at the epoch's end may still join it) and Written the
	// number of rows in the metrics files.
	Window  map[string]Sum `json:"window,omitempty"`
	Pending *Row           `json:"pending,omitempty"`
	Written int            `json:"written"`
	// Done marks a run that finished.
	Done bool `json:"done"`
	// Extra is the caller's own state (JSON).
	Extra json.RawMessage `json:"extra,omitempty"`
}

// Sum is a running sum and count.
type Sum struct {
	Sum float64 `json:"sum"`
	N   int     `json:"n"`
}

var toWeights = map[dtypes.DType]weights.DType{
	dtypes.Float32: weights.F32, dtypes.Float64: weights.F64, dtypes.Int64: weights.I64,
	dtypes.Int32: weights.I32, dtypes.Uint64: weights.I64, dtypes.Uint8: weights.U8, dtypes.Int8: weights.I8,
	dtypes.Bool: weights.Bool,
}

// Checkpoint is a saved store and loop state.
type Checkpoint struct {
	Set    *weights.Set
	State  State
	Kind   string
	Config string
	dtypes map[string]string
}

// SaveCheckpoint writes every variable of store (model, optimiser state,
// RNG state) with the loop state to path, atomically (temporary file,
// fsync, rename): a crash leaves the previous file intact. The file is
// safetensors with one tensor per variable, named by its path
// (/model/video_encoder/blocks/0/norm1/weight, /optimizer/m/…), and the
// SHA-256 of the tensor data in cmrfm.sha256 (weights.Load verifies it).
func SaveCheckpoint(path string, store *model.Store, st State, kind, config string) error {
	set := weights.NewSet()
	dts := map[string]string{}
	for v := range store.IterVariables() {
		val, err := v.Value()
		if err != nil {
			return fmt.Errorf("train: checkpoint %s: variable %s: %w", path, v.Path(), err)
		}
		wd, ok := toWeights[val.DType()]
		if !ok {
			return fmt.Errorf("train: checkpoint %s: variable %s has dtype %s, which checkpoints cannot hold", path, v.Path(), val.DType())
		}
		var b []byte
		if err := val.ConstBytes(func(d []byte) { b = slices.Clone(d) }); err != nil {
			return fmt.Errorf("train: checkpoint %s: variable %s: %w", path, v.Path(), err)
		}
		set.Add(&weights.Tensor{Name: v.Path(), DType: wd, Shape: slices.Clone(val.Shape().Dimensions), Data: b})
		dts[v.Path()] = val.DType().String()
	}
	sj, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("train: checkpoint state: %w", err)
	}
	dj, err := json.Marshal(dts)
	if err != nil {
		return err
	}
	h := sha256.New()
	for _, n := range set.Names() {
		h.Write(set.Tensors[n].Data)
	}
	set.Metadata = map[string]string{weights.MetaFormat: FormatTrain, MetaState: string(sj), MetaDTypes: string(dj),
		MetaKind: kind, MetaConfig: config, weights.MetaSHA256: hex.EncodeToString(h.Sum(nil))}
	if err := fsutil.WriteFileAtomic(path, func(w io.Writer) error { return weights.WriteSafetensors(w, set) }); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	return nil
}

// LoadCheckpoint reads a training checkpoint (verifying its checksum).
func LoadCheckpoint(path string) (*Checkpoint, error) {
	set, err := weights.Load(path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if f := set.Metadata[weights.MetaFormat]; f != FormatTrain {
		return nil, fmt.Errorf("train: %s is not a training checkpoint (cmrfm.format %q, want %q)", path, f, FormatTrain)
	}
	c := &Checkpoint{Set: set, Kind: set.Metadata[MetaKind], Config: set.Metadata[MetaConfig]}
	if err := json.Unmarshal([]byte(set.Metadata[MetaState]), &c.State); err != nil {
		return nil, fmt.Errorf("train: %s: loop state: %w", path, err)
	}
	if err := json.Unmarshal([]byte(set.Metadata[MetaDTypes]), &c.dtypes); err != nil {
		return nil, fmt.Errorf("train: %s: dtypes: %w", path, err)
	}
	return c, nil
}

// Tensor returns the checkpoint's value of variable path as a GoMLX
// tensor.
func (c *Checkpoint) Tensor(path string) (*tensors.Tensor, error) {
	t, ok := c.Set.Tensors[path]
	if !ok {
		return nil, fmt.Errorf("train: checkpoint has no variable %s", path)
	}
	dt, err := dtypes.DTypeString(c.dtypes[path])
	if err != nil {
		return nil, fmt.Errorf("train: checkpoint variable %s: dtype %q", path, c.dtypes[path])
	}
	val := tensors.FromShape(shapes.Make(dt, t.Shape...))
	if val.Shape().Memory() != uintptr(len(t.Data)) {
		return nil, fmt.Errorf("train: checkpoint variable %s: %d bytes for %s", path, len(t.Data), val.Shape())
	}
	if err := val.MutableBytes(func(d []byte) { copy(d, t.Data) }); err != nil {
		return nil, err
	}
	return val, nil
}

// Paths lists the checkpoint's variable paths under prefix (all when
// empty), sorted.
func (c *Checkpoint) Paths(prefix string) []string {
	var out []string
	for _, n := range c.Set.Names() {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// Restore sets (or creates) the store's variables from the checkpoint's
// tensors under prefix (all when empty). Existing variables keep their
// trainable flag; created ones are trainable when they are float32 and
// neither optimiser state nor the RNG state (graph builders mark frozen
// ones again). A shape mismatch is an error naming the variable. It
// returns the number of variables set.
func (c *Checkpoint) Restore(store *model.Store, prefix string) (int, error) {
	n := 0
	for _, name := range c.Paths(prefix) {
		val, err := c.Tensor(name)
		if err != nil {
			return n, err
		}
		if err := setVariable(store, name, val); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// setVariable sets or creates variable path with val.
func setVariable(store *model.Store, path string, val *tensors.Tensor) error {
	if v := store.GetVariable(path); v != nil {
		if !v.Shape().Equal(val.Shape()) {
			return fmt.Errorf("train: variable %s: checkpoint has %s, the model %s", path, val.Shape(), v.Shape())
		}
		if err := v.SetValue(val); err != nil {
			return fmt.Errorf("train: variable %s: %w", path, err)
		}
		return nil
	}
	v, err := store.CreateVariable(path, val)
	if err != nil {
		return fmt.Errorf("train: variable %s: %w", path, err)
	}
	internal := strings.HasPrefix(path, "/"+ScopeOptimizer+"/") || path == model.JoinPath("/", model.RNGStateVariableName) ||
		IsModelState(path)
	v.SetTrainable(!internal && val.DType() == dtypes.Float32)
	return nil
}

// IsModelState reports whether a variable path names model state that is
// not a parameter — batch-norm running statistics (torch's buffers
// running_mean and running_var): restored from checkpoints, never trained.
func IsModelState(path string) bool {
	base := path[strings.LastIndex(path, model.ScopeSeparator)+1:]
	return base == "running_mean" || base == "running_var"
}
