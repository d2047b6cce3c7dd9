package data

import (
	"fmt"

	"github.com/cmrfm/cmrfm/cine"
)

// ClipData is the pixels of a clip (the frames a [cine.Clip] selects, after
// subsampling and transforms): float32 in (C, T, H, W) order, stored
// c-major in one flat buffer. When Shared is set, the C channels are identical copies and
// Data holds only one of them (T·H·W values): the transforms then do the
// work once — bit-identically, since every operation treats the channels
// alike — and Expand materialises the C channels at the end.
type ClipData struct {
	C, T, H, W int
	Shared     bool
	Data       []float32
}

// Clip is the former name of ClipData.
//
// Deprecated: use [ClipData]; a clip's frame range is a [cine.Clip].
type Clip = ClipData

// Planes returns the number of stored channels (1 when Shared).
func (c *ClipData) Planes() int {
	if c.Shared {
		return 1
	}
	return c.C
}

// Plane returns the h×w image of stored channel ch, frame t.
func (c *ClipData) Plane(ch, t int) []float32 {
	n := c.H * c.W
	i := (ch*c.T + t) * n
	return c.Data[i : i+n : i+n]
}

// Expand returns the clip with all C channels stored (c itself if it
// already has them).
func (c *ClipData) Expand() *ClipData {
	if !c.Shared || c.C == 1 {
		return &ClipData{C: c.C, T: c.T, H: c.H, W: c.W, Data: c.Data}
	}
	n := c.T * c.H * c.W
	out := make([]float32, c.C*n)
	for ch := range c.C {
		copy(out[ch*n:], c.Data[:n])
	}
	return &ClipData{C: c.C, T: c.T, H: c.H, W: c.W, Data: out}
}

// ExtractOptions controls Extract.
type ExtractOptions struct {
	// Frames is the number of frames kept by uniform temporal subsampling
	// (pytorchvideo's UniformTemporalSubsample, the first transform of both
	// reference chains); 0 means 16, negative keeps every frame.
	Frames int
	// NoShare stores identical channels separately (for tests and callers
	// that want the full layout throughout).
	NoShare bool
}

// Extract copies the frames of clip r from video v as float32 (uint8
// videos are converted exactly), keeping the Frames frames that
// UniformTemporalSubsample selects. Channels that are identical (the
// reference repeats grey frames to 3 channels) are stored once.
func Extract(v *cine.Video, r cine.Clip, o ExtractOptions) (*ClipData, error) {
	if r.Start < 0 || r.End > v.F || r.Start >= r.End {
		return nil, fmt.Errorf("data: clip %s [%d, %d) outside the %d frames of the view", r.View, r.Start, r.End, v.F)
	}
	n := o.Frames
	if n == 0 {
		n = 16
	}
	var idx []int
	if n < 0 {
		for i := r.Start; i < r.End; i++ {
			idx = append(idx, i)
		}
	} else {
		idx = TemporalIndices(r.Len(), n)
		for i := range idx {
			idx[i] += r.Start
		}
	}
	shared := !o.NoShare && v.C > 1 && channelsEqual(v, idx)
	c := &ClipData{C: v.C, T: len(idx), H: v.H, W: v.W, Shared: shared}
	planes := c.Planes()
	hw := v.H * v.W
	c.Data = make([]float32, planes*c.T*hw)
	for ch := range planes {
		for t, f := range idx {
			dst := c.Plane(ch, t)
			src := v.Offset(ch, f, 0, 0)
			if v.Pix != nil {
				for i, p := range v.Pix[src : src+hw] {
					dst[i] = float32(p)
				}
			} else {
				copy(dst, v.Float[src:src+hw])
			}
		}
	}
	return c, nil
}

// channelsEqual reports whether every channel of v equals channel 0 on the
// given frames.
func channelsEqual(v *cine.Video, frames []int) bool {
	hw := v.H * v.W
	for ch := 1; ch < v.C; ch++ {
		for _, f := range frames {
			a, b := v.Offset(0, f, 0, 0), v.Offset(ch, f, 0, 0)
			if v.Pix != nil {
				if string(v.Pix[a:a+hw]) != string(v.Pix[b:b+hw]) {
					return false
				}
				continue
			}
			x, y := v.Float[a:a+hw], v.Float[b:b+hw]
			for i := range x {
				if x[i] != y[i] {
					return false
				}
			}
		}
	}
	return true
}
