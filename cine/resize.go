package cine

import (
	"fmt"
	"math"
)

// Interp selects a resampling method.
type Interp int

const (
	// Nearest is OpenCV's cv2.resize INTER_NEAREST, which the paper-era
	// toolkit used through torch_videovision's Resize (docs/reference.md §1.5):
	// source index = min(floor(dst · in/out), in−1).
	Nearest Interp = iota
	// Bilinear is torch.nn.functional.interpolate(mode="bilinear",
	// align_corners=False) without antialiasing, as pytorchvideo's
	// ShortSideScale (docs/reference.md §2.5): source = (dst + 0.5)·in/out − 0.5,
	// clamped at 0. Float32 videos only.
	Bilinear
)

func (i Interp) String() string {
	switch i {
	case Nearest:
		return "nearest"
	case Bilinear:
		return "bilinear"
	}
	return fmt.Sprintf("Interp(%d)", int(i))
}

// Preprocess is the spatial pre-processing of stored frames: scale the
// shorter side to Short, then centre-crop Crop×Crop. Short 0 skips the
// resize, Crop 0 skips the crop.
type Preprocess struct {
	Short, Crop int
	Interp      Interp
}

// The pre-processing presets.
var (
	// ReferenceFrames: the paper-era toolkit's 480 nearest → centre crop 360
	// (torch_videovision Resize(480) + CenterCrop(360)).
	ReferenceFrames = Preprocess{Short: 480, Crop: 360, Interp: Nearest}
	// ModelFrames: the model's evaluation input, pytorchvideo
	// ShortSideScale(264) (bilinear) + CenterCrop(224).
	ModelFrames = Preprocess{Short: 264, Crop: 224, Interp: Bilinear}
)

// ShortSideSize returns the size (oh, ow) that makes the shorter side equal
// to size, with the reference implementation's arithmetic: torch_videovision
// (Nearest) computes int(size·long/short), pytorchvideo (Bilinear)
// floor(long/short·size); they differ in the last bit on some sizes.
func ShortSideSize(h, w, size int, interp Interp) (oh, ow int) {
	long := func(l, s int) int {
		if interp == Bilinear {
			return int(math.Floor(float64(l) / float64(s) * float64(size)))
		}
		return int(float64(size*l) / float64(s))
	}
	if interp == Bilinear {
		if w < h {
			return long(h, w), size
		}
		return size, long(w, h)
	}
	if w < h {
		return long(h, w), size
	}
	return size, long(w, h)
}

// CenterCropOffset returns the top-left corner of a centred crop the way
// torchvision and torch_videovision compute it: int(round((in − crop)/2))
// with Python's round-half-to-even.
func CenterCropOffset(in, crop int) int {
	return int(math.RoundToEven(float64(in-crop) / 2))
}

// Apply resizes and crops every frame of v into a new Video (SliceFrames and
// TotalImages are kept). Bilinear needs a float32 video: resample raw
// intensities before mapping them to uint8.
func (p Preprocess) Apply(v *Video) (*Video, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	if p.Interp == Bilinear && v.Pix != nil {
		return nil, fmt.Errorf("cine: bilinear resize of a uint8 video: resample the float32 intensities first")
	}
	h, w := v.H, v.W
	oh, ow := h, w
	// torch_videovision returns the clip unchanged when the short side
	// already equals the target; so does a same-size resample.
	if p.Short > 0 && !(w <= h && w == p.Short) && !(h <= w && h == p.Short) {
		oh, ow = ShortSideSize(h, w, p.Short, p.Interp)
	}
	ch, cw := oh, ow
	y0, x0 := 0, 0
	if p.Crop > 0 {
		if p.Crop > oh || p.Crop > ow {
			return nil, fmt.Errorf("cine: crop %d is larger than the %dx%d frame", p.Crop, oh, ow)
		}
		ch, cw = p.Crop, p.Crop
		y0, x0 = CenterCropOffset(oh, p.Crop), CenterCropOffset(ow, p.Crop)
	}
	out := &Video{C: v.C, F: v.F, H: ch, W: cw, SliceFrames: append([]int32(nil), v.SliceFrames...), TotalImages: v.TotalImages}
	planes := v.C * v.F
	if v.Pix != nil {
		out.Pix = make([]uint8, planes*ch*cw)
		xs, ys := nearestIndex(w, ow), nearestIndex(h, oh)
		for k := 0; k < planes; k++ {
			src := v.Pix[k*h*w : (k+1)*h*w]
			dst := out.Pix[k*ch*cw : (k+1)*ch*cw]
			for y := 0; y < ch; y++ {
				row := src[ys[y+y0]*w:]
				for x := 0; x < cw; x++ {
					dst[y*cw+x] = row[xs[x+x0]]
				}
			}
		}
		return out, nil
	}
	out.Float = make([]float32, planes*ch*cw)
	full := make([]float32, oh*ow)
	for k := 0; k < planes; k++ {
		ResizePlane(v.Float[k*h*w:(k+1)*h*w], h, w, full, oh, ow, p.Interp)
		dst := out.Float[k*ch*cw : (k+1)*ch*cw]
		for y := 0; y < ch; y++ {
			copy(dst[y*cw:(y+1)*cw], full[(y+y0)*ow+x0:])
		}
	}
	return out, nil
}

// nearestIndex maps each of out destination indices to its source index,
// as OpenCV's resizeNN: min(floor(x · (1/(out/in))), in−1) in float64.
func nearestIndex(in, out int) []int {
	ifx := 1 / (float64(out) / float64(in))
	idx := make([]int, out)
	for x := range idx {
		idx[x] = min(int(math.Floor(float64(x)*ifx)), in-1)
	}
	return idx
}

// linearIndex returns torch's source indices and weights for one axis
// (align_corners=False). As ATen does for float input: the scale is the
// float32 quotient in/out, the source position is evaluated in float64
// (scale·(dst + 0.5) − 0.5, clamped at 0), and the weights are float32.
func linearIndex(in, out int) (i0, i1 []int, l0, l1 []float32) {
	scale := float64(float32(in) / float32(out))
	i0, i1 = make([]int, out), make([]int, out)
	l0, l1 = make([]float32, out), make([]float32, out)
	for d := 0; d < out; d++ {
		src := scale*(float64(d)+0.5) - 0.5
		if src < 0 {
			src = 0
		}
		k := int(src)
		off := 0
		if k < in-1 {
			off = 1
		}
		i0[d], i1[d] = k, k+off
		l1[d] = float32(src - float64(k))
		l0[d] = 1 - l1[d]
	}
	return
}

// ResizePlane resamples the h×w plane src into dst (oh×ow).
func ResizePlane(src []float32, h, w int, dst []float32, oh, ow int, interp Interp) {
	if interp == Nearest {
		xs, ys := nearestIndex(w, ow), nearestIndex(h, oh)
		for y := 0; y < oh; y++ {
			row := src[ys[y]*w:]
			for x := 0; x < ow; x++ {
				dst[y*ow+x] = row[xs[x]]
			}
		}
		return
	}
	y0, y1, ly0, ly1 := linearIndex(h, oh)
	x0, x1, lx0, lx1 := linearIndex(w, ow)
	for y := 0; y < oh; y++ {
		r0, r1 := src[y0[y]*w:], src[y1[y]*w:]
		for x := 0; x < ow; x++ {
			a := float32(r0[x0[x]]*lx0[x]) + float32(r0[x1[x]]*lx1[x])
			b := float32(r1[x0[x]]*lx0[x]) + float32(r1[x1[x]]*lx1[x])
			dst[y*ow+x] = float32(a*ly0[y]) + float32(b*ly1[y])
		}
	}
}
