package data

import (
	"math"
	"testing"
)

// TestDrawAugMixDistribution checks DrawAugMix against pytorchvideo's
// sampling rules: Dirichlet weights sum to 1 with mean 1/3, M ~ U(0,1)
// (Beta(1,1)), depth uniform in {1,2,3}, operations uniform over 13,
// arguments in their ranges, signs of rotate/shear/translate balanced.
func TestDrawAugMixDistribution(t *testing.T) {
	const n = 20000
	p := DefaultAugMix()
	var w0, m float64
	depth := [4]int{}
	ops := make([]int, numOps)
	neg, signed := 0, 0
	for i := range n {
		plan := DrawAugMix(p, NewRNG(9, 0, i))
		s := float32(0)
		for _, w := range plan.Weights {
			s += w
		}
		if math.Abs(float64(s)-1) > 1e-6 || len(plan.Chains) != 3 {
			t.Fatalf("plan %d: weights %v", i, plan.Weights)
		}
		w0 += float64(plan.Weights[0])
		m += float64(plan.M)
		for _, ch := range plan.Chains {
			depth[len(ch)]++
			for _, st := range ch {
				ops[st.Op]++
				a := st.Arg
				ok := true
				switch st.Op {
				case OpRotate:
					ok = math.Abs(a) >= 0.3 && math.Abs(a) <= 9
				case OpShearX, OpShearY:
					ok = math.Abs(a) >= 0.003 && math.Abs(a) <= 0.09
				case OpTranslateX, OpTranslateY:
					ok = math.Abs(a) >= 0.0033 && math.Abs(a) <= 0.1+1e-12
				case OpPosterize:
					ok = a == 3 || a == 4
				case OpSolarize:
					ok = a >= 0.7 && a <= 0.99
				case OpAdjustBrightness, OpAdjustContrast, OpAdjustSaturation, OpAdjustSharpness:
					ok = a >= 0.118 && a <= 0.64+1e-12
				}
				if !ok {
					t.Fatalf("%s argument %g out of range", st.Op, a)
				}
				if st.Op == OpRotate || st.Op == OpShearX || st.Op == OpTranslateY {
					signed++
					if a < 0 {
						neg++
					}
				}
			}
		}
	}
	near := func(name string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.4f, want %.4f ± %.4f", name, got, want, tol)
		}
	}
	near("mean weight", w0/n, 1.0/3, 0.01)
	near("mean M", m/n, 0.5, 0.01)
	for d := 1; d <= 3; d++ {
		near("depth share", float64(depth[d])/(3*n), 1.0/3, 0.01)
	}
	total := depth[1] + 2*depth[2] + 3*depth[3]
	for op, c := range ops {
		near(Op(op).String()+" share", float64(c)/float64(total), 1.0/13, 0.006)
	}
	near("negative share", float64(neg)/float64(signed), 0.5, 0.02)
}
