package heads

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

func sqrt(x float64) float64 { return math.Sqrt(x) }

// Huber is torch.nn.HuberLoss(delta) with mean reduction over the
// elements where mask is nonzero (mask nil: all):
//
//	l = ½d² if |d| < δ, else δ(|d| − ½δ),   d = pred − target
func Huber(pred, target, mask *Node, delta float64) *Node {
	d := Sub(pred, target)
	ad := Abs(d)
	quad := MulScalar(Square(d), 0.5)
	lin := MulScalar(AddScalar(ad, -0.5*delta), delta)
	l := Where(LessThan(ad, Scalar(d.Graph(), d.DType(), delta)), quad, lin)
	return maskedMean(l, mask)
}

// BCEWithLogits is torch.nn.BCEWithLogitsLoss(pos_weight) with mean
// reduction over the elements where mask is nonzero (mask nil: all):
//
//	l = (1 − y)·x + (1 + (p − 1)·y)·(log(1 + e^{−|x|}) + max(−x, 0))
//
// posWeight is [Classes] (broadcast over the batch) or nil for 1.
func BCEWithLogits(logits, target, posWeight, mask *Node) *Node {
	g := logits.Graph()
	one := ScalarOne(g, logits.DType())
	softplus := Add(Log1p(Exp(Neg(Abs(logits)))), Max(Neg(logits), ZerosLike(logits)))
	coef := OneMinus(ZerosLike(logits)) // 1
	if posWeight != nil {
		pw := BroadcastToShape(ExpandLeftToRank(posWeight, logits.Rank()), logits.Shape())
		coef = Add(one, Mul(Sub(pw, one), target))
	}
	l := Add(Mul(OneMinus(target), logits), Mul(coef, softplus))
	return maskedMean(l, mask)
}

func maskedMean(l, mask *Node) *Node {
	if mask == nil {
		return ReduceAllMean(l)
	}
	m := ConvertDType(mask, l.DType())
	return Div(ReduceAllSum(Mul(l, m)), ReduceAllSum(m))
}
