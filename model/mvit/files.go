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
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/tensors"
)

// EncodeFile runs the encoder on every clip of a float32 .npy array
// [N, C, T, H, W] (already normalised, as the network takes it), one clip at
// a time, and writes the features [N, D] to out (.npy). With attnDir, each
// clip's attention maps go to attnDir/clip_NNNN/layer_LL.npy as float32
// [heads, Nq, Nk] (CLS token first, REFERENCE-SPEC §4.4), next to the clip
// itself as input_video.npy.
func (e *Encoder) EncodeFile(ctx context.Context, in, out, attnDir string, log *slog.Logger) error {
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
			dir := filepath.Join(attnDir, fmt.Sprintf("clip_%04d", i))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("mvit: %w", err)
			}
			if err := writeNPY(filepath.Join(dir, "input_video.npy"), weights.FromFloat32("input_video", want, clip)); err != nil {
				return err
			}
			for b, a := range res.Attention {
				d := a.Shape().Dimensions // [1, heads, Nq, Nk]
				t := weights.FromFloat32("attn", d[1:], tensors.MustCopyFlatData[float32](a))
				if err := writeNPY(filepath.Join(dir, fmt.Sprintf("layer_%02d.npy", b)), t); err != nil {
					return err
				}
			}
		}
	}
	return writeNPY(out, weights.FromFloat32("features", []int{n, c.OutDim()}, feats))
}

func writeNPY(path string, t *weights.Tensor) error {
	err := fsutil.WriteFileAtomic(path, func(w io.Writer) error { return weights.WriteNPY(w, t) })
	if err != nil {
		return fmt.Errorf("mvit: writing %s: %w", path, err)
	}
	return nil
}
