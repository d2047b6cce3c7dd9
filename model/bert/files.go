package bert

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
)

// LoadFile reads a weights file in any format [weights.Load] knows
// (safetensors, pytorch_model.bin, Lightning .ckpt, .npz) and extracts the
// BERT in it under Hugging Face BertModel names ([ToCanonical] with the
// prefix detected; a text tower inside the authors' checkpoint is found the
// same way).
func LoadFile(path string) (*Canonical, error) {
	s, err := weights.Load(path)
	if err != nil {
		return nil, err
	}
	c, err := ToCanonical(s, "", true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ForwardRequest describes one run of [ForwardFiles]: arrays in .npy (or
// single-array .npz) files, outputs written to one file.
type ForwardRequest struct {
	Config  Config
	Weights string // weights file, see [LoadFile]
	// IDs, Mask and TokenTypes are .npy files of shape [B, L]: ids int32 or
	// int64; mask (optional, "" = no padding) 0/1 of any integer, float or
	// bool dtype; token types (optional, "" = all 0) int32 or int64.
	IDs, Mask, TokenTypes string
	// Output is the file to write: .npz or .safetensors hold every output
	// as a named array; .npy holds the last hidden state and the other
	// outputs go to sibling files <name>.<output>.npy.
	Output string
	// Hidden adds every layer's hidden state (hidden_states.00 … .NN).
	Hidden bool
	// Pooling, when set, adds the sentence embedding "embedding" [B, H].
	Pooling Pooling
}

// ForwardFiles loads weights and inputs, runs the encoder on backend and
// writes last_hidden_state [B, L, H], pooler_output [B, H] (with a pooler)
// and the optional outputs. It returns the files written.
func ForwardFiles(backend compute.Backend, req ForwardRequest) ([]string, error) {
	c, err := LoadFile(req.Weights)
	if err != nil {
		return nil, err
	}
	cfg := req.Config
	if !c.HasPooler() {
		cfg.NoPooler = true // e.g. a BertForMaskedLM file: no pooler_output then
	}
	enc, err := NewEncoder(backend, cfg, c.Set)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Weights, err)
	}
	var in Inputs
	for _, f := range []struct {
		path string
		dst  **tensors.Tensor
	}{{req.IDs, &in.IDs}, {req.Mask, &in.Mask}, {req.TokenTypes, &in.TokenTypes}} {
		if f.path == "" {
			continue
		}
		if *f.dst, err = readArray(f.path); err != nil {
			return nil, err
		}
	}
	res, err := enc.Forward(in, req.Hidden)
	if err != nil {
		return nil, err
	}
	out := weights.NewSet()
	add := func(name string, t *tensors.Tensor) error {
		w, err := weights.FromTensor(name, t)
		if err != nil {
			return err
		}
		out.Add(w)
		return nil
	}
	if err := add("last_hidden_state", res.Last); err != nil {
		return nil, err
	}
	if res.Pooled != nil {
		if err := add("pooler_output", res.Pooled); err != nil {
			return nil, err
		}
	}
	for i, h := range res.Hidden {
		if err := add(fmt.Sprintf("hidden_states.%02d", i), h); err != nil {
			return nil, err
		}
	}
	if req.Pooling != "" {
		emb, err := enc.Pool(res, in.Mask, req.Pooling)
		if err != nil {
			return nil, err
		}
		if err := add("embedding", emb); err != nil {
			return nil, err
		}
	}
	return writeOutputs(req.Output, out)
}

// readArray reads a single-array .npy or .npz file as a GoMLX tensor.
func readArray(path string) (*tensors.Tensor, error) {
	s, err := weights.Load(path)
	if err != nil {
		return nil, err
	}
	if len(s.Tensors) != 1 {
		return nil, fmt.Errorf("%s: holds %d arrays, want one", path, len(s.Tensors))
	}
	t := s.Tensors[s.Names()[0]]
	shape := t.Shape
	switch t.DType {
	case weights.I64, weights.I32:
		n := weights.NumElements(shape)
		es := t.DType.Size()
		if len(t.Data) != n*es {
			return nil, fmt.Errorf("%s: %d bytes for %s%v", path, len(t.Data), t.DType, shape)
		}
		out := make([]int64, n)
		for i := range out {
			if es == 8 {
				out[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
			} else {
				out[i] = int64(int32(binary.LittleEndian.Uint32(t.Data[4*i:])))
			}
		}
		return tensors.FromFlatDataAndDimensions(out, shape...), nil
	case weights.F32, weights.F64, weights.F16, weights.BF16, weights.U8, weights.Bool, weights.I16, weights.I8:
		v, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return tensors.FromFlatDataAndDimensions(v, shape...), nil
	}
	return nil, fmt.Errorf("%s: unsupported dtype %s", path, t.DType)
}

// writeOutputs writes the set to path by extension (see ForwardRequest).
func writeOutputs(path string, s *weights.Set) ([]string, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".npz":
		return []string{path}, fsutil.WriteFileAtomic(path, func(w io.Writer) error { return weights.WriteNPZ(w, s) })
	case ".safetensors":
		return []string{path}, fsutil.WriteFileAtomic(path, func(w io.Writer) error { return weights.WriteSafetensors(w, s) })
	case ".npy":
		base := strings.TrimSuffix(path, filepath.Ext(path))
		var written []string
		for _, name := range s.Names() {
			p := base + "." + name + ".npy"
			if name == "last_hidden_state" {
				p = path
			}
			t := s.Tensors[name]
			if err := fsutil.WriteFileAtomic(p, func(w io.Writer) error { return weights.WriteNPY(w, t) }); err != nil {
				return written, err
			}
			written = append(written, p)
		}
		return written, nil
	}
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("output %s: %w", path, err)
	}
	return nil, fmt.Errorf("output %s: want a .npy, .npz or .safetensors file name", path)
}

