package pretrain

// INTERIM (see optim.go): checkpoints of the whole training state until
// the shared core's checkpoint format lands.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// State is the loop's position, stored in a checkpoint's metadata.
type State struct {
	// Epoch is the epoch in progress and Position the next position in
	// its study order (0 at an epoch boundary).
	Epoch, Position int
	// Updates is the number of optimiser updates done.
	Updates int
	// LossSum and LossN accumulate the raw training loss since the last
	// metrics row (so a resumed run logs the same means).
	LossSum float64
	LossN   int
	// Config is the run's configuration as YAML (checked on resume).
	Config string
}

// Checkpoint metadata keys.
const (
	metaFormat = "cmrfm.format"
	metaState  = "cmrfm.pretrain.state"
	metaDTypes = "cmrfm.pretrain.dtypes"
	// FormatPretrain is the checkpoint format name.
	FormatPretrain = "cmrfm-pretrain-v1"
)

var weightDTypes = map[dtypes.DType]weights.DType{
	dtypes.Float32: weights.F32, dtypes.Float64: weights.F64, dtypes.Int64: weights.I64,
	dtypes.Int32: weights.I32, dtypes.Uint64: weights.I64, dtypes.Uint8: weights.U8,
}

// SaveCheckpoint writes every variable of store (model, optimiser moments,
// learning rate, update count, dropout RNG state) with the loop state to
// path, atomically (temporary file, fsync, rename). Tensor names are the
// variables' paths; model variables are under /model/ (e.g.
// /model/video_encoder/blocks/0/attn/qkv...).
func SaveCheckpoint(path string, store *model.Store, st State) error {
	set := weights.NewSet()
	dts := map[string]string{}
	for v := range store.IterVariables() {
		val, err := v.Value()
		if err != nil {
			return fmt.Errorf("pretrain: checkpoint: %s: %w", v.Path(), err)
		}
		wd, ok := weightDTypes[val.DType()]
		if !ok {
			return fmt.Errorf("pretrain: checkpoint: %s has dtype %s", v.Path(), val.DType())
		}
		var b []byte
		if err := val.ConstBytes(func(d []byte) { b = slices.Clone(d) }); err != nil {
			return fmt.Errorf("pretrain: checkpoint: %s: %w", v.Path(), err)
		}
		set.Add(&weights.Tensor{Name: v.Path(), DType: wd, Shape: slices.Clone(val.Shape().Dimensions), Data: b})
		dts[v.Path()] = val.DType().String()
	}
	sj, err := json.Marshal(st)
	if err != nil {
		return err
	}
	dj, err := json.Marshal(dts)
	if err != nil {
		return err
	}
	set.Metadata = map[string]string{metaFormat: FormatPretrain, metaState: string(sj), metaDTypes: string(dj)}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("pretrain: checkpoint: %w", err)
	}
	return fsutil.WriteFileAtomic(path, func(w io.Writer) error { return weights.WriteSafetensors(w, set) })
}

// ReadCheckpoint reads a checkpoint's tensors and loop state.
func ReadCheckpoint(path string) (*weights.Set, State, error) {
	set, err := weights.Load(path)
	if err != nil {
		return nil, State{}, err
	}
	var st State
	if set.Metadata[metaFormat] != FormatPretrain {
		return nil, st, fmt.Errorf("pretrain: %s is not a pretraining checkpoint (format %q)", path, set.Metadata[metaFormat])
	}
	if err := json.Unmarshal([]byte(set.Metadata[metaState]), &st); err != nil {
		return nil, st, fmt.Errorf("pretrain: %s: state: %w", path, err)
	}
	return set, st, nil
}

// RestoreVariables sets (or creates) the variables of store from a
// checkpoint's tensors; with prefix, only variables under it.
func RestoreVariables(store *model.Store, set *weights.Set, prefix string) (int, error) {
	var dts map[string]string
	if err := json.Unmarshal([]byte(set.Metadata[metaDTypes]), &dts); err != nil {
		return 0, fmt.Errorf("pretrain: checkpoint dtypes: %w", err)
	}
	n := 0
	for _, name := range set.Names() {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		t := set.Tensors[name]
		dt, err := dtypes.DTypeString(dts[name])
		if err != nil {
			return n, fmt.Errorf("pretrain: checkpoint: %s: dtype %q", name, dts[name])
		}
		val := tensors.FromShape(shapes.Make(dt, t.Shape...))
		if err := val.MutableBytes(func(d []byte) {
			if len(d) == len(t.Data) {
				copy(d, t.Data)
			}
		}); err != nil {
			return n, err
		}
		if val.Shape().Size()*dt.Size() != len(t.Data) {
			return n, fmt.Errorf("pretrain: checkpoint: %s: %d bytes for %s", name, len(t.Data), val.Shape())
		}
		if v := store.GetVariable(name); v != nil {
			if !v.Shape().Equal(val.Shape()) {
				return n, fmt.Errorf("pretrain: checkpoint: %s is %s, the model's variable %s", name, val.Shape(), v.Shape())
			}
			if err := v.SetValue(val); err != nil {
				return n, fmt.Errorf("pretrain: checkpoint: %s: %w", name, err)
			}
		} else {
			v, err := store.CreateVariable(name, val)
			if err != nil {
				return n, fmt.Errorf("pretrain: checkpoint: %s: %w", name, err)
			}
			// Only model parameters train; the graph builders re-mark
			// frozen ones.
			v.SetTrainable(strings.HasPrefix(name, "/"+ScopeModel+"/"))
		}
		n++
	}
	return n, nil
}

// LoadModel returns a store holding the model variables (under /model/)
// of a pretraining checkpoint, for inference or to start another run.
func LoadModel(path string) (*model.Store, error) {
	set, _, err := ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	store := model.NewStore()
	if _, err := RestoreVariables(store, set, "/"+ScopeModel+"/"); err != nil {
		return nil, err
	}
	return store, nil
}
