package label

import (
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/store"
)

func TestMerge(t *testing.T) {
	idxText := "parent_folder,accession,split,dcm\nsite_p1,s1.h5,train,1\nsite_p2,s2.h5,val,0\nsite_p3,s3.h5,test,0\nsite_p4,s4.h5,train,1\n"
	tab, err := readTable(strings.NewReader(`study_key,status,error,dcm,dcm_evidence,hcm,hcm_evidence
site_p1-s1.h5,ok,,present,a,uncertain,b
site_p2-s2.h5,ok,,absent,,absent,
site_p3-s3.h5,partial,hcm: boom,uncertain,c,,
orphan-x.h5,ok,,present,d,absent,
`), "labels.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		unc, want string
	}{
		{"drop", "dcm,hcm: 1,; 0,0; ,; ,"},
		{"0", "dcm,hcm: 1,0; 0,0; 0,; ,"},
		{"1", "dcm,hcm: 1,1; 0,0; 1,; ,"},
	} {
		idx, err := store.ReadIndex(strings.NewReader(idxText))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Merge(idx, tab, MergeOptions{Uncertain: tc.unc, Prefix: "rules_"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range idx.Rows {
			got = append(got, r.Values["rules_dcm"]+","+r.Values["rules_hcm"])
		}
		if g := "dcm,hcm: " + strings.Join(got, "; "); g != tc.want {
			t.Errorf("uncertain %s: %s, want %s", tc.unc, g, tc.want)
		}
		if s.Matched != 3 || s.Unlabelled != 1 || strings.Join(s.Orphans, ",") != "orphan-x.h5" ||
			strings.Join(idx.Columns, ",") != "parent_folder,accession,split,dcm,rules_dcm,rules_hcm" || idx.Rows[0].Values["dcm"] != "1" {
			t.Errorf("summary %+v, columns %v", s, idx.Columns)
		}
	}
	idx, _ := store.ReadIndex(strings.NewReader(idxText))
	if _, err := Merge(idx, tab, MergeOptions{}); err == nil || !strings.Contains(err.Error(), `already has a column "dcm"`) {
		t.Errorf("clash: %v", err)
	}
	if _, err := Merge(idx, tab, MergeOptions{Overwrite: true, Labels: []string{"dcm"}}); err != nil || idx.Rows[1].Values["dcm"] != "0" || idx.Rows[3].Values["dcm"] != "" {
		t.Errorf("overwrite: %v %v", err, idx.Rows)
	}
	if _, err := Merge(idx, tab, MergeOptions{Uncertain: "maybe"}); err == nil || !strings.Contains(err.Error(), "drop, 0 or 1") {
		t.Errorf("bad uncertain mapping: %v", err)
	}
}
