package pretrain

import (
	"math"
	"testing"
)

// TestRecallByHand: 3 pairs in 2-D, similarities worked out by hand, ties
// counted against the model (stats.PairRanks).
//
//	v = (1,0), (0,1), (1,1);  u = (1,0), (1,0), (0,1)
//	⟨v_i,u_j⟩ = [[1,1,0],[0,0,1],[1,1,1]]
//
// v→u: pair 0: u_1 ties its 1 → rank 2; pair 1: u_0 ties 0, u_2 (1) above
// → rank 3; pair 2: all tie at 1 → rank 3. recall@1 = 0, @2 = 1/3, @3 = 1.
// u→v (column i): pair 0: column [1,0,1], own 1, v_2 ties → 2; pair 1:
// column [1,0,1], own 0, two above → 3; pair 2: column [0,1,1], own 1,
// v_1 ties → 2. recall@1 = 0, @2 = 2/3, @3 = 1.
func TestRecallByHand(t *testing.T) {
	v := []float32{1, 0, 0, 1, 1, 1}
	u := []float32{1, 0, 1, 0, 0, 1}
	r, err := Recall(v, u, 3, 2, []int{1, 2, 3}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{"v2t": {0, 1. / 3, 1}, "t2v": {0, 2. / 3, 1}}
	for i := range r.K {
		if math.Abs(r.VideoToText[i]-want["v2t"][i]) > 1e-15 || math.Abs(r.TextToVideo[i]-want["t2v"][i]) > 1e-15 {
			t.Fatalf("recall@%d = %g / %g, want %g / %g", r.K[i], r.VideoToText[i], r.TextToVideo[i], want["v2t"][i], want["t2v"][i])
		}
	}
	if r.N != 3 || r.Pool != 3 || r.Chance(1) != 1./3 {
		t.Fatalf("N %d pool %d chance %g", r.N, r.Pool, r.Chance(1))
	}
}

// TestRecallConstantModel: the case that made the convention matter. A
// collapsed text tower (every report embeds to the same vector) used to
// score video→text recall@1 = 1.0 (every candidate ties with the partner
// and ties were hits). Now it scores 0 in that direction, and in the other
// only the one video that happens to score highest against the constant
// text is retrieved (1/n); a fully constant model scores 0 both ways.
func TestRecallConstantModel(t *testing.T) {
	const n, d = 8, 2
	v, u, c := make([]float32, n*d), make([]float32, n*d), make([]float32, n*d)
	for i := range n {
		a := float64(i) / n * math.Pi // distinct video embeddings on a half circle
		v[i*d], v[i*d+1] = float32(math.Cos(a)), float32(math.Sin(a))
		u[i*d], u[i*d+1] = 0.6, 0.8
		c[i*d], c[i*d+1] = 0.6, 0.8
	}
	r, err := Recall(v, u, n, d, []int{1, 5}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.VideoToText[0] != 0 || r.VideoToText[1] != 0 {
		t.Errorf("constant text tower: video→text recall@1/@5 %g / %g, want 0 / 0", r.VideoToText[0], r.VideoToText[1])
	}
	if r.TextToVideo[0] != 1.0/n {
		t.Errorf("constant text tower: text→video recall@1 %g, want 1/%d", r.TextToVideo[0], n)
	}
	all, _ := Recall(c, c, n, d, []int{1, 5}, 4)
	if all.VideoToText[0] != 0 || all.TextToVideo[0] != 0 || all.VideoToText[1] != 1 || all.N != n {
		t.Errorf("constant model in pools of 4: recall@1 %g / %g (want 0), @5 %g (want 1: the pool holds 4)", all.VideoToText[0], all.TextToVideo[0], all.VideoToText[1])
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
