package stats

// Sums use Neumaier's compensated summation. R accumulates sums in 80-bit
// long double; compensation keeps cmrfm's sums at least as accurate, so the
// two agree to the last bit or two instead of drifting with n.

// accumulator is a compensated (Kahan–Babuška–Neumaier) running sum.
type accumulator struct{ sum, c float64 }

func (a *accumulator) add(v float64) {
	t := a.sum + v
	if abs(a.sum) >= abs(v) {
		a.c += (a.sum - t) + v
	} else {
		a.c += (v - t) + a.sum
	}
	a.sum = t
}

func (a *accumulator) value() float64 { return a.sum + a.c }

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// sum returns Σ x.
func sum(x []float64) float64 {
	var a accumulator
	for _, v := range x {
		a.add(v)
	}
	return a.value()
}

// sumSqDev returns Σ (x − c)².
func sumSqDev(x []float64, c float64) float64 {
	var a accumulator
	for _, v := range x {
		d := v - c
		a.add(float64(d * d)) // float64() blocks fused multiply-add
	}
	return a.value()
}

// sumCrossDev returns Σ (x − cx)(y − cy); x and y have equal length.
func sumCrossDev(x []float64, cx float64, y []float64, cy float64) float64 {
	var a accumulator
	for i, v := range x {
		a.add(float64((v - cx) * (y[i] - cy)))
	}
	return a.value()
}

// mean returns R's mean: the sum divided by n, refined by the mean residual.
func mean(x []float64) float64 {
	n := float64(len(x))
	m := sum(x) / n
	var a accumulator
	for _, v := range x {
		a.add(v - m)
	}
	return m + a.value()/n
}
