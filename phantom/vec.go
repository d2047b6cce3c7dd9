package phantom

import "math"

// Vec3 is a point or direction in millimetres. In patient coordinates it
// follows DICOM's LPS convention: +x toward the patient's left, +y toward
// posterior, +z toward the head (PS3.3 C.7.6.2.1.1).
type Vec3 [3]float64

// Add returns a+b.
func (a Vec3) Add(b Vec3) Vec3 { return Vec3{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }

// Sub returns a-b.
func (a Vec3) Sub(b Vec3) Vec3 { return Vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

// Scale returns k·a.
func (a Vec3) Scale(k float64) Vec3 { return Vec3{k * a[0], k * a[1], k * a[2]} }

// Dot returns a·b.
func (a Vec3) Dot(b Vec3) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// Cross returns a×b.
func (a Vec3) Cross(b Vec3) Vec3 {
	return Vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// Norm returns |a|.
func (a Vec3) Norm() float64 { return math.Sqrt(a.Dot(a)) }

// Unit returns a/|a| (the zero vector stays zero).
func (a Vec3) Unit() Vec3 {
	n := a.Norm()
	if n == 0 {
		return a
	}
	return a.Scale(1 / n)
}

// rotateAbout rotates v by angle (radians) about the unit axis k (Rodrigues).
func rotateAbout(v, k Vec3, angle float64) Vec3 {
	c, s := math.Cos(angle), math.Sin(angle)
	return v.Scale(c).Add(k.Cross(v).Scale(s)).Add(k.Scale(k.Dot(v) * (1 - c)))
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// smoothstep is 3v²−2v³ on [0,1], 0 below and 1 above.
func smoothstep(v float64) float64 {
	if v <= 0 {
		return 0
	}
	if v >= 1 {
		return 1
	}
	return v * v * (3 - 2*v)
}

// cosSinSmall returns cos and sin of a small angle (|a| ≲ 0.5 rad) by
// Taylor polynomials accurate to ~1e-7, avoiding trigonometric calls in the
// per-pixel loop.
func cosSinSmall(a float64) (float64, float64) {
	a2 := a * a
	c := 1 - a2/2*(1-a2/12*(1-a2/30))
	s := a * (1 - a2/6*(1-a2/20*(1-a2/42)))
	return c, s
}