// Describe summarises the BERTs a weight set holds — prefix, layers and
// width, and whether the shapes match a preset — or returns "" when it
// holds none.
func Describe(s *weights.Set) string {
	var parts []string
	for _, p := range Prefixes(s) {
		c, err := ToCanonical(s, p, false)
		if err != nil {
			continue
		}
		desc := "BERT (BertModel names)"
		if p != "" {
			desc = fmt.Sprintf("BERT under %q", p)
		}
		if w, ok := c.Set.Tensors[anchor]; ok && len(w.Shape) == 2 {
			layers := 0
			for layers < 1000 {
				if _, ok := c.Set.Tensors[fmt.Sprintf("encoder.layer.%d.output.dense.bias", layers)]; !ok {
					break
				}
				layers++
			}
			desc += fmt.Sprintf(": vocabulary %d, width %d, %d layers", w.Shape[0], w.Shape[1], layers)
		}
		for _, a := range Archs() {
			cfg, _ := ByName(a)
			if weights.Check(cfg.Specs(), c.Set) == nil {
				desc += ", matches " + a
			}
		}
		parts = append(parts, desc)
	}
	return strings.Join(parts, "; ")
}

// Convert extracts the BERT from a weight set in any supported layout
// ([ToCanonical], prefix detected) and checks it against cfg: the result
// has exactly cfg's tensors under Hugging Face BertModel names.
//
// A file without the pooler (BertForMaskedLM is saved without one) is
// accepted as cfg with NoPooler.
func Convert(cfg Config, src *weights.Set) (*Canonical, error) {
	c, err := ToCanonical(src, "", true)
	if err != nil {
		return nil, err
	}
	if !c.HasPooler() {
		cfg.NoPooler = true
	}
	if err := weights.Check(cfg.Specs(), c.Set); err != nil {
		return nil, fmt.Errorf("bert %s: %w", cfg.Name, err)
	}
	return c, nil
}
