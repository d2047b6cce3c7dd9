package label

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Agreement is the agreement of a labeller (pred) with a reference (truth)
// on one label, over the reports both tables answer.
type Agreement struct {
	Label string `json:"label"`
	// N counts the reports compared; TP, FP, FN, TN their 2×2 table with
	// truth in the rows (present = positive).
	N  int `json:"n"`
	TP int `json:"tp"`
	FP int `json:"fp"`
	FN int `json:"fn"`
	TN int `json:"tn"`
	// Dropped counts reports left out: uncertain answers under
	// Uncertain=drop, failed or empty cells, keys missing from either table.
	PredUncertain  int `json:"pred_uncertain"`
	TruthUncertain int `json:"truth_uncertain"`
	PredMissing    int `json:"pred_missing"`
	TruthMissing   int `json:"truth_missing"`
	// PrevalenceTruth and PrevalencePred are the positive fractions of the
	// compared reports.
	PrevalenceTruth float64 `json:"prevalence_truth"`
	PrevalencePred  float64 `json:"prevalence_pred"`
	// Kappa is Cohen's κ (NaN when both raters give one class only).
	Kappa float64 `json:"kappa"`
	// Sensitivity = TP/(TP+FN), Specificity = TN/(TN+FP), each with its
	// Wilson score 95 % interval (NaN when undefined).
	Sensitivity   float64 `json:"sensitivity"`
	SensitivityLo float64 `json:"sensitivity_lo"`
	SensitivityHi float64 `json:"sensitivity_hi"`
	Specificity   float64 `json:"specificity"`
	SpecificityLo float64 `json:"specificity_lo"`
	SpecificityHi float64 `json:"specificity_hi"`
	// Disagree lists the keys where the answers differ, sorted.
	Disagree []string `json:"disagree"`
}

// AgreeOptions configures Agree.
type AgreeOptions struct {
	// Labels to compare (nil: every label column of pred that truth also
	// has).
	Labels []string
	// TruthColumns maps a pred label to a differently named truth column
	// (e.g. "Hypertrophic.Cardiomyopathy" → "hcm").
	TruthColumns map[string]string
	// Uncertain says how uncertain answers count: "drop" (left out, the
	// default), "0" (absent) or "1" (present).
	Uncertain string
}

// UncertainValue parses an uncertain mapping: drop, 0 or 1.
func UncertainValue(s string) (string, error) {
	switch s {
	case "", "drop":
		return "drop", nil
	case "0", "1":
		return s, nil
	}
	return "", fmt.Errorf("label: uncertain mapping %q: want drop, 0 or 1", s)
}

// Agree compares pred with truth label by label.
func Agree(pred, truth *Table, o AgreeOptions) ([]Agreement, error) {
	unc, err := UncertainValue(o.Uncertain)
	if err != nil {
		return nil, err
	}
	labels := o.Labels
	if len(labels) == 0 {
		cands := pred.LabelColumns()
		if len(cands) == 0 {
			cands = pred.Columns
		}
		for _, l := range cands {
			tc := l
			if c, ok := o.TruthColumns[l]; ok {
				tc = c
			}
			if truth.HasColumn(tc) && !reservedColumn(l) {
				labels = append(labels, l)
			}
		}
		if len(labels) == 0 {
			return nil, fmt.Errorf("label: agree: %s and %s share no label column", pred.Name, truth.Name)
		}
	}
	var out []Agreement
	for _, l := range labels {
		tc := l
		if c, ok := o.TruthColumns[l]; ok {
			tc = c
		}
		if !pred.HasColumn(l) {
			return nil, fmt.Errorf("label: agree: %s has no column %q", pred.Name, l)
		}
		if !truth.HasColumn(tc) {
			return nil, fmt.Errorf("label: agree: %s has no column %q", truth.Name, tc)
		}
		a := Agreement{Label: l}
		keys := map[string]bool{}
		for _, k := range pred.Keys {
			keys[k] = true
		}
		for _, k := range truth.Keys {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			prow, pok := pred.Rows[k]
			trow, tok := truth.Rows[k]
			if !tok {
				a.TruthMissing++
				continue
			}
			if !pok {
				a.PredMissing++
				continue
			}
			p, err := ParseAnswer(prow[l])
			if err != nil {
				return nil, fmt.Errorf("label: agree: %s, key %s, column %s: %w", pred.Name, k, l, err)
			}
			t, err := ParseAnswer(trow[tc])
			if err != nil {
				return nil, fmt.Errorf("label: agree: %s, key %s, column %s: %w", truth.Name, k, tc, err)
			}
			if t == "" {
				a.TruthMissing++
				continue
			}
			if p == "" {
				a.PredMissing++
				continue
			}
			pv, pDrop := binary(p, unc)
			tv, tDrop := binary(t, unc)
			if p == Uncertain {
				a.PredUncertain++
			}
			if t == Uncertain {
				a.TruthUncertain++
			}
			if pDrop || tDrop {
				continue
			}
			a.N++
			switch {
			case tv && pv:
				a.TP++
			case tv:
				a.FN++
			case pv:
				a.FP++
			default:
				a.TN++
			}
			if tv != pv {
				a.Disagree = append(a.Disagree, k)
			}
		}
		a.fill()
		out = append(out, a)
	}
	return out, nil
}

