package mvit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/internal/hdf5"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/tensors"
)

// AttentionOutput says where [Encoder.EncodeFile] writes attention maps.
type AttentionOutput struct {
	// Dir receives one entry per clip; empty disables the export.
	Dir string
	// Format is "h5" (default): Dir/clip_NNNN.h5 with datasets input_video
	// [C,T,H,W] and layer_00 … layer_LL [heads, Nq, Nk], float32 — the
	// authors' export layout (docs/reference.md §4.4), readable by their
	// visualize_attentions.py; or "npy": Dir/clip_NNNN/<dataset>.npy.
	Format string
}

// EncodeFile runs the encoder on every clip of a float32 .npy array
// [N, C, T, H, W] (already normalised, as the network takes it), one clip at
// a time, and writes the features [N, D] to out (.npy). With attn.Dir, each
// clip's post-softmax attention maps (CLS token first) are written too.
func (e *Encoder) EncodeFile(ctx context.Context, in, out string, attn AttentionOutput, log *slog.Logger) error {
	switch attn.Format {
	case "", "h5", "npy":
	default:
		return fmt.Errorf("mvit: attention format %q: want h5 or npy", attn.Format)
	}
	attnDir := attn.Dir
	set, err := weights.Load(in)
	if err != nil {
		return err
	}
	if len(set.Tensors) != 1 {
		return fmt.Errorf("mvit: %s: want one array, found %d", in, len(set.Tensors))
	}
	src := set.Tensors[set.Names()[0]]
	c := e.Config
	want := []int{c.InChannels, c.Frames, c.Height, c.Width}
	if len(src.Shape) != 5 || fmt.Sprint(src.Shape[1:]) != fmt.Sprint(want) {
		return fmt.Errorf("mvit: %s: shape %v, want [N %d %d %d %d] for %s", in, src.Shape, want[0], want[1], want[2], want[3], c.Name)
	}
	if src.DType != weights.F32 {
		return fmt.Errorf("mvit: %s: dtype %s, want float32", in, src.DType)
	}
	vals, err := src.Float32()
	if err != nil {
		return err
	}
	n := src.Shape[0]
	per := weights.NumElements(want)
	feats := make([]float32, 0, n*c.OutDim())
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		clip := vals[i*per : (i+1)*per]
		x := tensors.FromFlatDataAndDimensions(clip, append([]int{1}, want...)...)
		t0 := time.Now()
		res, err := e.Forward(x, attnDir != "")
		if err != nil {
			return fmt.Errorf("mvit: %s clip %d: %w", in, i, err)
		}
		feats = append(feats, tensors.MustCopyFlatData[float32](res.Features)...)
		if log != nil {
			log.Info("encoded clip", "clip", i, "of", n, "seconds", time.Since(t0).Seconds())
		}
		if attnDir != "" {
			maps := []*weights.Tensor{weights.FromFloat32("input_video", want, clip)}
			for b, a := range res.Attention {
				d := a.Shape().Dimensions // [1, heads, Nq, Nk]
				maps = append(maps, weights.FromFloat32(fmt.Sprintf("layer_%02d", b), d[1:], tensors.MustCopyFlatData[float32](a)))
			}
			if err := writeAttention(attnDir, fmt.Sprintf("clip_%04d", i), attn.Format, maps); err != nil {
				return err
			}
		}
	}
	return writeNPY(out, weights.FromFloat32("features", []int{n, c.OutDim()}, feats))
}

// writeAttention writes one clip's maps as name.h5 or name/<tensor>.npy.
func writeAttention(dir, name, format string, maps []*weights.Tensor) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mvit: %w", err)
	}
	if format == "npy" {
		sub := filepath.Join(dir, name)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("mvit: %w", err)
		}
		for _, t := range maps {
			if err := writeNPY(filepath.Join(sub, t.Name+".npy"), t); err != nil {
				return err
			}
		}
		return nil
	}
	specs := make([]hdf5.DatasetSpec, len(maps))
	for i, t := range maps {
		dims := make([]uint64, len(t.Shape))
		for j, d := range t.Shape {
			dims[j] = uint64(d)
		}
		specs[i] = hdf5.DatasetSpec{Name: t.Name, Dims: dims, Type: hdf5.Datatype{Class: hdf5.ClassFloat, Size: 4}, Data: t.Data}
	}
	path := filepath.Join(dir, name+".h5")
	if err := fsutil.WriteFileAtomic(path, func(w io.Writer) error { return hdf5.Write(w, specs) }); err != nil {
		return fmt.Errorf("mvit: writing %s: %w", path, err)
	}
	return nil
}

func writeNPY(path string, t *weights.Tensor) error {
	err := fsutil.WriteFileAtomic(path, func(w io.Writer) error { return weights.WriteNPY(w, t) })
	if err != nil {
		return fmt.Errorf("mvit: writing %s: %w", path, err)
	}
	return nil
}
