package stats

import (
	"fmt"
	"math"
)

// Coords is one operating point of a ROC curve: the confusion matrix when
// scores on the positive side of Threshold (see Direction) are called
// positive, and the rates derived from it, as pROC's coords returns them:
//
//	Sensitivity = TP/(TP+FN)   Specificity = TN/(TN+FP)
//	Accuracy = (TP+TN)/N       PPV = TP/(TP+FP)   NPV = TN/(TN+FN)
//
// A rate with a zero denominator is NaN (PPV at the +Inf threshold of a Less
// curve, for example).
type Coords struct {
	Threshold                                    float64
	TP, FP, TN, FN                               int
	Sensitivity, Specificity, Accuracy, PPV, NPV float64
}

// Youden returns J = Sensitivity + Specificity − 1.
func (c Coords) Youden() float64 { return c.Sensitivity + c.Specificity - 1 }

func (r *ROC) point(i int) Coords {
	m, n := len(r.cases), len(r.controls)
	tp, fp := r.tp[i], r.fp[i]
	fn, tn := m-tp, n-fp
	return Coords{
		Threshold:   r.thresholds[i],
		TP:          tp,
		FP:          fp,
		TN:          tn,
		FN:          fn,
		Sensitivity: float64(tp) / float64(m),
		Specificity: float64(tn) / float64(n),
		Accuracy:    float64(tp+tn) / float64(m+n),
		PPV:         ratio(tp, tp+fp),
		NPV:         ratio(tn, tn+fn),
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// Points returns every point of the curve in pROC's order
// (coords(roc, "all")): specificity increasing and sensitivity decreasing,
// from the threshold that calls everything positive to the one that calls
// everything negative. There is one point per distinct score, plus one.
func (r *ROC) Points() []Coords {
	out := make([]Coords, len(r.thresholds))
	for i := range out {
		out[i] = r.point(i)
	}
	return out
}

// Youden returns the points that maximise Youden's J = sensitivity +
// specificity − 1, in Points order. Several points tie when they share the
// maximum exactly; pROC's coords(roc, "best", best.method="youden") returns
// them all, and so does Youden. The criterion is evaluated as pROC does,
// se + sp in floating point, so ties agree with R's.
func (r *ROC) Youden() []Coords {
	m, n := float64(len(r.cases)), float64(len(r.controls))
	best := math.Inf(-1)
	var idx []int
	for i := range r.thresholds {
		se := float64(r.tp[i]) / m
		sp := (n - float64(r.fp[i])) / n
		switch crit := se + sp; {
		case crit > best:
			best, idx = crit, append(idx[:0], i)
		case crit == best:
			idx = append(idx, i)
		}
	}
	out := make([]Coords, len(idx))
	for k, i := range idx {
		out[k] = r.point(i)
	}
	return out
}

// AtSensitivity returns the point with the highest specificity among those
// whose sensitivity is at least min; of equally specific points it returns
// the most sensitive. In pROC terms:
//
//	co <- coords(roc, "all"); ok <- co$sensitivity >= min; co[ok, ][which.max(co$specificity[ok]), ]
//
// A point with sensitivity 1 always exists, so the result is defined for
// every min in [0, 1]; AtSensitivity panics otherwise.
func (r *ROC) AtSensitivity(min float64) Coords {
	if !(min >= 0 && min <= 1) {
		panic(fmt.Sprintf("stats: minimum sensitivity %v not in [0, 1]", min))
	}
	m := float64(len(r.cases))
	best := -1
	for i := range r.thresholds { // specificity increases along the curve
		if float64(r.tp[i])/m >= min {
			if best < 0 || r.fp[i] < r.fp[best] {
				best = i
			}
		}
	}
	return r.point(best)
}

// AtSpecificity returns the point with the highest sensitivity among those
// whose specificity is at least min; of equally sensitive points it returns
// the most specific. In pROC terms:
//
//	co <- coords(roc, "all"); ok <- which(co$specificity >= min); ok <- ok[co$sensitivity[ok] == max(co$sensitivity[ok])]; co[ok[length(ok)], ]
//
// A point with specificity 1 always exists, so the result is defined for
// every min in [0, 1]; AtSpecificity panics otherwise.
func (r *ROC) AtSpecificity(min float64) Coords {
	if !(min >= 0 && min <= 1) {
		panic(fmt.Sprintf("stats: minimum specificity %v not in [0, 1]", min))
	}
	n := float64(len(r.controls))
	best := -1
	for i := range r.thresholds {
		if (n-float64(r.fp[i]))/n >= min {
			if best < 0 || r.tp[i] > r.tp[best] || (r.tp[i] == r.tp[best] && r.fp[i] < r.fp[best]) {
				best = i
			}
		}
	}
	return r.point(best)
}
