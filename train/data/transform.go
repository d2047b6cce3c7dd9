package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// AugMixInput says what intensities AugMix's operations see.
type AugMixInput int

const (
	// AugMixRaw runs AugMix on the stored intensities, as the reference
	// does: its operations assume [0, 1] (clamp(0,1), uint8(x·255) with
	// wrap-around), so on raw 0–255 or DICOM-range values most of them
	// saturate or scramble the clip (docs/reference.md §2.5 "intensity
	// caveat", §6 item 8).
	AugMixRaw AugMixInput = iota
	// AugMixUnit divides the clip by 255 before AugMix and multiplies it
	// back after, so the operations see the [0, 1] images they were
	// designed for (cmrfm's uint8 stores).
	AugMixUnit
)

func (a AugMixInput) String() string {
	switch a {
	case AugMixRaw:
		return "raw"
	case AugMixUnit:
		return "unit"
	}
	return fmt.Sprintf("AugMixInput(%d)", int(a))
}

// ParseAugMixInput parses "raw" or "unit".
func ParseAugMixInput(s string) (AugMixInput, error) {
	switch s {
	case "raw", "":
		return AugMixRaw, nil
	case "unit":
		return AugMixUnit, nil
	}
	return 0, fmt.Errorf("augmix input %q: want raw or unit", s)
}

// Transform is a clip transform chain after temporal subsampling (which
// Extract does): the reference's train chain (Train set) or its val/test
// chain. Build one with TrainTransform or EvalTransform and adjust fields.
type Transform struct {
	// Train selects the random chain: [AugMix] → Normalize →
	// RandomShortSideScale(MinSize, MaxSize) → RandomCrop(Crop) →
	// RandomHorizontalFlip(FlipProb) → Div255. Otherwise: Normalize →
	// ShortSideScale(MinSize) → CenterCrop(Crop) → Div255.
	Train bool
	// AugMix enables AugMix in the train chain (all reference configs).
	AugMix   bool
	AugMixP  AugMixParams
	AugInput AugMixInput
	// Mean and Std are Normalize's per-channel constants (pytorchvideo's
	// defaults 0.45 and 0.225; the configs' mean/sd are never used).
	Mean, Std float32
	// MinSize and MaxSize bound the short-side scale (264, 380); eval uses
	// MinSize.
	MinSize, MaxSize int
	// Crop is the square crop size (224).
	Crop int
	// FlipProb is the horizontal flip probability (0.5).
	FlipProb float64
	// NoDiv255 skips the final division by 255 (the reference divides).
	NoDiv255 bool
}

// TrainTransform returns the reference's train chain (docs/reference.md §2.5).
func TrainTransform() Transform {
	return Transform{Train: true, AugMix: true, AugMixP: DefaultAugMix(), Mean: 0.45, Std: 0.225,
		MinSize: 264, MaxSize: 380, Crop: 224, FlipProb: 0.5}
}

// EvalTransform returns the reference's val/test chain.
func EvalTransform() Transform {
	return Transform{Mean: 0.45, Std: 0.225, MinSize: 264, MaxSize: 264, Crop: 224}
}

// Validate checks the sizes.
func (tr Transform) Validate() error {
	if tr.Std == 0 {
		return fmt.Errorf("transform: Std is 0")
	}
	if tr.MinSize <= 0 || tr.Crop <= 0 || tr.Crop > tr.MinSize {
		return fmt.Errorf("transform: need 0 < Crop (%d) ≤ MinSize (%d)", tr.Crop, tr.MinSize)
	}
	if tr.Train && tr.MaxSize < tr.MinSize {
		return fmt.Errorf("transform: MaxSize %d < MinSize %d", tr.MaxSize, tr.MinSize)
	}
	if tr.Train && tr.AugMix && (tr.AugMixP.Width <= 0 || tr.AugMixP.Alpha <= 0 || tr.AugMixP.Magnitude < 0.1) {
		return fmt.Errorf("transform: invalid AugMix parameters %+v", tr.AugMixP)
	}
	return nil
}

// Params are the random draws of one application of a Transform.
type Params struct {
	AugMix *AugMixPlan // nil: no AugMix
	// Size is the short-side size; Top and Left the crop's corner in the
	// scaled image; Flip a horizontal flip.
	Size, Top, Left int
	Flip            bool
}

// Draw draws the transform's random parameters for an h×w clip in the
// chain's order (AugMix, scale, crop, flip). Eval chains draw nothing.
func (tr Transform) Draw(h, w int, rng *rand.Rand) Params {
	var p Params
	if tr.Train && tr.AugMix {
		plan := DrawAugMix(tr.AugMixP, rng)
		p.AugMix = &plan
	}
	p.Size = tr.MinSize
	if tr.Train {
		p.Size = tr.MinSize + rng.IntN(tr.MaxSize-tr.MinSize+1)
	}
	oh, ow := ShortSideSize(h, w, p.Size)
	if tr.Train {
		p.Top = rng.IntN(oh - tr.Crop + 1)
		p.Left = rng.IntN(ow - tr.Crop + 1)
		p.Flip = rng.Float64() < tr.FlipProb
	} else {
		p.Top = int(math.RoundToEven(float64(oh-tr.Crop) / 2))
		p.Left = int(math.RoundToEven(float64(ow-tr.Crop) / 2))
	}
	return p
}

