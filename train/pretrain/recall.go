package pretrain

import (
	"fmt"

	"github.com/cmrfm/cmrfm/stats"
)

// Retrieval holds cross-modal retrieval recalls over a set of pairs.
type Retrieval struct {
	// N is the number of pairs scored, Pool the candidates per query (N
	// when the whole set is one pool).
	N, Pool int
	// VideoToText[k] is recall@K[k] for clips retrieving their report;
	// TextToVideo[k] for reports retrieving their clip.
	K                        []int
	VideoToText, TextToVideo []float64
}

// Chance is the recall@k of random ranking: k / Pool.
func (r Retrieval) Chance(k int) float64 { return stats.ChanceRecall(k, r.Pool) }

// Recall scores retrieval between paired embeddings v and u (row-major
// [n, d], pair i = (v_i, u_i)) by the dot product. With pool > 0 the pairs
// are cut into consecutive pools of that many (a remainder smaller than a
// pool is left out) and each query ranks only its pool's candidates;
// pool ≤ 0 ranks the whole set. Ranks follow cmrfm's one convention,
// stats.PairRanks: ties count against the model, so pair i is retrieved
// within k when fewer than k other candidates score at least as high as
// its partner (a constant model scores 0, not 1):
//
//	recall@k(v→u) = (1/n) Σ_i [ #{j ≠ i : ⟨v_i,u_j⟩ ≥ ⟨v_i,u_i⟩} < k ]
func Recall(v, u []float32, n, d int, ks []int, pool int) (Retrieval, error) {
	if len(v) != n*d || len(u) != n*d {
		return Retrieval{}, fmt.Errorf("pretrain: recall: %d and %d values for %d pairs of width %d", len(v), len(u), n, d)
	}
	if pool <= 0 || pool > n {
		pool = n
	}
	r := Retrieval{Pool: pool, K: ks, VideoToText: make([]float64, len(ks)), TextToVideo: make([]float64, len(ks))}
	sim := make([]float64, pool*pool)
	var v2t, t2v []int
	for start := 0; start+pool <= n; start += pool {
		for i := range pool {
			vi := v[(start+i)*d : (start+i+1)*d]
			for j := range pool {
				uj := u[(start+j)*d : (start+j+1)*d]
				s := 0.0
				for c := range d {
					s += float64(vi[c]) * float64(uj[c])
				}
				sim[i*pool+j] = s
			}
		}
		rows, cols := stats.PairRanks(sim, pool)
		v2t, t2v = append(v2t, rows...), append(t2v, cols...)
		r.N += pool
	}
	for a, k := range ks {
		r.VideoToText[a] = stats.RecallAt(v2t, k)
		r.TextToVideo[a] = stats.RecallAt(t2v, k)
	}
	return r, nil
}
