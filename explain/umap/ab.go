package umap

import (
	"fmt"
	"math"
)

// FindAB fits the embedding's membership curve 1/(1 + a·x^(2b)) to the
// target curve of min_dist and spread — 1 below min_dist, exp(−(x −
// min_dist)/spread) above — by least squares on 300 points of [0,
// 3·spread], as umap-learn's find_ab_params does with scipy's curve_fit
// (Levenberg–Marquardt from a = b = 1). For min_dist 0.1, spread 1:
// a ≈ 1.577, b ≈ 0.895.
func FindAB(spread, minDist float64) (a, b float64, err error) {
	if spread <= 0 || minDist < 0 || minDist > spread {
		return 0, 0, fmt.Errorf("umap: spread %g and min_dist %g: want 0 ≤ min_dist ≤ spread", spread, minDist)
	}
	const n = 300
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range n {
		x := 3 * spread * float64(i) / float64(n-1)
		xs[i] = x
		if x < minDist {
			ys[i] = 1
		} else {
			ys[i] = math.Exp(-(x - minDist) / spread)
		}
	}
	resid := func(a, b float64) float64 {
		s := 0.0
		for i, x := range xs {
			r := 1/(1+a*math.Pow(x, 2*b)) - ys[i]
			s += r * r
		}
		return s
	}
	a, b = 1, 1
	lambda := 1e-3
	cost := resid(a, b)
	for range 1000 {
		// Normal equations of the Jacobian (J^T J + λ diag) δ = −J^T r.
		var jaa, jab, jbb, ga, gb float64
		for i, x := range xs {
			if x == 0 {
				r := 1 - ys[i]
				_ = r
				continue // f = 1, ∂f/∂a = ∂f/∂b = 0
			}
			p := math.Pow(x, 2*b)
			den := 1 + a*p
			f := 1 / den
			da := -p / (den * den)
			db := -a * p * 2 * math.Log(x) / (den * den)
			r := f - ys[i]
			jaa += da * da
			jab += da * db
			jbb += db * db
			ga += da * r
			gb += db * r
		}
		improved := false
		for range 50 {
			m00, m11 := jaa*(1+lambda), jbb*(1+lambda)
			det := m00*m11 - jab*jab
			if det == 0 {
				lambda *= 10
				continue
			}
			dA := (-ga*m11 + gb*jab) / det
			dB := (-gb*m00 + ga*jab) / det
			na, nb := a+dA, b+dB
			if c := resid(na, nb); c < cost {
				step := math.Abs(dA) + math.Abs(dB)
				a, b, cost = na, nb, c
				lambda = max(lambda/10, 1e-12)
				improved = true
				if step < 1e-12 {
					return a, b, nil
				}
				break
			}
			lambda *= 10
		}
		if !improved {
			break
		}
	}
	return a, b, nil
}
