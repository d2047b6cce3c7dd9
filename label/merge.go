package label

import (
	"fmt"

	"github.com/cmrfm/cmrfm/store"
)

// MergeOptions configures Merge.
type MergeOptions struct {
	// Labels to merge (nil: every label column of the label table).
	Labels []string
	// Uncertain maps uncertain answers: "drop" (empty cell: a missing
	// label that finetune masks out of the loss; the default), "0" or "1".
	Uncertain string
	// Prefix is put before each label's column name in the index
	// ("rules_" gives rules_dcm), so labels from several labellers can sit
	// beside the ground truth.
	Prefix string
	// Overwrite replaces index columns of the same name; without it a
	// clash is an error.
	Overwrite bool
}

// MergeSummary counts what Merge did.
type MergeSummary struct {
	Columns []string // the index columns written
	// Matched index rows with a label row; Unlabelled index rows without
	// one (their cells are empty); Orphans label rows whose key is in no
	// index row (listed, not merged).
	Matched, Unlabelled int
	Orphans             []string
	// Empty counts cells left empty per column (failed, missing or
	// dropped uncertain answers).
	Empty map[string]int
}

// Merge writes the labels of t into idx as 0/1 columns, joined on the
// index's study key (parent_folder-accession, the key of ingest's
// reports.jsonl).
func Merge(idx *store.Index, t *Table, o MergeOptions) (*MergeSummary, error) {
	unc, err := UncertainValue(o.Uncertain)
	if err != nil {
		return nil, err
	}
	labels := o.Labels
	if len(labels) == 0 {
		labels = t.LabelColumns()
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("label: merge: %s has no label columns (<label>, <label>_evidence pairs)", t.Name)
	}
	s := &MergeSummary{Empty: map[string]int{}}
	existing := map[string]bool{}
	for _, c := range idx.Columns {
		existing[c] = true
	}
	for _, l := range labels {
		if !t.HasColumn(l) {
			return nil, fmt.Errorf("label: merge: %s has no column %q", t.Name, l)
		}
		col := o.Prefix + l
		switch col {
		case "parent_folder", "accession", "split":
			return nil, fmt.Errorf("label: merge: column %q is one of the index's required columns; use a prefix", col)
		}
		if existing[col] && !o.Overwrite {
			return nil, fmt.Errorf("label: merge: the index already has a column %q (use a prefix, or overwrite)", col)
		}
		s.Columns = append(s.Columns, col)
	}
	inIndex := map[string]bool{}
	for i := range idx.Rows {
		row := &idx.Rows[i]
		k := row.Filename()
		inIndex[k] = true
		lr, ok := t.Rows[k]
		if ok {
			s.Matched++
		} else {
			s.Unlabelled++
		}
		if row.Values == nil {
			row.Values = map[string]string{}
		}
		for j, l := range labels {
			col := s.Columns[j]
			v := ""
			if ok {
				a, err := ParseAnswer(lr[l])
				if err != nil {
					return nil, fmt.Errorf("label: merge: %s, key %s, column %s: %w", t.Name, k, l, err)
				}
				switch a {
				case Present:
					v = "1"
				case Absent:
					v = "0"
				case Uncertain:
					if unc != "drop" {
						v = unc
					}
				}
			}
			if v == "" {
				s.Empty[col]++
			}
			row.Values[col] = v
		}
	}
	for _, c := range s.Columns {
		if !existing[c] {
			idx.Columns = append(idx.Columns, c)
		}
	}
	for _, k := range t.Keys {
		if !inIndex[k] {
			s.Orphans = append(s.Orphans, k)
		}
	}
	return s, nil
}