// Apply draws parameters from rng and applies the chain; the result is a
// float32 (C, T, Crop, Crop) clip with every channel stored.
func (tr Transform) Apply(x *Clip, rng *rand.Rand) *Clip {
	return tr.ApplyParams(x, tr.Draw(x.H, x.W, rng))
}

// ApplyParams applies the chain with given parameters. Normalize, scale,
// crop, flip and Div255 are fused into one pass that computes only the
// cropped pixels, with the same float32 arithmetic as the separate steps.
func (tr Transform) ApplyParams(x *Clip, p Params) *Clip {
	if p.AugMix != nil {
		in := x
		if tr.AugInput == AugMixUnit {
			in = scaleClip(x, 1.0/255)
		}
		x = ApplyAugMix(in, *p.AugMix, tr.AugMixP.Fill)
		if tr.AugInput == AugMixUnit {
			x = scaleClip(x, 255)
		}
	}
	oh, ow := ShortSideSize(x.H, x.W, p.Size)
	crop := tr.Crop
	if p.Top < 0 || p.Left < 0 || p.Top+crop > oh || p.Left+crop > ow {
		panic(fmt.Sprintf("data: crop %d at (%d, %d) outside the %dx%d scaled frame", crop, p.Top, p.Left, oh, ow))
	}
	ys := linearTaps(x.H, oh)
	xs := linearTaps(x.W, ow)
	out := &Clip{C: x.C, T: x.T, H: crop, W: crop, Shared: x.Shared, Data: make([]float32, x.Planes()*x.T*crop*crop)}
	norm := make([]float32, x.H*x.W)
	mean, std := tr.Mean, tr.Std
	for ch := range x.Planes() {
		for t := range x.T {
			src := x.Plane(ch, t)
			for i, v := range src {
				norm[i] = (v - mean) / std
			}
			dst := out.Plane(ch, t)
			for y := range crop {
				ty := ys[p.Top+y]
				r0, r1 := norm[ty.i0*x.W:], norm[ty.i1*x.W:]
				row := dst[y*crop : (y+1)*crop]
				for xo := range crop {
					sx := p.Left + xo
					if p.Flip {
						sx = p.Left + crop - 1 - xo
					}
					tx := xs[sx]
					a := float32(r0[tx.i0]*tx.l0) + float32(r0[tx.i1]*tx.l1)
					b := float32(r1[tx.i0]*tx.l0) + float32(r1[tx.i1]*tx.l1)
					v := float32(a*ty.l0) + float32(b*ty.l1)
					if !tr.NoDiv255 {
						v /= 255
					}
					row[xo] = v
				}
			}
		}
	}
	return out.Expand()
}

func scaleClip(x *Clip, s float32) *Clip {
	y := &Clip{C: x.C, T: x.T, H: x.H, W: x.W, Shared: x.Shared, Data: make([]float32, len(x.Data))}
	for i, v := range x.Data {
		y.Data[i] = v * s
	}
	return y
}

// ShortSideSize returns pytorchvideo's short_side_scale output size:
// the shorter side becomes size, the longer floor(long/short·size).
func ShortSideSize(h, w, size int) (oh, ow int) {
	if w < h {
		return int(math.Floor(float64(h) / float64(w) * float64(size))), size
	}
	return size, int(math.Floor(float64(w) / float64(h) * float64(size)))
}

type linTap struct {
	i0, i1 int
	l0, l1 float32
}

// linearTaps are torch's bilinear (align_corners=False) source indices and
// weights for one axis: scale = float32(in)/float32(out), source =
// scale·(dst + 0.5) − 0.5 (clamped at 0), evaluated in float64, weights in
// float32; an unchanged size copies.
func linearTaps(in, out int) []linTap {
	taps := make([]linTap, out)
	if in == out {
		for i := range taps {
			taps[i] = linTap{i0: i, i1: i, l0: 1}
		}
		return taps
	}
	scale := float64(float32(in) / float32(out))
	for d := range taps {
		src := scale*(float64(d)+0.5) - 0.5
		if src < 0 {
			src = 0
		}
		k := int(src)
		off := 0
		if k < in-1 {
			off = 1
		}
		l1 := float32(src - float64(k))
		taps[d] = linTap{i0: k, i1: k + off, l0: 1 - l1, l1: l1}
	}
	return taps
}
