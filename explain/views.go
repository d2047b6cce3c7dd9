package explain

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/cmrfm/cmrfm/internal/fsutil"
)

// ViewOrder is the order of views in view-attention tables and heat maps
// (the order cmrfm predict writes its attn_<view> columns in).
var ViewOrder = []string{"2CH", "3CH", "4CH", "SAX"}

// Subsets of studies view attention is computed over.
const (
	SubsetAll      = "all"
	SubsetPositive = "positive" // label ≥ 0.5 (classification)
	SubsetNegative = "negative" // label < 0.5
)

// ViewAttention is the relative MIL attention of one view for one target.
type ViewAttention struct {
	Target, View, Subset string
	// Relative is the mean over every clip of the view of softmax_attn ×
	// (clips in the clip's bag): 1 means the view gets the attention a
	// uniform split would give it, above 1 more.
	Relative float64
	// Lower and Upper bound Relative's percentile bootstrap interval over
	// studies (NaN without bootstrap).
	Lower, Upper float64
	// Clips and Studies count the clips of the view and the studies that
	// have at least one.
	Clips, Studies int
}

// ViewOptions configures [RelativeViewAttention].
type ViewOptions struct {
	// Bootstrap is the number of bootstrap resamples of the studies (0
	// means 2000; negative: no interval).
	Bootstrap int
	// Level is the interval's coverage (0 means 0.95).
	Level float64
	// Seed seeds the resampling.
	Seed uint64
	// ByLabel adds the positive and negative subsets (labels ≥ 0.5 and
	// < 0.5) to the all-studies rows.
	ByLabel bool
}

func (o ViewOptions) bootstrap() int {
	if o.Bootstrap == 0 {
		return 2000
	}
	return max(o.Bootstrap, 0)
}

func (o ViewOptions) level() float64 {
	if o.Level == 0 {
		return 0.95
	}
	return o.Level
}

// studyViewSums holds each study's per-view sum of relative attention and
// clip count (views in ViewOrder, then any others).
type studyViewSums struct {
	views []string
	sum   [][]float64 // [study][view]
	n     [][]int
}

func viewSums(studies []StudyAttention) studyViewSums {
	views := slices.Clone(ViewOrder)
	idx := map[string]int{}
	for i, v := range views {
		idx[v] = i
	}
	for _, s := range studies {
		for _, v := range s.Views {
			if _, ok := idx[v]; !ok {
				idx[v] = len(views)
				views = append(views, v)
			}
		}
	}
	out := studyViewSums{views: views, sum: make([][]float64, len(studies)), n: make([][]int, len(studies))}
	for i, s := range studies {
		out.sum[i] = make([]float64, len(views))
		out.n[i] = make([]int, len(views))
		m := float64(len(s.Attn))
		for k, a := range s.Attn {
			j := idx[s.Views[k]]
			out.sum[i][j] += a * m
			out.n[i][j]++
		}
	}
	return out
}

// RelativeViewAttention computes, per view, the mean of softmax_attn ×
// (clips in the bag) over every clip of that view, with a percentile
// bootstrap interval that resamples whole studies (the clips of a study
// are not independent):
//
//	relative(v) = Σ_studies Σ_{clips k of view v} a_k·n_study / #clips of view v
//
// This is how the authors' validation tables give the paper's Figure 4c
// numbers (REFERENCE-SPEC §4.4; SOURCE.md of the raw dataframes). Views
// with no clip are left out. Rows come in ViewOrder (other view names after).
func RelativeViewAttention(t *ViewTable, o ViewOptions) []ViewAttention {
	subsets := []string{SubsetAll}
	if o.ByLabel {
		subsets = append(subsets, SubsetPositive, SubsetNegative)
	}
	var out []ViewAttention
	for _, sub := range subsets {
		var studies []StudyAttention
		for _, s := range t.Studies {
			switch {
			case sub == SubsetAll,
				sub == SubsetPositive && s.Label >= 0.5,
				sub == SubsetNegative && s.Label < 0.5:
				studies = append(studies, s)
			}
		}
		if len(studies) == 0 {
			continue
		}
		out = append(out, relativeOf(t.Target, sub, studies, o)...)
	}
	return out
}

