package pretrain

import (
	"math"
	"testing"
)

// TestRecallByHand: 3 pairs in 2-D, similarities worked out by hand.
//
//	v = (1,0), (0,1), (1,1);  u = (1,0), (1,0), (0,1)
//	⟨v_i,u_j⟩ = [[1,1,0],[0,0,1],[1,1,1]]
//
// v→u: pair 0: none above 1 (tie with u_1) → rank 0; pair 1: u_2 (1) > 0 → 1
// above; pair 2: none above 1 → 0. recall@1 = 2/3, @2 = 1.
// u→v (column i): pair 0: column 0 = [1,0,1], own 1, none above → 0;
// pair 1: column 1 = [1,0,1], own 0, two above → 2; pair 2: column 2 =
// [0,1,1], own 1, none above → 0. recall@1 = 2/3, @2 = 2/3, @3 = 1.
func TestRecallByHand(t *testing.T) {
	v := []float32{1, 0, 0, 1, 1, 1}
	u := []float32{1, 0, 1, 0, 0, 1}
	r, err := Recall(v, u, 3, 2, []int{1, 2, 3}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{"v2t": {2. / 3, 1, 1}, "t2v": {2. / 3, 2. / 3, 1}}
	for i := range r.K {
		if math.Abs(r.VideoToText[i]-want["v2t"][i]) > 1e-15 || math.Abs(r.TextToVideo[i]-want["t2v"][i]) > 1e-15 {
			t.Fatalf("recall@%d = %g / %g, want %g / %g", r.K[i], r.VideoToText[i], r.TextToVideo[i], want["v2t"][i], want["t2v"][i])
		}
	}
	if r.N != 3 || r.Pool != 3 || r.Chance(1) != 1./3 {
		t.Fatalf("N %d pool %d chance %g", r.N, r.Pool, r.Chance(1))
	}
}

// TestRecallPools: pools of 2 over 5 pairs score 4 pairs (the remainder
// is left out), and a pair confused only with a candidate of another pool
// is retrieved within its pool but not in the whole set.
func TestRecallPools(t *testing.T) {
	// v_3 = (1,0) scores u_0 = (1,0) at 1 above its own u_3 = (0.9,0.1) at 0.9.
	v := []float32{1, 0, 0, 1, -1, 0, 1, 0, 0, -1}
	u := []float32{1, 0, 0, 1, -1, 0, 0.9, 0.1, 0, -1}
	all, _ := Recall(v, u, 5, 2, []int{1}, 0)
	pooled, _ := Recall(v, u, 5, 2, []int{1}, 2)
	if pooled.N != 4 || pooled.Pool != 2 || all.N != 5 {
		t.Fatalf("pooled N %d pool %d, all N %d", pooled.N, pooled.Pool, all.N)
	}
	if all.VideoToText[0] != 4./5 || pooled.VideoToText[0] != 1 {
		t.Fatalf("recall@1 v→t %g (all, want 0.8), %g (pools, want 1)", all.VideoToText[0], pooled.VideoToText[0])
	}
	if _, err := Recall(v, u, 5, 3, []int{1}, 0); err == nil {
		t.Fatal("wrong sizes accepted")
	}
}
