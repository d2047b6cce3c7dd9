package score

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/cmrfm/cmrfm/stats"
)

// Num is a float64 whose JSON form is null when it is NaN or infinite.
type Num float64

// MarshalJSON writes null for NaN and ±Inf.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// UnmarshalJSON reads null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	err := json.Unmarshal(b, &f)
	*n = Num(f)
	return err
}

// Valid reports whether n is a finite number.
func (n Num) Valid() bool { return !math.IsNaN(float64(n)) && !math.IsInf(float64(n), 0) }

// Parts of the test set.
const (
	Public  = "public"
	Private = "private"
)

// Result is the scoring of one submission on both parts of the test set.
type Result struct {
	Public  *Part `json:"public,omitempty"`
	Private *Part `json:"private,omitempty"`
}

// Part is one part's scores.
type Part struct {
	N int `json:"n"`
	// Score ranks the leaderboard: MAE (regression, lower is better) or the
	// macro AUROC (classification, higher is better).
	Score      Num     `json:"score"`
	Regression *Reg    `json:"regression,omitempty"`
	Classes    []Class `json:"classes,omitempty"`
}

// Reg holds the regression metrics of one part.
type Reg struct {
	MAE, MSE, RMSE, Pearson Num
	Bias, SD                Num
	BiasCI                  [2]Num
	LoALower, LoAUpper      Num
	LoALowerCI, LoAUpperCI  [2]Num
	Cutoff                  float64
	HFCases                 int
	HFAUC, HFLower, HFUpper Num // NaN when every label is on one side of the cut-off
}

// Class holds one target's classification metrics in one part.
type Class struct {
	Target                 string
	N, Positives           int
	AUC, Lower, Upper      Num // NaN for a single class
	Youden, AtSens, AtSpec Point
}

// Point is an operating point.
type Point struct {
	Threshold, Sensitivity, Specificity, Accuracy, PPV, NPV Num
	TP, FP, TN, FN                                          int
}

func point(c stats.Coords) Point {
	return Point{Num(c.Threshold), Num(c.Sensitivity), Num(c.Specificity), Num(c.Accuracy), Num(c.PPV), Num(c.NPV),
		c.TP, c.FP, c.TN, c.FN}
}

// Minimum sensitivity and specificity of the fixed operating points (the
// paper's).
const (
	MinSensitivity = 0.90
	MinSpecificity = 0.90
	level          = 0.95
)

// Directions: a higher probability means a case; a lower predicted LVEF
// means heart failure. Fixed, not pROC's automatic rule, so a model that
// ranks backwards scores below 0.5 instead of being flipped.
const (
	classDirection = stats.Less
	hfDirection    = stats.Greater
)

// split returns the study indices of a part.
func (t *Task) split(part string) []int {
	var idx []int
	for i, pub := range t.Public {
		if pub == (part == Public) {
			idx = append(idx, i)
		}
	}
	return idx
}

func pick(v []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for k, i := range idx {
		out[k] = v[i]
	}
	return out
}

func (t *Task) labels(j int, idx []int) []float64 {
	out := make([]float64, len(idx))
	for k, i := range idx {
		out[k] = t.Labels[i][j]
	}
	return out
}

// Score computes both parts' metrics and figures.
func Score(t *Task, p Preds) (*Result, []Figure, error) {
	if len(p) != len(t.Targets) {
		return nil, nil, fmt.Errorf("score: %d prediction columns for %d targets", len(p), len(t.Targets))
	}
	res := &Result{}
	var figs []Figure
	for _, part := range []string{Public, Private} {
		idx := t.split(part)
		if len(idx) == 0 {
			continue
		}
		pr, fs, err := scorePart(t, p, part, idx)
		if err != nil {
			return nil, nil, err
		}
		if part == Public {
			res.Public = pr
		} else {
			res.Private = pr
		}
		figs = append(figs, fs...)
	}
	return res, figs, nil
}

