package umap

import (
	"math"
	"math/rand/v2"
	"testing"
)

// powFast against math.Pow over the SGD's range (squared distances from
// 1e-12 to 1e6, exponents b and b−1 of min_dist 0.001 … 0.99).
func TestPowFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	worst := 0.0
	for range 200000 {
		x := math.Pow(10, rng.Float64()*18-12)
		y := rng.Float64()*2.5 - 1
		want := math.Pow(x, y)
		got := powFast(x, y)
		worst = max(worst, math.Abs(got-want)/want)
	}
	t.Logf("worst relative error %g", worst)
	if worst > 1e-10 {
		t.Errorf("worst relative error %g", worst)
	}
}
