package retrieval

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/cmrfm/cmrfm/stats"
)

// RetrievalOptions configures EvaluateRetrieval.
type RetrievalOptions struct {
	// Split keeps the studies of one split ("" or "all": every study).
	Split string
	// Pool is the number of candidates per query: consecutive pools of
	// that many pairs in file order, a remainder smaller than a pool left
	// out (as pretraining's validation does); 0 ranks all pairs together.
	Pool int
	// K are the recall cut-offs (default 1, 5, 10).
	K []int
}

// RetrievalResult is cross-modal retrieval between the study (video)
// embeddings and the report (text) embeddings of the same studies.
type RetrievalResult struct {
	Name  string `json:"name"`
	Split string `json:"split"`
	// Pairs is the number of (study, report) pairs scored, Pool the
	// candidates per query and Pools their number; Unpaired counts the
	// studies of the split left out for want of a report.
	Pairs    int `json:"pairs"`
	Pool     int `json:"pool"`
	Pools    int `json:"pools"`
	Unpaired int `json:"unpaired"`
	// K[i] is a cut-off; VideoToText[i] the recall@K[i] of studies
	// retrieving their report, TextToVideo[i] of reports retrieving their
	// study; Chance[i] = K[i]/Pool.
	K           []int     `json:"k"`
	VideoToText []float64 `json:"recall_v2t"`
	TextToVideo []float64 `json:"recall_t2v"`
	Chance      []float64 `json:"chance"`
	// Median ranks (1 = first) and chance's, (Pool+1)/2.
	MedianRankV2T   float64 `json:"median_rank_v2t"`
	MedianRankT2V   float64 `json:"median_rank_t2v"`
	ChanceMedian    float64 `json:"chance_median_rank"`
	RanksV2T        []int   `json:"-"`
	RanksT2V        []int   `json:"-"`
	RankConvention  string  `json:"rank_convention"`
	CheckpointSHA   string  `json:"checkpoint_sha256"`
	EmbeddingsStudy string  `json:"study_pooling"`
}

// RankConvention states cmrfm's one rank rule (stats.PairRanks).
const RankConvention = "rank = 1 + #{other candidates scoring >= the partner}: ties count against the model"

// EvaluateRetrieval scores text→video and video→text retrieval among the
// studies of an embeddings file that have both a study and a report
// embedding, with recall@k, median rank and chance (stats.PairRanks: ties
// count against the model, so a constant model scores 0, not 1).
func EvaluateRetrieval(f *File, name string, o RetrievalOptions) (*RetrievalResult, error) {
	ks := o.K
	if len(ks) == 0 {
		ks = []int{1, 5, 10}
	}
	for _, k := range ks {
		if k < 1 {
			return nil, fmt.Errorf("retrieval: recall@%d: want k ≥ 1", k)
		}
	}
	if o.Pool < 0 {
		return nil, fmt.Errorf("retrieval: pool %d: want ≥ 0 (0: all pairs)", o.Pool)
	}
	reportOf := make(map[int]int, len(f.Reports))
	for i, s := range f.ReportStudy {
		if s >= 0 {
			reportOf[int(s)] = i
		}
	}
	res := &RetrievalResult{Name: name, Split: o.Split, K: ks, RankConvention: RankConvention, CheckpointSHA: f.CheckpointSHA256,
		EmbeddingsStudy: f.Settings.Pooling}
	var vs, us [][]float32
	inSplit := 0
	for i := range f.Studies {
		if o.Split != "" && o.Split != "all" && f.Splits[i] != o.Split {
			continue
		}
		inSplit++
		r, ok := reportOf[i]
		if !ok {
			res.Unpaired++
			continue
		}
		vs = append(vs, f.Row(f.StudyEmb, i))
		us = append(us, f.Row(f.ReportEmb, r))
	}
	if inSplit == 0 {
		return nil, fmt.Errorf("retrieval: %s: no study of split %q", name, o.Split)
	}
	n := len(vs)
	if n < 2 {
		return nil, fmt.Errorf("retrieval: %s: %d (study, report) pairs in split %q; retrieval needs at least 2 (embed with --reports)", name, n, o.Split)
	}
	pool := o.Pool
	if pool == 0 || pool > n {
		pool = n
	}
	if pool < 2 {
		return nil, fmt.Errorf("retrieval: pool %d: want ≥ 2", pool)
	}
	res.Pool = pool
	sim := make([]float64, pool*pool)
	for start := 0; start+pool <= n; start += pool {
		for i := range pool {
			for j := range pool {
				s := 0.0
				for c, x := range vs[start+i] {
					s += float64(x) * float64(us[start+j][c])
				}
				sim[i*pool+j] = s
			}
		}
		rows, cols := stats.PairRanks(sim, pool)
		res.RanksV2T, res.RanksT2V = append(res.RanksV2T, rows...), append(res.RanksT2V, cols...)
		res.Pools++
	}
	res.Pairs = len(res.RanksV2T)
	for _, k := range ks {
		res.VideoToText = append(res.VideoToText, stats.RecallAt(res.RanksV2T, k))
		res.TextToVideo = append(res.TextToVideo, stats.RecallAt(res.RanksT2V, k))
		res.Chance = append(res.Chance, stats.ChanceRecall(k, pool))
	}
	res.MedianRankV2T, res.MedianRankT2V = stats.MedianRank(res.RanksV2T), stats.MedianRank(res.RanksT2V)
	res.ChanceMedian = stats.ChanceMedianRank(pool)
	return res, nil
}

