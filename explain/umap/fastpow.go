package umap

import "math"

// powFast returns x^y for x > 0 (finite, normal) as 2^(y·log2 x) with
// polynomial log2 and exp2, accurate to 1e-9 relative in the SGD's
// range — math.Pow is most of the optimisation's time otherwise.
func powFast(x, y float64) float64 {
	return exp2Fast(y * log2Fast(x))
}

// log2Fast: x = m·2^e with m in [√½, √2); log2 m = 2/ln2 · atanh(s),
// s = (m−1)/(m+1), |s| < 0.1716, by its odd series to s^9.
func log2Fast(x float64) float64 {
	bits := math.Float64bits(x)
	e := int(bits>>52&0x7ff) - 1023
	m := math.Float64frombits(bits&^(0x7ff<<52) | 1023<<52) // [1, 2)
	if m > math.Sqrt2 {
		m /= 2
		e++
	}
	s := (m - 1) / (m + 1)
	s2 := s * s
	p := 1 + s2*(1.0/3+s2*(1.0/5+s2*(1.0/7+s2*(1.0/9))))
	return float64(e) + 2/math.Ln2*s*p
}

// exp2Fast: 2^x = 2^n · e^(f·ln2), n = round(x), |f| ≤ ½, by Taylor
// series of e^t to t^8 (|t| ≤ 0.347).
func exp2Fast(x float64) float64 {
	if x < -1000 {
		return 0
	}
	if x > 1000 {
		return math.Inf(1)
	}
	n := math.Floor(x + 0.5)
	t := (x - n) * math.Ln2
	p := 1 + t*(1+t*(1.0/2+t*(1.0/6+t*(1.0/24+t*(1.0/120+t*(1.0/720+t*(1.0/5040+t*(1.0/40320))))))))
	if k := int(n); k > -1022 && k < 1023 {
		return p * math.Float64frombits(uint64(k+1023)<<52)
	}
	return math.Ldexp(p, int(n))
}
