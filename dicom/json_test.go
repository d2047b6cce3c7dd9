package dicom

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestReadJSONMatchesFile: the DICOM JSON that pydicom writes for a fixture
// (testdata/gen/dicom/gen_json.py) reads back to the same values as the
// parsed file — every attribute, at every sequence depth — and to the same
// frame descriptions (File.Images), which is what DICOMweb metadata is used
// for.
func TestReadJSONMatchesFile(t *testing.T) {
	for _, name := range []string{"sax_enhanced", "mr_small_mono1", "heart_rgb"} {
		t.Run(name, func(t *testing.T) {
			f, err := ReadFile(filepath.Join("testdata", "fixtures", name+".dcm"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join("testdata", "json", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			dss, err := ReadJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(dss) != 1 {
				t.Fatalf("%d data sets, want 1", len(dss))
			}
			n := compareDataSets(t, name, f.DataSet, dss[0])
			t.Logf("%d attributes compared", n)

			want, err := f.Images()
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&File{DataSet: dss[0]}).Images()
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				want[i].File = ""
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Images from JSON differ from the file's:\n got %+v\nwant %+v", got[0], want[0])
			}
		})
	}
}

// compareDataSets checks every element of the file's data set against the
// JSON one and returns how many it compared.
func compareDataSets(t *testing.T, where string, file, js *DataSet) int {
	t.Helper()
	n := 0
	for _, e := range file.Elements {
		path := where + "/" + e.Tag.String()
		j := js.Find(e.Tag)
		if j == nil {
			t.Errorf("%s: missing from the JSON", path)
			continue
		}
		n++
		switch {
		case e.VR == "SQ" || len(e.Items) > 0:
			if len(j.Items) != len(e.Items) {
				t.Errorf("%s: %d items, want %d", path, len(j.Items), len(e.Items))
				continue
			}
			for i := range e.Items {
				n += compareDataSets(t, path+"["+string(rune('0'+i%10))+"]", e.Items[i], j.Items[i])
			}
		case len(e.Value) > 1024 || len(e.Fragments) > 0:
			if len(j.Value) != 0 {
				t.Errorf("%s: bulk data has a %d-byte value", path, len(j.Value))
			}
		case e.VR == "OB" || e.VR == "OW" || e.VR == "UN":
			if string(j.Value) != string(e.Value) {
				t.Errorf("%s: inline binary differs", path)
			}
		default:
			if fv, ok := file.Floats(e.Tag); ok {
				jv, jok := js.Floats(e.Tag)
				if !jok || !reflect.DeepEqual(fv, jv) {
					t.Errorf("%s %s: %v, want %v", path, e.VR, jv, fv)
				}
				continue
			}
			fs, js2 := file.Strings(e.Tag), js.Strings(e.Tag)
			if e.VR == "PN" { // pydicom drops trailing empty component groups
				for i := range fs {
					fs[i] = strings.TrimRight(fs[i], "=")
				}
			}
			if !reflect.DeepEqual(fs, js2) {
				t.Errorf("%s %s: %q, want %q", path, e.VR, js2, fs)
			}
		}
	}
	return n
}

// TestReadJSONErrors: malformed JSON is reported with the attribute.
func TestReadJSONErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`[{"0020000D": {"vr": "UI", "Value": ["1.2"]}}, 3]`, "dicom: JSON"},
		{`[{"zz": {"vr": "UI"}}]`, `attribute key "zz"`},
		{`{"00280010": {"vr": "US", "Value": ["x"]}}`, "(0028,0010) Rows: value 0: want a number"},
		{`{"00209111": {"vr": "SQ", "Value": [3]}}`, "item 0"},
	} {
		_, err := ReadJSON([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadJSON(%s): error %v, want one containing %q", tc.in, err, tc.want)
		}
	}
	ds, err := ReadJSON([]byte(`{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}, null]}, "00280030": {"vr": "DS", "Value": [0.5, 1e-3]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := ds[0].Strings(TagPatientName); !reflect.DeepEqual(got, []string{"Doe^Jane", ""}) {
		t.Errorf("PN values %q", got)
	}
	if got, _ := ds[0].Floats(TagPixelSpacing); !reflect.DeepEqual(got, []float64{0.5, 0.001}) {
		t.Errorf("DS values %v", got)
	}
}
