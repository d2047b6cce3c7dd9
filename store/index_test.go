package store

import (
	"bytes"
	"strings"
	"testing"
)

// A master_csv in the reference's shape (docs/reference.md §2.1): required
// columns, label columns with the paper's names, an empty (NaN) cell.
const masterCSV = `parent_folder,accession,split,LVEF,Hypertrophic.Cardiomyopathy,Amyloid
ucsf_RsA08z04jN,D025RGvj4f.h5,train,60.0,0,1
stanford_RF3da7f7f,RF3da82e7.h5,val,35.5,1,0
medstar_03e11f9192,3b27d87ef621.h5,test,,0,0
`

func TestIndexRoundTrip(t *testing.T) {
	idx, err := ReadIndex(strings.NewReader("\ufeff" + masterCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Rows) != 3 || idx.Columns[0] != "parent_folder" {
		t.Fatalf("%d rows, columns %v", len(idx.Rows), idx.Columns)
	}
	r := idx.Rows[0]
	if r.Filename() != "ucsf_RsA08z04jN-D025RGvj4f.h5" || r.Path("/s") != "/s/ucsf_RsA08z04jN/D025RGvj4f.h5" {
		t.Errorf("filename %q path %q", r.Filename(), r.Path("/s"))
	}
	if v, ok := r.Float("LVEF"); !ok || v != 60 {
		t.Errorf("LVEF %v %v", v, ok)
	}
	if _, ok := idx.Rows[2].Float("LVEF"); ok {
		t.Error("empty LVEF reads as a number")
	}
	if got := idx.Filter("val"); len(got) != 1 || got[0].ParentFolder != "stanford_RF3da7f7f" {
		t.Errorf("val split %v", got)
	}
	var buf bytes.Buffer
	if err := idx.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != masterCSV {
		t.Errorf("round trip changed the CSV:\n%s", buf.String())
	}
}

func TestIndexErrors(t *testing.T) {
	cases := map[string]string{
		"parent_folder,accession\nx,y.h5\n":                      `missing required column "split"`,
		"parent_folder,accession,split\nsite-p,y.h5,train\n":     "line 2: parent_folder",
		"parent_folder,accession,split\nsite_p,y.h5,training\n":  `line 2: split "training"`,
		"parent_folder,accession,split\na,b.h5,val\na,b.h5,test": "line 3: study a-b.h5 already listed on line 2",
		"parent_folder,accession,split\na,b.h5\n":                "line 2: 2 fields",
		"parent_folder,accession,split,split\n":                  "duplicate column",
	}
	for in, want := range cases {
		_, err := ReadIndex(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

func TestAssignSplitsByPatient(t *testing.T) {
	idx := &Index{Columns: []string{"parent_folder", "accession", "split"}}
	for p := 0; p < 40; p++ {
		for s := 0; s < 1+p%3; s++ {
			idx.Rows = append(idx.Rows, IndexRow{ParentFolder: "site_p" + fmtInt(p), Accession: "s" + fmtInt(s) + ".h5"})
		}
	}
	if err := idx.AssignSplits(0.5, 0.25, 0.25, 7); err != nil {
		t.Fatal(err)
	}
	per := map[string]string{}
	count := map[string]int{}
	for _, r := range idx.Rows {
		if prev, ok := per[r.ParentFolder]; ok && prev != r.Split {
			t.Fatalf("patient %s split across %s and %s", r.ParentFolder, prev, r.Split)
		}
		if _, ok := per[r.ParentFolder]; !ok {
			count[r.Split]++
		}
		per[r.ParentFolder] = r.Split
	}
	if count["train"] != 20 || count["val"] != 10 || count["test"] != 10 {
		t.Errorf("patients per split %v, want 20/10/10", count)
	}
	// Same seed and patients in another row order: same assignment.
	rev := &Index{Columns: idx.Columns}
	for i := len(idx.Rows) - 1; i >= 0; i-- {
		rev.Rows = append(rev.Rows, IndexRow{ParentFolder: idx.Rows[i].ParentFolder, Accession: idx.Rows[i].Accession})
	}
	rev.AssignSplits(0.5, 0.25, 0.25, 7)
	for _, r := range rev.Rows {
		if per[r.ParentFolder] != r.Split {
			t.Fatalf("row order changed the split of %s", r.ParentFolder)
		}
	}
	if err := idx.AssignSplits(0, 0, 0, 1); err == nil {
		t.Error("all-zero fractions accepted")
	}
}
