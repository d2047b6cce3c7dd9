package umap

import "math"

// powFast returns x^y for finite normal x > 0 as 2^(y·log2 x), with
// table-driven log2 and exp2 accurate to about 1e-10 relative over the
// SGD's range (TestPowFast) — math.Pow is most of the optimisation's time
// otherwise.
func powFast(x, y float64) float64 {
	return exp2Fast(y * log2Fast(x))
}

// log2Tab[i] is log2 of the centre c_i = 1 + (i + ½)/128 of mantissa
// bucket i, and invTab[i] = 1/c_i.
var log2Tab, invTab = func() (l, v [128]float64) {
	for i := range 128 {
		c := 1 + (float64(i)+0.5)/128
		l[i], v[i] = math.Log2(c), 1/c
	}
	return
}()

// log2Fast: x = m·2^e, m in [1, 2) in bucket i of width 1/128;
// log2 m = log2 c_i + log2(1 + r), r = m/c_i − 1, |r| < 1/257, by the
// series of ln(1 + r) to r^4 (error < r^5/5 ≈ 2e-13).
func log2Fast(x float64) float64 {
	bits := math.Float64bits(x)
	e := int(bits>>52&0x7ff) - 1023
	i := bits >> 45 & 127
	r := math.Float64frombits(bits&(1<<52-1)|1023<<52)*invTab[i] - 1
	ln := r * (1 - r*(1.0/2-r*(1.0/3-r*(1.0/4))))
	return float64(e) + log2Tab[i] + ln*(1/math.Ln2)
}

// exp2Tab[j] = 2^(j/64).
var exp2Tab = func() (t [64]float64) {
	for j := range 64 {
		t[j] = math.Exp2(float64(j) / 64)
	}
	return
}()

// exp2Fast: 2^x = 2^n · 2^(j/64) · e^(f·ln2), x = n + j/64 + f with
// |f| ≤ 1/128, by the series of e^t to t^4 (error < t^5/120 ≈ 4e-14).
func exp2Fast(x float64) float64 {
	if !(x > -1000 && x < 1000) {
		if x > 0 {
			return math.Inf(1)
		}
		return 0
	}
	ki := int(x*64+0.5+1<<16) - 1<<16 // floor(64x + ½) without a call
	f := x - float64(ki)/64
	n, j := ki>>6, ki&63
	t := f * math.Ln2
	p := (1 + t*(1+t*(1.0/2+t*(1.0/6+t*(1.0/24))))) * exp2Tab[j]
	if n > -1022 && n < 1023 {
		return p * math.Float64frombits(uint64(n+1023)<<52)
	}
	return math.Ldexp(p, n)
}