// RecallCurve returns recall@k for k = 1 … maxK from ranks.
func RecallCurve(ranks []int, maxK int) []float64 {
	out := make([]float64, maxK)
	for k := 1; k <= maxK; k++ {
		out[k-1] = stats.RecallAt(ranks, k)
	}
	return out
}

var curveColours = []color.Color{
	color.RGBA{30, 60, 200, 255}, color.RGBA{220, 60, 30, 255}, color.RGBA{40, 150, 60, 255},
	color.RGBA{150, 60, 170, 255}, color.RGBA{230, 150, 20, 255},
}

// RecallPlot draws recall@k against k (1 … maxK) for each result, both
// directions (solid: text→video, dashed: video→text), with chance
// (k/pool, grey). Results should share the pool size.
func RecallPlot(title string, results []*RetrievalResult, maxK int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "k"
	p.Y.Label.Text = "recall@k"
	p.Y.Min, p.Y.Max = 0, 1
	p.X.Min = 1
	p.Legend.Top = true
	p.Legend.Left = false
	pool := 0
	for i, r := range results {
		pool = max(pool, r.Pool)
		col := curveColours[i%len(curveColours)]
		kk := min(maxK, r.Pool)
		for _, d := range []struct {
			dir   string
			ranks []int
		}{{"text→video", r.RanksT2V}, {"video→text", r.RanksV2T}} {
			dir, ranks := d.dir, d.ranks
			c := RecallCurve(ranks, kk)
			xy := make(plotter.XYs, kk)
			for k := range kk {
				xy[k] = plotter.XY{X: float64(k + 1), Y: c[k]}
			}
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, fmt.Errorf("retrieval: plot: %w", err)
			}
			l.Color, l.Width = col, vg.Points(1.5)
			if dir == "video→text" {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("%s %s (R@1 %.3f)", r.Name, dir, c[0]), l)
		}
	}
	kk := min(maxK, pool)
	xy := make(plotter.XYs, kk)
	for k := range kk {
		xy[k] = plotter.XY{X: float64(k + 1), Y: stats.ChanceRecall(k+1, pool)}
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return nil, fmt.Errorf("retrieval: plot: %w", err)
	}
	l.Color, l.Width = color.Gray{140}, vg.Points(1)
	l.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
	p.Add(l)
	p.Legend.Add(fmt.Sprintf("chance (k/%d)", pool), l)
	p.X.Max = math.Max(2, float64(kk))
	p.Add(plotter.NewGrid())
	return p, nil
}
