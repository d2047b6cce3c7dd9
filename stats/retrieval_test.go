package stats

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"
)

// TestPairRanksGolden compares the ranks, recalls and median ranks with
// scipy.stats.rankdata(method="max") and numpy.median
// (testdata/gen/stats/gen_ranks.py → testdata/ranks_golden.json): rounded
// similarities with ties, a learned-looking matrix, a constant model, a
// collapsed tower (constant rows), integer ties and a single pair.
func TestPairRanksGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/ranks_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Name           string
			N              int
			Sim            []float64
			Rows, Cols, Ks []int
			RecallRows     []float64 `json:"recall_rows"`
			RecallCols     []float64 `json:"recall_cols"`
			MedianRows     float64   `json:"median_rows"`
			MedianCols     float64   `json:"median_cols"`
		}
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 6 {
		t.Fatalf("%d golden cases", len(g.Cases))
	}
	for _, c := range g.Cases {
		rows, cols := PairRanks(c.Sim, c.N)
		if !slices.Equal(rows, c.Rows) || !slices.Equal(cols, c.Cols) {
			t.Errorf("%s: ranks %v / %v, scipy %v / %v", c.Name, rows, cols, c.Rows, c.Cols)
			continue
		}
		for a, k := range c.Ks {
			if RecallAt(rows, k) != c.RecallRows[a] || RecallAt(cols, k) != c.RecallCols[a] {
				t.Errorf("%s: recall@%d %g / %g, numpy %g / %g", c.Name, k, RecallAt(rows, k), RecallAt(cols, k), c.RecallRows[a], c.RecallCols[a])
			}
		}
		if MedianRank(rows) != c.MedianRows || MedianRank(cols) != c.MedianCols {
			t.Errorf("%s: median rank %g / %g, numpy %g / %g", c.Name, MedianRank(rows), MedianRank(cols), c.MedianRows, c.MedianCols)
		}
	}
}

// TestPairRanksConstantModel: a constant model is ranked last in both
// directions, so it scores recall@k = 0 below the pool size — never the
// perfect score of a "strictly greater" rule — and the median rank is the
// pool size, worse than chance ((n+1)/2).
func TestPairRanksConstantModel(t *testing.T) {
	const n = 32
	sim := make([]float64, n*n)
	for i := range sim {
		sim[i] = 1
	}
	rows, cols := PairRanks(sim, n)
	for _, k := range []int{1, 5, 10} {
		if RecallAt(rows, k) != 0 || RecallAt(cols, k) != 0 {
			t.Fatalf("constant model recall@%d = %g / %g, want 0", k, RecallAt(rows, k), RecallAt(cols, k))
		}
	}
	if RecallAt(rows, n) != 1 || MedianRank(rows) != n || MedianRank(cols) != n {
		t.Fatalf("recall@%d %g, median ranks %g / %g", n, RecallAt(rows, n), MedianRank(rows), MedianRank(cols))
	}
	if ChanceRecall(1, n) != 1.0/n || ChanceRecall(50, n) != 1 || ChanceMedianRank(n) != 16.5 {
		t.Fatal("chance levels")
	}
	if !math.IsNaN(RecallAt(nil, 1)) || !math.IsNaN(MedianRank(nil)) {
		t.Fatal("empty ranks should give NaN")
	}
}
