package data

import (
	"fmt"
	"math"

	"github.com/cmrfm/cmrfm/store"
)

// SubsampleByPatient keeps a seeded random fraction of the patients
// (parent_folder) and returns their rows in index order: the data-fraction
// experiments of docs/reference.md §2.2. As sklearn's GroupShuffleSplit with
// test_size = 1 − fraction, it keeps G − ⌈(1 − fraction)·G⌉ of the G
// patients. The reference applies it to the whole index before selecting
// the train split (val and test always use every row); do the same for
// parity. Which patients are kept follows cmrfm's PCG stream, not numpy's
// RandomState(42) permutation: the same fraction and seed give the same
// subset on every machine, but not the reference's subset.
func SubsampleByPatient(rows []store.IndexRow, fraction float64, seed uint64) ([]store.IndexRow, error) {
	if fraction <= 0 || fraction > 1 || math.IsNaN(fraction) {
		return nil, fmt.Errorf("data fraction %g: want 0 < fraction ≤ 1", fraction)
	}
	if fraction == 1 {
		return rows, nil
	}
	var groups []string
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.ParentFolder] {
			seen[r.ParentFolder] = true
			groups = append(groups, r.ParentFolder)
		}
	}
	g := len(groups)
	nTest := int(math.Ceil((1 - fraction) * float64(g)))
	nTrain := g - nTest
	if nTrain <= 0 {
		return nil, fmt.Errorf("data fraction %g of %d patients keeps none", fraction, g)
	}
	keep := map[string]bool{}
	for _, i := range newStream(seed, streamSubset, uint64(g), 0).Perm(g)[:nTrain] {
		keep[groups[i]] = true
	}
	var out []store.IndexRow
	for _, r := range rows {
		if keep[r.ParentFolder] {
			out = append(out, r)
		}
	}
	return out, nil
}

// PosWeightMode selects the positive-class weight of the weighted BCE.
type PosWeightMode int

const (
	// PosWeightRatio is negatives/positives among the labelled rows: the
	// paper's "proportion of positive vs negative classes" and the usual
	// BCEWithLogits pos_weight.
	PosWeightRatio PosWeightMode = iota
	// PosWeightReference is the reference code's len(train)/sum(labels) =
	// 1/prevalence, counting rows with a missing label in len (§2.7).
	PosWeightReference
)

// ParsePosWeightMode parses "ratio" or "reference".
func ParsePosWeightMode(s string) (PosWeightMode, error) {
	switch s {
	case "ratio", "":
		return PosWeightRatio, nil
	case "reference", "inverse-prevalence":
		return PosWeightReference, nil
	}
	return 0, fmt.Errorf("pos_weight mode %q: want ratio or reference", s)
}

// PosWeight computes the positive-class weight of a binary label column
// over rows (the train split, before any data-fraction subsampling, as the
// reference does). Labels must be 0 or 1; empty cells count as missing.
func PosWeight(rows []store.IndexRow, column string, mode PosWeightMode) (float64, error) {
	var pos, neg float64
	for _, r := range rows {
		v, ok := r.Float(column)
		if !ok {
			continue
		}
		switch v {
		case 1:
			pos++
		case 0:
			neg++
		default:
			return 0, fmt.Errorf("pos_weight: column %q: row %s has label %g, want 0 or 1", column, r.Filename(), v)
		}
	}
	if pos == 0 {
		return 0, fmt.Errorf("pos_weight: column %q has no positive rows among %d", column, len(rows))
	}
	if mode == PosWeightReference {
		return float64(len(rows)) / pos, nil
	}
	return neg / pos, nil
}
