package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

func checkPair(a, b []float64, what string) {
	if len(a) != len(b) {
		panic(fmt.Sprintf("stats: %s: %d predictions but %d labels", what, len(a), len(b)))
	}
}

// MAE returns the mean absolute error,
//
//	MAE = 1/N Σ |pred_i − truth_i|,
//
// a plain mean over all rows as torchmetrics computes it. It is NaN for
// empty input and panics if the lengths differ.
func MAE(pred, truth []float64) float64 {
	checkPair(pred, truth, "MAE")
	var a accumulator
	for i, p := range pred {
		a.add(math.Abs(p - truth[i]))
	}
	return a.value() / float64(len(pred))
}

// MSE returns the mean squared error,
//
//	MSE = 1/N Σ (pred_i − truth_i)².
//
// It is NaN for empty input and panics if the lengths differ.
func MSE(pred, truth []float64) float64 {
	checkPair(pred, truth, "MSE")
	var a accumulator
	for i, p := range pred {
		d := p - truth[i]
		a.add(float64(d * d))
	}
	return a.value() / float64(len(pred))
}

// RMSE returns √MSE.
func RMSE(pred, truth []float64) float64 { return math.Sqrt(MSE(pred, truth)) }

// Pearson returns Pearson's product-moment correlation,
//
//	r = Σ (x_i − x̄)(y_i − ȳ) / √(Σ (x_i − x̄)² · Σ (y_i − ȳ)²).
//
// It is NaN when either variable is constant or has fewer than two values,
// and panics if the lengths differ.
func Pearson(x, y []float64) float64 {
	checkPair(x, y, "Pearson")
	if len(x) < 2 {
		return math.NaN()
	}
	mx, my := mean(x), mean(y)
	sxy := sumCrossDev(x, mx, y, my)
	return sxy / math.Sqrt(sumSqDev(x, mx)) / math.Sqrt(sumSqDev(y, my))
}

// BlandAltman summarises the agreement of two measurement methods (Bland
// and Altman 1986) from the differences d_i = a_i − b_i: in cmrfm, a is the
// model's prediction and b the reference label, so a positive bias means the
// model over-estimates.
//
//	Bias = d̄,  SD = √(Σ (d_i − d̄)² / (N−1)),  LoA = Bias ± 1.96·SD.
//
// The 95 % confidence intervals use Student's t with N−1 degrees of freedom
// and the standard errors of Bland and Altman (1999, §4.2):
//
//	Bias ± t·SD/√N,   LoA ± t·√(3·SD²/N).
type BlandAltman struct {
	N                    int
	Bias, SD             float64
	Lower, Upper         float64    // limits of agreement
	BiasCI               [2]float64 // 95 % CI of the bias
	LowerCI, UpperCI     [2]float64 // 95 % CIs of the two limits
	MeanPair, Difference []float64  // per-pair (a+b)/2 and a−b, for plotting
}

// LoAMultiplier is the multiple of the SD that bounds the limits of
// agreement, 1.96 as in the paper and in Bland and Altman (1986).
const LoAMultiplier = 1.96

// NewBlandAltman computes the Bland–Altman statistics of a against b. Values
// that need two or more pairs are NaN for fewer. It panics if the lengths
// differ.
func NewBlandAltman(a, b []float64) BlandAltman {
	checkPair(a, b, "Bland–Altman")
	n := len(a)
	ba := BlandAltman{N: n, MeanPair: make([]float64, n), Difference: make([]float64, n)}
	for i := range a {
		ba.Difference[i] = a[i] - b[i]
		ba.MeanPair[i] = (a[i] + b[i]) / 2
	}
	nan := math.NaN()
	if n == 0 {
		ba.Bias, ba.SD, ba.Lower, ba.Upper = nan, nan, nan, nan
		ba.BiasCI, ba.LowerCI, ba.UpperCI = [2]float64{nan, nan}, [2]float64{nan, nan}, [2]float64{nan, nan}
		return ba
	}
	ba.Bias = mean(ba.Difference)
	ba.SD = math.Sqrt(sumSqDev(ba.Difference, ba.Bias) / float64(n-1))
	half := float64(LoAMultiplier * ba.SD)
	ba.Lower, ba.Upper = ba.Bias-half, ba.Bias+half
	t := nan
	if n > 1 {
		t = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	}
	seBias := ba.SD / math.Sqrt(float64(n))
	seLoA := math.Sqrt(3 * float64(ba.SD*ba.SD) / float64(n))
	ba.BiasCI = [2]float64{ba.Bias - float64(t*seBias), ba.Bias + float64(t*seBias)}
	ba.LowerCI = [2]float64{ba.Lower - float64(t*seLoA), ba.Lower + float64(t*seLoA)}
	ba.UpperCI = [2]float64{ba.Upper - float64(t*seLoA), ba.Upper + float64(t*seLoA)}
	return ba
}

// BelowCutoff labels each value as a case when it is below cutoff: the
// heart-failure labels of the paper's LVEF analysis (LVEF < 40 %).
func BelowCutoff(values []float64, cutoff float64) []bool {
	out := make([]bool, len(values))
	for i, v := range values {
		out[i] = v < cutoff
	}
	return out
}
