package finetune

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/store"
)

// TestSplitsDataFraction: data.fraction keeps a seeded fraction of the
// patients (all of a kept patient's studies), drawn over the whole index as
// the reference does, and only thins the training split; validation stays
// complete; the same seed gives the same subset, another seed another; a
// missing label column or an empty training split is an error naming it.
func TestSplitsDataFraction(t *testing.T) {
	idx := &store.Index{Columns: []string{"parent_folder", "accession", "split", "lvef"}}
	for p := range 40 {
		split := "train"
		if p%5 == 0 {
			split = "val"
		}
		for s := range 1 + p%2 { // every other patient has a second study
			idx.Rows = append(idx.Rows, store.IndexRow{ParentFolder: fmt.Sprintf("site_p%02d", p), Accession: fmt.Sprintf("s%d.h5", s),
				Split: split, Values: map[string]string{"lvef": "55"}})
		}
	}
	c := RegressionConfig()
	full, val, fullTrain, err := Splits(c, idx)
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != len(fullTrain) || len(full) != 48 || len(val) != 12 {
		t.Fatalf("fraction 1: %d train rows (full %d), %d val", len(full), len(fullTrain), len(val))
	}
	patients := func(rows []store.IndexRow) []string {
		var out []string
		for _, r := range rows {
			if !slices.Contains(out, r.ParentFolder) {
				out = append(out, r.ParentFolder)
			}
		}
		return out
	}
	c.Data.Fraction = 0.5
	a, va, _, err := Splits(c, idx)
	if err != nil {
		t.Fatal(err)
	}
	if len(va) != 12 {
		t.Errorf("validation thinned to %d rows", len(va))
	}
	// 20 of the 40 patients are kept over the whole index; those in train
	// bring all their studies.
	for _, p := range patients(a) {
		n := 0
		for _, r := range a {
			if r.ParentFolder == p {
				n++
			}
		}
		var num int
		fmt.Sscanf(p, "site_p%d", &num)
		if n != 1+num%2 {
			t.Errorf("patient %s: %d of %d studies kept", p, n, 1+num%2)
		}
	}
	if n := len(patients(a)); n < 10 || n > 20 {
		t.Errorf("%d training patients kept at fraction 0.5 (32 in train, 20 of 40 kept overall)", n)
	}
	b, _, _, _ := Splits(c, idx)
	if !slices.Equal(patients(a), patients(b)) {
		t.Error("same seed, different subset")
	}
	c.Data.FractionSeed = 7
	d, _, _, _ := Splits(c, idx)
	if slices.Equal(patients(a), patients(d)) {
		t.Error("another seed gave the same subset")
	}

	c = ClassificationConfig("hcm")
	if _, _, _, err := Splits(c, idx); err == nil || !strings.Contains(err.Error(), `"hcm"`) {
		t.Errorf("missing label column: %v", err)
	}
	c = RegressionConfig()
	c.Data.TrainSplit = "nosuch"
	if _, _, _, err := Splits(c, idx); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("empty training split: %v", err)
	}
}