func scorePart(t *Task, p Preds, part string, idx []int) (*Part, []Figure, error) {
	out := &Part{N: len(idx)}
	var figs []Figure
	if t.Kind == Regression {
		pred, truth := pick(p[0], idx), t.labels(0, idx)
		ba := stats.NewBlandAltman(pred, truth)
		r := &Reg{
			MAE: Num(stats.MAE(pred, truth)), MSE: Num(stats.MSE(pred, truth)), RMSE: Num(stats.RMSE(pred, truth)),
			Pearson: Num(stats.Pearson(pred, truth)),
			Bias:    Num(ba.Bias), SD: Num(ba.SD), BiasCI: [2]Num{Num(ba.BiasCI[0]), Num(ba.BiasCI[1])},
			LoALower: Num(ba.Lower), LoAUpper: Num(ba.Upper),
			LoALowerCI: [2]Num{Num(ba.LowerCI[0]), Num(ba.LowerCI[1])}, LoAUpperCI: [2]Num{Num(ba.UpperCI[0]), Num(ba.UpperCI[1])},
			Cutoff: t.Cutoff, HFAUC: Num(math.NaN()), HFLower: Num(math.NaN()), HFUpper: Num(math.NaN()),
		}
		hf := stats.BelowCutoff(truth, t.Cutoff)
		for _, c := range hf {
			if c {
				r.HFCases++
			}
		}
		roc, err := stats.NewROC(pred, hf, hfDirection)
		switch {
		case errors.Is(err, stats.ErrOneClass):
		case err != nil:
			return nil, nil, fmt.Errorf("score: heart-failure ROC: %w", err)
		default:
			lo, hi := roc.CI(level)
			r.HFAUC, r.HFLower, r.HFUpper = Num(roc.AUC()), Num(lo), Num(hi)
			f, err := rocFigure(fmt.Sprintf("%s < %g (heart failure), %s part", t.Targets[0], t.Cutoff, part), roc, lo, hi, t.MinBin)
			if err != nil {
				return nil, nil, err
			}
			figs = append(figs, Figure{Part: part, Name: "roc_hf", SVG: f})
		}
		out.Regression, out.Score = r, r.MAE
		if len(pred) >= 2 {
			f, err := blandAltmanFigure(fmt.Sprintf("%s, %s part (n = %d)", t.Targets[0], part, len(pred)), t.Targets[0], ba, t.MinBin)
			if err != nil {
				return nil, nil, err
			}
			figs = append(figs, Figure{Part: part, Name: "bland_altman", SVG: f})
		}
		return out, figs, nil
	}
	sum, n := 0.0, 0
	for j, tg := range t.Targets {
		score, lab := pick(p[j], idx), toBool(t.labels(j, idx))
		c := Class{Target: tg, N: len(idx), AUC: Num(math.NaN()), Lower: Num(math.NaN()), Upper: Num(math.NaN())}
		for _, l := range lab {
			if l {
				c.Positives++
			}
		}
		roc, err := stats.NewROC(score, lab, classDirection)
		switch {
		case errors.Is(err, stats.ErrOneClass):
		case err != nil:
			return nil, nil, fmt.Errorf("score: %s: %w", tg, err)
		default:
			lo, hi := roc.CI(level)
			c.AUC, c.Lower, c.Upper = Num(roc.AUC()), Num(lo), Num(hi)
			if y := roc.Youden(); len(y) > 0 {
				c.Youden = point(y[0])
			}
			c.AtSens, c.AtSpec = point(roc.AtSensitivity(MinSensitivity)), point(roc.AtSpecificity(MinSpecificity))
			sum += roc.AUC()
			n++
			f, err := rocFigure(fmt.Sprintf("%s, %s part", tg, part), roc, lo, hi, t.MinBin)
			if err != nil {
				return nil, nil, err
			}
			figs = append(figs, Figure{Part: part, Name: "roc_" + safeName(tg), SVG: f})
		}
		out.Classes = append(out.Classes, c)
	}
	out.Score = Num(math.NaN())
	if n > 0 {
		out.Score = Num(sum / float64(n))
	}
	return out, figs, nil
}

func toBool(v []float64) []bool {
	out := make([]bool, len(v))
	for i, x := range v {
		out[i] = x == 1
	}
	return out
}

// safeName keeps letters, digits, '-' and '_'.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Better reports whether score a ranks above b for the task's kind; NaN
// ranks last.
func Better(kind string, a, b float64) bool {
	switch {
	case math.IsNaN(a):
		return false
	case math.IsNaN(b):
		return true
	case kind == Regression:
		return a < b
	}
	return a > b
}
