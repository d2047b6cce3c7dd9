package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Op is one of AugMix's 13 operations, in pytorchvideo 0.1.3's order
// (_TRANSFORM_AUGMIX_MAX_PARAMS).
type Op int

// The AugMix operations.
const (
	OpAutoContrast Op = iota
	OpEqualize
	OpRotate
	OpPosterize
	OpSolarize
	OpShearX
	OpShearY
	OpTranslateX
	OpTranslateY
	OpAdjustSaturation
	OpAdjustContrast
	OpAdjustBrightness
	OpAdjustSharpness
	numOps
)

var opNames = [...]string{"AutoContrast", "Equalize", "Rotate", "Posterize", "Solarize", "ShearX", "ShearY",
	"TranslateX", "TranslateY", "AdjustSaturation", "AdjustContrast", "AdjustBrightness", "AdjustSharpness"}

func (o Op) String() string {
	if o >= 0 && o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// ParseOp returns the Op named s (pytorchvideo's names).
func ParseOp(s string) (Op, error) {
	for i, n := range opNames {
		if n == s {
			return Op(i), nil
		}
	}
	return 0, fmt.Errorf("augmix: unknown operation %q", s)
}

// OpStep is one operation with its argument, as pytorchvideo passes it to
// the transform function: degrees (Rotate), bits (Posterize), threshold
// (Solarize), shear factor (ShearX/Y), fraction of the image size
// (TranslateX/Y), blend factor (Adjust*); ignored by AutoContrast and
// Equalize.
type OpStep struct {
	Op  Op
	Arg float64
}

// AugMixParams are AugMix's hyperparameters. The zero value is not valid;
// use DefaultAugMix.
type AugMixParams struct {
	// Magnitude bounds the level: level ~ U(0.1, Magnitude) (pytorchvideo
	// samples floats from sampling_min 0.1).
	Magnitude float64
	// Alpha parameterises Dirichlet(α·1) for the chain weights and
	// Beta(α, α) for the mix with the original clip.
	Alpha float64
	// Width is the number of chains.
	Width int
	// Depth is the number of operations per chain; ≤ 0 draws it from
	// U{1, 2, 3} per chain.
	Depth int
	// Fill is the value of pixels that geometric operations bring in from
	// outside the image (pytorchvideo's default fill (0.5, 0.5, 0.5)).
	Fill float32
}

// DefaultAugMix returns the reference's AugMix: magnitude 3, alpha 1,
// width 3, depth −1, fill 0.5.
func DefaultAugMix() AugMixParams {
	return AugMixParams{Magnitude: 3, Alpha: 1, Width: 3, Depth: -1, Fill: 0.5}
}

// AugMixPlan is one draw of AugMix's randomness: the chain weights, the
// weight M of the original clip, and each chain's operations. The result is
//
//	out = M·x + (1−M)·Σ_i Weights[i]·chain_i(x)
type AugMixPlan struct {
	Weights []float32
	M       float32
	Chains  [][]OpStep
}

// DrawAugMix draws an AugMixPlan as pytorchvideo's AugMix does: weights ~
// Dirichlet(α), M ~ Beta(α, α), per chain a depth and operations drawn
// uniformly with replacement, per operation level ~ U(0.1, magnitude) mapped
// to its argument (rotation ±level/10·30°, posterize 4−⌊level/10·4⌋ bits,
// solarize threshold 1−level/10, shear ±level/10·0.3, translate
// ±level/10·⅓, adjust factors 0.1+level/10·1.8; the sign is negated with
// probability ½ for rotate, shear and translate).
func DrawAugMix(p AugMixParams, rng *rand.Rand) AugMixPlan {
	w := make([]float64, p.Width)
	sum := 0.0
	for i := range w {
		w[i] = gamma(p.Alpha, rng)
		sum += w[i]
	}
	plan := AugMixPlan{Weights: make([]float32, p.Width), Chains: make([][]OpStep, p.Width)}
	for i := range w {
		plan.Weights[i] = float32(w[i] / sum)
	}
	a, b := gamma(p.Alpha, rng), gamma(p.Alpha, rng)
	plan.M = float32(a / (a + b))
	for i := range plan.Chains {
		depth := p.Depth
		if depth <= 0 {
			depth = 1 + rng.IntN(3)
		}
		for range depth {
			op := Op(rng.IntN(int(numOps)))
			level := rng.Float64()*(p.Magnitude-0.1) + 0.1
			plan.Chains[i] = append(plan.Chains[i], OpStep{Op: op, Arg: levelToArg(op, level, rng)})
		}
	}
	return plan
}

// levelToArg is pytorchvideo's _AUGMIX_LEVEL_TO_ARG with
// _TRANSFORM_AUGMIX_MAX_PARAMS (max level 10).
func levelToArg(op Op, level float64, rng *rand.Rand) float64 {
	frac := level / 10
	neg := func(m float64) float64 {
		if rng.Float64() > 0.5 {
			return m
		}
		return -m
	}
	switch op {
	case OpRotate:
		return neg(frac * 30)
	case OpPosterize:
		return float64(4 - int(frac*4))
	case OpSolarize:
		return 1 - frac
	case OpShearX, OpShearY:
		return neg(frac * 0.3)
	case OpTranslateX, OpTranslateY:
		return neg(frac * (1.0 / 3.0))
	case OpAdjustSaturation, OpAdjustContrast, OpAdjustBrightness, OpAdjustSharpness:
		return 0.1 + frac*1.8
	}
	return 0
}

// gamma draws from Gamma(alpha, 1): exactly exponential for alpha = 1,
// Marsaglia–Tsang otherwise.
func gamma(alpha float64, rng *rand.Rand) float64 {
	if alpha == 1 {
		return rng.ExpFloat64()
	}
	if alpha < 1 {
		return gamma(alpha+1, rng) * math.Pow(rng.Float64(), 1/alpha)
	}
	d := alpha - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// ApplyAugMix applies a plan to a clip and returns a new clip. Every
// operation sees the whole clip, so all frames get the same operation with
// the same parameters (pytorchvideo applies AugMix to the (T, C, H, W)
// tensor).
func ApplyAugMix(x *ClipData, plan AugMixPlan, fill float32) *ClipData {
	mixed := make([]float32, len(x.Data))
	for i, w := range plan.Weights {
		y := x
		for _, s := range plan.Chains[i] {
			y = ApplyOp(y, s, fill)
		}
		for k, v := range y.Data {
			mixed[k] += float32(w * v)
		}
	}
	m := plan.M
	om := float32(1 - float64(m))
	out := &ClipData{C: x.C, T: x.T, H: x.H, W: x.W, Shared: x.Shared, Data: mixed}
	for k, v := range x.Data {
		mixed[k] = float32(m*v) + float32(om*mixed[k])
	}
	return out
}

// ApplyOp applies one AugMix operation with torchvision 0.14's float-tensor
// semantics and returns a new clip (x is not modified).
func ApplyOp(x *ClipData, s OpStep, fill float32) *ClipData {
	y := &ClipData{C: x.C, T: x.T, H: x.H, W: x.W, Shared: x.Shared, Data: make([]float32, len(x.Data))}
	switch s.Op {
	case OpAutoContrast:
		autoContrast(x, y)
	case OpEqualize:
		equalize(x, y)
	case OpPosterize:
		posterize(x, y, int(s.Arg))
	case OpSolarize:
		thr := float32(s.Arg)
		for i, v := range x.Data {
			if v >= thr {
				v = 1 - v
			}
			y.Data[i] = v
		}
	case OpRotate:
		affine(x, y, RotateMatrix(s.Arg), fill)
	case OpShearX, OpShearY, OpTranslateX, OpTranslateY:
		affine(x, y, AffineMatrix(s.Op, s.Arg, x.H, x.W), fill)
	case OpAdjustSaturation:
		saturation(x, y, s.Arg)
	case OpAdjustContrast:
		contrast(x, y, s.Arg)
	case OpAdjustBrightness:
		r := float32(s.Arg)
		for i, v := range x.Data {
			y.Data[i] = clamp01(r * v)
		}
	case OpAdjustSharpness:
		sharpness(x, y, s.Arg)
	default:
		panic(fmt.Sprintf("augmix: unknown operation %d", int(s.Op)))
	}
	return y
}

func clamp01(v float32) float32 {
	// torch.clamp(0, 1): NaN stays NaN.
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// blend is torchvision's _blend for float images:
// clamp(ratio·a + (1−ratio)·b, 0, 1), in float32 with the scalars rounded
// to float32 as torch does.
func blendScalars(ratio float64) (r, or float32) { return float32(ratio), float32(1 - ratio) }

// castU8 is torch's float32 → uint8 conversion on x86-64: truncate toward
// zero to a 32-bit integer (0x80000000 when out of range or NaN) and keep
// the low byte, so raw intensities wrap around modulo 256.
func castU8(v float32) uint8 {
	if v != v || v >= 2147483648 || v < -2147483648 {
		return 0
	}
	return uint8(int32(v))
}

// autoContrast: per image and channel, (x − min)·(1/(max − min)) clamped
// to [0, 1]; a constant plane keeps min 0 and scale 1.
func autoContrast(x, y *ClipData) {
	for ch := range x.Planes() {
		for t := range x.T {
			src, dst := x.Plane(ch, t), y.Plane(ch, t)
			lo, hi := src[0], src[0]
			for _, v := range src {
				lo, hi = min(lo, v), max(hi, v)
			}
			scale := 1 / (hi - lo)
			if math.IsInf(float64(scale), 0) || scale != scale {
				lo, scale = 0, 1
			}
			for i, v := range src {
				dst[i] = clamp01((v - lo) * scale)
			}
		}
	}
}

// equalize: pytorchvideo casts x·255 to uint8, torchvision equalizes each
// image and channel (PIL's algorithm), the result is divided by 255.
func equalize(x, y *ClipData) {
	u := make([]uint8, x.H*x.W)
	for ch := range x.Planes() {
		for t := range x.T {
			src, dst := x.Plane(ch, t), y.Plane(ch, t)
			var hist [256]int64
			for i, v := range src {
				u[i] = castU8(v * 255)
				hist[u[i]]++
			}
			var lut [256]float32
			last := -1
			var total int64
			for i, n := range hist {
				if n != 0 {
					last = i
				}
			}
			for i, n := range hist {
				if n != 0 && i != last {
					total += n
				}
			}
			step := total / 255
			if step == 0 {
				for i, b := range u {
					dst[i] = float32(b) / 255
				}
				continue
			}
			var cum int64
			for i := range 256 {
				// lut[i] = clamp((cumsum[i−1] + step/2) / step, 0, 255), lut[0] = 0.
				l := (cum + step/2) / step
				lut[i] = float32(min(max(l, 0), 255)) / 255
				cum += hist[i]
			}
			for i, b := range u {
				dst[i] = lut[b]
			}
		}
	}
}

// posterize keeps the top bits of uint8(x·255) and divides by 255.
func posterize(x, y *ClipData, bits int) {
	if bits >= 8 {
		copy(y.Data, x.Data)
		return
	}
	mask := uint8(0xff << uint(8-bits))
	for i, v := range x.Data {
		y.Data[i] = float32(castU8(v*255)&mask) / 255
	}
}

// grayPlane writes torchvision's rgb_to_grayscale of frame t into g:
// 0.2989·r + 0.587·g + 0.114·b in float32, left to right (the input
// itself for a true single-channel clip; the same formula on the shared
// plane for identical channels).
func grayPlane(x *ClipData, t int, g []float32) {
	const wr, wg, wb = float32(0.2989), float32(0.587), float32(0.114)
	switch {
	case x.C == 3 && !x.Shared:
		r, gg, b := x.Plane(0, t), x.Plane(1, t), x.Plane(2, t)
		for i := range g {
			g[i] = float32(float32(wr*r[i])+float32(wg*gg[i])) + float32(wb*b[i])
		}
	case x.C == 3:
		p := x.Plane(0, t)
		for i, v := range p {
			g[i] = float32(float32(wr*v)+float32(wg*v)) + float32(wb*v)
		}
	default:
		copy(g, x.Plane(0, t))
	}
}

func saturation(x, y *ClipData, factor float64) {
	if x.C == 1 {
		copy(y.Data, x.Data) // torchvision returns single-channel images unchanged
		return
	}
	r, or := blendScalars(factor)
	g := make([]float32, x.H*x.W)
	for t := range x.T {
		grayPlane(x, t, g)
		for ch := range x.Planes() {
			src, dst := x.Plane(ch, t), y.Plane(ch, t)
			for i, v := range src {
				dst[i] = clamp01(float32(r*v) + float32(or*g[i]))
			}
		}
	}
}

// contrast blends each frame with the mean of its grayscale image.
func contrast(x, y *ClipData, factor float64) {
	r, or := blendScalars(factor)
	g := make([]float32, x.H*x.W)
	for t := range x.T {
		grayPlane(x, t, g)
		var sum float64
		for _, v := range g {
			sum += float64(v)
		}
		mean := float32(sum) / float32(len(g))
		om := float32(or * mean)
		for ch := range x.Planes() {
			src, dst := x.Plane(ch, t), y.Plane(ch, t)
			for i, v := range src {
				dst[i] = clamp01(float32(r*v) + om)
			}
		}
	}
}

// sharpness blends with torchvision's "degenerate" image: the 3×3 kernel
// [[1,1,1],[1,5,1],[1,1,1]]/13 inside, the original on the border.
func sharpness(x, y *ClipData, factor float64) {
	if x.H <= 2 || x.W <= 2 {
		copy(y.Data, x.Data)
		return
	}
	r, or := blendScalars(factor)
	k1 := float64(float32(1) / float32(13))
	k5 := float64(float32(5) / float32(13))
	h, w := x.H, x.W
	for ch := range x.Planes() {
		for t := range x.T {
			src, dst := x.Plane(ch, t), y.Plane(ch, t)
			for yy := range h {
				row, out := src[yy*w:(yy+1)*w], dst[yy*w:(yy+1)*w]
				if yy == 0 || yy == h-1 {
					for xx, v := range row {
						out[xx] = clamp01(float32(r*v) + float32(or*v))
					}
					continue
				}
				up, dn := src[(yy-1)*w:yy*w], src[(yy+1)*w:(yy+2)*w]
				out[0] = clamp01(float32(r*row[0]) + float32(or*row[0]))
				out[w-1] = clamp01(float32(r*row[w-1]) + float32(or*row[w-1]))
				for xx := 1; xx < w-1; xx++ {
					ring := float64(up[xx-1]) + float64(up[xx]) + float64(up[xx+1]) + float64(row[xx-1]) +
						float64(row[xx+1]) + float64(dn[xx-1]) + float64(dn[xx]) + float64(dn[xx+1])
					deg := float32(k1*ring + k5*float64(row[xx]))
					out[xx] = clamp01(float32(r*row[xx]) + float32(or*deg))
				}
			}
		}
	}
}