func reservedColumn(c string) bool {
	switch c {
	case "study_key", "status", "error", "filenames", "parent_folder", "accession", "split", "patient_id", "vendor":
		return true
	}
	return strings.HasSuffix(c, "_evidence")
}

// binary maps an answer to present/absent under the uncertain mapping;
// drop reports that the answer is left out.
func binary(a Answer, unc string) (v, drop bool) {
	switch a {
	case Present:
		return true, false
	case Absent:
		return false, false
	}
	switch unc {
	case "1":
		return true, false
	case "0":
		return false, false
	}
	return false, true
}

func (a *Agreement) fill() {
	n := float64(a.N)
	nan := math.NaN()
	a.PrevalenceTruth, a.PrevalencePred = nan, nan
	if a.N > 0 {
		a.PrevalenceTruth = float64(a.TP+a.FN) / n
		a.PrevalencePred = float64(a.TP+a.FP) / n
	}
	a.Kappa = CohenKappa(a.TP, a.FP, a.FN, a.TN)
	a.Sensitivity, a.SensitivityLo, a.SensitivityHi = Proportion(a.TP, a.TP+a.FN)
	a.Specificity, a.SpecificityLo, a.SpecificityHi = Proportion(a.TN, a.TN+a.FP)
	sort.Strings(a.Disagree)
}

// CohenKappa returns Cohen's κ of a 2×2 table (truth in rows):
//
//	κ = (p_o − p_e) / (1 − p_e),  p_o = (TP+TN)/n,
//	p_e = ((TP+FN)(TP+FP) + (FP+TN)(FN+TN)) / n²
//
// It is NaN for an empty table and when p_e = 1 (both raters give one
// class only), as sklearn's cohen_kappa_score.
func CohenKappa(tp, fp, fn, tn int) float64 {
	n := float64(tp + fp + fn + tn)
	if n == 0 {
		return math.NaN()
	}
	po := float64(tp+tn) / n
	pe := (float64(tp+fn)*float64(tp+fp) + float64(fp+tn)*float64(fn+tn)) / (n * n)
	if pe == 1 {
		return math.NaN()
	}
	return (po - pe) / (1 - pe)
}

// z95 is the 97.5 % quantile of the standard normal distribution.
const z95 = 1.959963984540054

// Proportion returns x/n and its Wilson score 95 % interval (without
// continuity correction, R's prop.test(x, n, correct = FALSE)):
//
//	centre = (p̂ + z²/2n) / (1 + z²/n)
//	half   = z/(1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²)
//
// All three are NaN when n = 0.
func Proportion(x, n int) (p, lo, hi float64) {
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	nf := float64(n)
	p = float64(x) / nf
	z2 := z95 * z95
	den := 1 + z2/nf
	centre := (p + z2/(2*nf)) / den
	half := z95 / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return p, math.Max(0, centre-half), math.Min(1, centre+half)
}
