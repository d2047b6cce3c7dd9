package store

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadIndex feeds arbitrary CSV to the dataset index reader: it may
// refuse a file, but what it accepts writes back and reads again the same.
func FuzzReadIndex(f *testing.F) {
	f.Add("parent_folder,accession,split,lvef\nsite_a,b.h5,train,55\nsite_c,d.h5,test,\n")
	f.Add("\ufeffparent_folder,accession,split\n\"x,y\",z.h5,val\n")
	f.Add("a,b\n1,2,3\n")
	f.Fuzz(func(t *testing.T, in string) {
		idx, err := ReadIndex(strings.NewReader(in))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := idx.Write(&b); err != nil {
			return
		}
		again, err := ReadIndex(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("written index does not read back: %v\n%s", err, b.String())
		}
		if len(again.Rows) != len(idx.Rows) {
			t.Fatalf("%d rows, then %d", len(idx.Rows), len(again.Rows))
		}
	})
}