func relativeOf(target, subset string, studies []StudyAttention, o ViewOptions) []ViewAttention {
	vs := viewSums(studies)
	nv := len(vs.views)
	total := make([]float64, nv)
	count := make([]int, nv)
	have := make([]int, nv)
	for i := range studies {
		for j := range nv {
			total[j] += vs.sum[i][j]
			count[j] += vs.n[i][j]
			if vs.n[i][j] > 0 {
				have[j]++
			}
		}
	}
	// Bootstrap: resample studies with replacement, recompute the pooled
	// mean of every view.
	B := o.bootstrap()
	boot := make([][]float64, nv)
	if B > 0 {
		rng := rand.New(rand.NewPCG(o.Seed, 0x5eed_71e3))
		s := make([]float64, nv)
		c := make([]int, nv)
		for range B {
			clear(s)
			clear(c)
			for range studies {
				i := rng.IntN(len(studies))
				for j := range nv {
					s[j] += vs.sum[i][j]
					c[j] += vs.n[i][j]
				}
			}
			for j := range nv {
				if c[j] > 0 {
					boot[j] = append(boot[j], s[j]/float64(c[j]))
				}
			}
		}
	}
	alpha := (1 - o.level()) / 2
	var out []ViewAttention
	for j, v := range vs.views {
		if count[j] == 0 {
			continue
		}
		r := ViewAttention{Target: target, View: v, Subset: subset, Relative: total[j] / float64(count[j]),
			Lower: math.NaN(), Upper: math.NaN(), Clips: count[j], Studies: have[j]}
		if len(boot[j]) > 0 {
			sort.Float64s(boot[j])
			r.Lower, r.Upper = Quantile(boot[j], alpha), Quantile(boot[j], 1-alpha)
		}
		out = append(out, r)
	}
	return out
}

// Quantile returns the p-quantile of sorted values by linear interpolation
// between order statistics (R's type 7, numpy's default).
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := p * float64(n-1)
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// Output file names of "cmrfm explain views" (stable: the HTML report links
// them).
const (
	ViewAttentionCSV     = "view_attention.csv"
	ViewAttentionHeatmap = "view_attention" // .png and .svg
)

// ViewsOptions configures [Views].
type ViewsOptions struct {
	// Predictions are prediction tables or folders of them
	// ([ReadViewTables]).
	Predictions []string
	// Target names the target of a single prediction file (default: its
	// folder for predictions.csv, else its name).
	Target string
	// Out is the output folder.
	Out string
	ViewOptions
	Log *slog.Logger
}

// ViewsSummary reports what [Views] wrote.
type ViewsSummary struct {
	Rows []ViewAttention
	// Studies counts each target's studies.
	Studies map[string]int
	Files   []string
}

// Views computes the relative view attention of every prediction table
// and writes Out/view_attention.csv and the heat map
// Out/view_attention.{png,svg} (views × targets, all studies); with
// ByLabel also view_attention_positive and view_attention_negative.
func Views(ctx context.Context, o ViewsOptions) (*ViewsSummary, error) {
	if len(o.Predictions) == 0 {
		return nil, fmt.Errorf("explain: views: no predictions given")
	}
	if o.Out == "" {
		return nil, fmt.Errorf("explain: views: no output folder")
	}
	tabs, err := ReadViewTables(o.Predictions)
	if err != nil {
		return nil, err
	}
	if o.Target != "" {
		if len(tabs) != 1 {
			return nil, fmt.Errorf("explain: views: a target name for %d tables (it names a single prediction file)", len(tabs))
		}
		tabs[0].Target = o.Target
	}
	sum := &ViewsSummary{Studies: map[string]int{}}
	for _, t := range tabs {
		sum.Studies[t.Target] = len(t.Studies)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rows := RelativeViewAttention(t, o.ViewOptions)
		if o.Log != nil {
			o.Log.Debug("view attention", "target", t.Target, "studies", len(t.Studies), "file", t.Source)
		}
		sum.Rows = append(sum.Rows, rows...)
	}
	csvPath := filepath.Join(o.Out, ViewAttentionCSV)
	if err := WriteViewAttentionCSV(csvPath, sum.Rows); err != nil {
		return nil, err
	}
	sum.Files = append(sum.Files, csvPath)
	subsets := []string{SubsetAll}
	if o.ByLabel {
		subsets = append(subsets, SubsetPositive, SubsetNegative)
	}
	w, h := heatmapSize(sum.Rows)
	for _, sub := range subsets {
		p, err := ViewHeatmap(sum.Rows, sub)
		if err != nil {
			if sub != SubsetAll {
				continue // no labelled studies of this subset
			}
			return nil, err
		}
		name := ViewAttentionHeatmap
		if sub != SubsetAll {
			name += "_" + sub
		}
		files, err := savePlot(p, w, h, o.Out, name)
		if err != nil {
			return nil, err
		}
		sum.Files = append(sum.Files, files...)
	}
	return sum, nil
}

// WriteViewAttentionCSV writes rows as CSV: target, subset, view,
// relative_attention, ci_lower, ci_upper, clips, studies.
func WriteViewAttentionCSV(path string, rows []ViewAttention) error {
	err := fsutil.WriteFileAtomic(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		if err := w.Write([]string{"target", "subset", "view", "relative_attention", "ci_lower", "ci_upper", "clips", "studies"}); err != nil {
			return err
		}
		for _, r := range rows {
			rec := []string{r.Target, r.Subset, r.View, fmtFloat(r.Relative), fmtFloat(r.Lower), fmtFloat(r.Upper),
				strconv.Itoa(r.Clips), strconv.Itoa(r.Studies)}
			if err := w.Write(rec); err != nil {
				return err
			}
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return fmt.Errorf("explain: %s: %w", path, err)
	}
	return nil
}

// fmtFloat writes a float in its shortest round-trip form ("" for NaN).
func fmtFloat(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
