package data

import "math"

// RotateMatrix returns torchvision's inverse affine matrix for
// F.rotate(img, angle) about the image centre (angle in degrees,
// counter-clockwise): _get_inverse_affine_matrix(center=0, −angle,
// translate=0, scale=1, shear=0), evaluated in float64 like Python.
func RotateMatrix(angle float64) [6]float64 {
	rot := -angle * (math.Pi / 180)
	c, s := math.Cos(rot), math.Sin(rot)
	return [6]float64{c, s, 0, -s, c, 0}
}

// AffineMatrix returns the matrix pytorchvideo 0.1.3 hands to
// torchvision's F_t.affine for the shear and translate operations on an
// h×w image: ShearX [1, f, h·f/2, 0, 1, 0], ShearY [1, 0, 0, f, 1, w·f/2],
// TranslateX [1, 0, f·w, 0, 1, 0], TranslateY [1, 0, 0, 0, 1, f·h].
// (pytorchvideo's shear offsets use the other axis' size, as here.)
func AffineMatrix(op Op, f float64, h, w int) [6]float64 {
	switch op {
	case OpShearX:
		return [6]float64{1, f, float64(h) * f / 2, 0, 1, 0}
	case OpShearY:
		return [6]float64{1, 0, 0, f, 1, float64(w) * f / 2}
	case OpTranslateX:
		return [6]float64{1, 0, f * float64(w), 0, 1, 0}
	case OpTranslateY:
		return [6]float64{1, 0, 0, 0, 1, f * float64(h)}
	}
	return [6]float64{1, 0, 0, 0, 1, 0}
}

// sampleTap is one output pixel's bilinear footprint: up to four source
// offsets with weights (weight 0 for corners outside the image) and the
// interpolated mask.
type sampleTap struct {
	off  [4]int32
	wt   [4]float32
	mask float32
}

// affineTaps computes, for every output pixel of an h×w image, where
// torchvision's affine/rotate (F_t._gen_affine_grid + grid_sample,
// bilinear, zeros padding, align_corners=False) samples the input.
func affineTaps(m [6]float64, h, w int) []sampleTap {
	var th [6]float32
	for i, v := range m {
		th[i] = float32(v)
	}
	hw, hh := float32(0.5*float64(w)), float32(0.5*float64(h))
	// rescaled_theta = thetaᵀ / [w/2, h/2]
	r00, r10, r20 := float64(th[0]/hw), float64(th[1]/hw), float64(th[2]/hw)
	r01, r11, r21 := float64(th[3]/hh), float64(th[4]/hh), float64(th[5]/hh)
	sw, sh := float32(w)/2, float32(h)/2
	taps := make([]sampleTap, h*w)
	for y := range h {
		by := float64(y) - float64(h)/2 + 0.5
		for x := range w {
			bx := float64(x) - float64(w)/2 + 0.5
			gx := float32(bx*r00 + by*r10 + r20)
			gy := float32(bx*r01 + by*r11 + r21)
			// grid_sample unnormalisation: (g + 1)·size/2 − 0.5
			ix := float32((gx+1)*sw) - 0.5
			iy := float32((gy+1)*sh) - 0.5
			x0f, y0f := float32(math.Floor(float64(ix))), float32(math.Floor(float64(iy)))
			we := ix - x0f // distance to the west column = weight of the east one
			ea := 1 - we
			n := iy - y0f
			s := 1 - n
			wts := [4]float32{s * ea, s * we, n * ea, n * we} // nw, ne, sw, se
			x0, y0 := int(x0f), int(y0f)
			t := &taps[y*w+x]
			var mask float32
			for k, d := range [4][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
				yy, xx := y0+d[0], x0+d[1]
				if math.IsNaN(float64(ix)) || yy < 0 || yy >= h || xx < 0 || xx >= w {
					continue
				}
				t.off[k] = int32(yy*w + xx)
				t.wt[k] = wts[k]
				mask += wts[k]
			}
			t.mask = mask
		}
	}
	return taps
}

// affine applies the inverse matrix m to every plane of x with bilinear
// sampling, filling outside pixels with fill the way torchvision does
// (img·mask + (1 − mask)·fill with an interpolated mask).
func affine(x, y *ClipData, m [6]float64, fill float32) {
	taps := affineTaps(m, x.H, x.W)
	for ch := range x.Planes() {
		for t := range x.T {
			src, dst := x.Plane(ch, t), y.Plane(ch, t)
			for i := range taps {
				tp := &taps[i]
				v := float32(src[tp.off[0]]*tp.wt[0]) + float32(src[tp.off[1]]*tp.wt[1])
				v = v + float32(src[tp.off[2]]*tp.wt[2])
				v = v + float32(src[tp.off[3]]*tp.wt[3])
				dst[i] = float32(v*tp.mask) + float32((1-tp.mask)*fill)
			}
		}
	}
}
