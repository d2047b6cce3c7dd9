package stats

import (
	"fmt"
	"math"
	"slices"
)

// PairRanks is cmrfm's one rank convention for cross-modal retrieval. For
// n pairs and their similarity matrix sim (row-major n×n, sim[i*n+j] the
// similarity of query i of the first modality to candidate j of the
// second; pair i is (i, i)), it returns the 1-based rank of every query's
// partner in both directions:
//
//	rows[i] = 1 + #{j ≠ i : sim[i][j] ≥ sim[i][i]}   (first → second, e.g. video → text)
//	cols[i] = 1 + #{j ≠ i : sim[j][i] ≥ sim[i][i]}   (second → first, e.g. text → video)
//
// Ties count against the model: a candidate scoring exactly as high as the
// partner is ranked before it, so a constant model (every similarity
// equal) ranks every partner last (rank n) and scores recall@k = 0 for
// every k < n in both directions, instead of the perfect score a
// "strictly greater" rule would give it. This is scipy.stats.rankdata's
// method="max" on the negated similarities, and the convention of every
// recall cmrfm reports (pretraining validation, cmrfm evaluate retrieval).
// NaN similarities panic (a caller bug: embeddings are finite).
func PairRanks(sim []float64, n int) (rows, cols []int) {
	if len(sim) != n*n {
		panic(fmt.Sprintf("stats: pair ranks: %d similarities for %d pairs", len(sim), n))
	}
	rows, cols = make([]int, n), make([]int, n)
	for i := range n {
		own := sim[i*n+i]
		if math.IsNaN(own) {
			panic(fmt.Sprintf("stats: pair ranks: similarity of pair %d is NaN", i))
		}
		r, c := 1, 1
		for j := range n {
			if j == i {
				continue
			}
			if sim[i*n+j] >= own {
				r++
			}
			if sim[j*n+i] >= own {
				c++
			}
		}
		rows[i], cols[i] = r, c
	}
	return rows, cols
}

// RecallAt is the fraction of ranks ≤ k: recall@k. An empty slice gives
// NaN.
func RecallAt(ranks []int, k int) float64 {
	if len(ranks) == 0 {
		return math.NaN()
	}
	hit := 0
	for _, r := range ranks {
		if r <= k {
			hit++
		}
	}
	return float64(hit) / float64(len(ranks))
}

// MedianRank is the median of the ranks (the mean of the two middle ones
// for an even count, as numpy.median). An empty slice gives NaN.
func MedianRank(ranks []int) float64 {
	n := len(ranks)
	if n == 0 {
		return math.NaN()
	}
	s := slices.Clone(ranks)
	slices.Sort(s)
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return (float64(s[n/2-1]) + float64(s[n/2])) / 2
}

// ChanceRecall is the expected recall@k of a random ranking among pool
// candidates: min(k, pool)/pool.
func ChanceRecall(k, pool int) float64 { return float64(min(k, pool)) / float64(pool) }

// ChanceMedianRank is the expected median rank of a random ranking among
// pool candidates, (pool + 1)/2.
func ChanceMedianRank(pool int) float64 { return float64(pool+1) / 2 }
