package phantom_test

// Independent read-back of a generated cohort: DICOM files are parsed with
// github.com/suyashkumar/dicom (not with the phantom's writer), labels.csv and
// truth.json with encoding/csv and encoding/json.

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// dcmImage is one frame read back from disk.
type dcmImage struct {
	path                    string
	sopClass, seriesUID     string
	instance                int
	ipp                     [3]float64
	iop                     [6]float64
	spacing                 [2]float64 // row, column spacing
	rows, cols              int
	slope, intercept        float64
	trigger                 float64
	sliceLoc                float64
	thickness, spacingSlice float64
	pix                     []float64 // rescaled real-world values
}

func elemStrings(ds *dicom.Dataset, t tag.Tag) ([]string, error) {
	e, err := ds.FindElementByTag(t)
	if err != nil {
		return nil, err
	}
	switch v := e.Value.GetValue().(type) {
	case []string:
		return v, nil
	case []int:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = strconv.Itoa(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v: unexpected value type %T", t, e.Value.GetValue())
}

func elemFloats(ds *dicom.Dataset, t tag.Tag) ([]float64, error) {
	s, err := elemStrings(ds, t)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(s))
	for i, x := range s {
		out[i], err = strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, fmt.Errorf("%v value %q: %w", t, x, err)
		}
	}
	return out, nil
}

func elemFloat(ds *dicom.Dataset, t tag.Tag) (float64, error) {
	v, err := elemFloats(ds, t)
	if err != nil {
		return 0, err
	}
	if len(v) == 0 {
		return 0, fmt.Errorf("%v: empty", t)
	}
	return v[0], nil
}

// readImage parses one classic single-frame MR image.
func readImage(path string, pixels bool) (*dcmImage, error) {
	var opts []dicom.ParseOption
	if !pixels {
		opts = append(opts, dicom.SkipPixelData())
	}
	ds, err := dicom.ParseFile(path, nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	im := &dcmImage{path: path}
	get := func(t tag.Tag) float64 {
		if err != nil {
			return 0
		}
		var v float64
		v, err = elemFloat(&ds, t)
		return v
	}
	s, e := elemStrings(&ds, tag.SOPClassUID)
	if e != nil {
		return nil, e
	}
	im.sopClass = s[0]
	s, e = elemStrings(&ds, tag.SeriesInstanceUID)
	if e != nil {
		return nil, e
	}
	im.seriesUID = s[0]
	im.instance = int(get(tag.InstanceNumber))
	im.rows, im.cols = int(get(tag.Rows)), int(get(tag.Columns))
	im.slope, im.intercept = get(tag.RescaleSlope), get(tag.RescaleIntercept)
	im.thickness = get(tag.SliceThickness)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if v, e := elemFloats(&ds, tag.ImagePositionPatient); e == nil && len(v) == 3 {
		copy(im.ipp[:], v)
	} else {
		return nil, fmt.Errorf("%s: ImagePositionPatient: %v %v", path, v, e)
	}
	if v, e := elemFloats(&ds, tag.ImageOrientationPatient); e == nil && len(v) == 6 {
		copy(im.iop[:], v)
	} else {
		return nil, fmt.Errorf("%s: ImageOrientationPatient: %v %v", path, v, e)
	}
	if v, e := elemFloats(&ds, tag.PixelSpacing); e == nil && len(v) == 2 {
		copy(im.spacing[:], v)
	} else {
		return nil, fmt.Errorf("%s: PixelSpacing: %v %v", path, v, e)
	}
	im.trigger, _ = elemFloat(&ds, tag.TriggerTime)
	im.sliceLoc, _ = elemFloat(&ds, tag.SliceLocation)
	im.spacingSlice, _ = elemFloat(&ds, tag.SpacingBetweenSlices)
	if !pixels {
		return im, nil
	}
	pe, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	info := dicom.MustGetPixelDataInfo(pe.Value)
	if len(info.Frames) != 1 {
		return nil, fmt.Errorf("%s: %d frames", path, len(info.Frames))
	}
	nf, err := info.Frames[0].GetNativeFrame()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	raw, ok := nf.RawDataSlice().([]uint16)
	if !ok {
		return nil, fmt.Errorf("%s: pixel data is %T, want []uint16", path, nf.RawDataSlice())
	}
	im.pix = make([]float64, len(raw))
	for i, v := range raw {
		im.pix[i] = float64(v)*im.slope + im.intercept
	}
	return im, nil
}

// normal returns the cross product of the IOP row and column directions.
func (im *dcmImage) normal() [3]float64 {
	r, c := im.iop[:3], im.iop[3:]
	return [3]float64{r[1]*c[2] - r[2]*c[1], r[2]*c[0] - r[0]*c[2], r[0]*c[1] - r[1]*c[0]}
}

func dot3(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// pixelPos returns the patient position of pixel (row, col).
func (im *dcmImage) pixelPos(row, col float64) [3]float64 {
	var p [3]float64
	for k := 0; k < 3; k++ {
		p[k] = im.ipp[k] + col*im.spacing[1]*im.iop[k] + row*im.spacing[0]*im.iop[3+k]
	}
	return p
}

// truthFile mirrors truth.json.
type truthFile struct {
	Seed    int64 `json:"seed"`
	Studies []struct {
		StudyKey    string          `json:"study_key"`
		PatientID   string          `json:"patient_id"`
		StudyFolder string          `json:"study_folder"`
		Vendor      string          `json:"vendor"`
		Phenotype   string          `json:"phenotype"`
		Labels      map[string]bool `json:"labels"`
		LVEF        float64         `json:"lvef"`
		EDV         float64         `json:"edv_ml"`
		ESV         float64         `json:"esv_ml"`
		ESFrame     int             `json:"es_frame"`
		Frames      int             `json:"frames"`
		Series      []struct {
			Folder            string `json:"series_folder"`
			SeriesInstanceUID string `json:"series_instance_uid"`
			SeriesDescription string `json:"series_description"`
			SeriesNumber      int    `json:"series_number"`
			View              string `json:"view"`
			Kind              string `json:"kind"`
			Slices            int    `json:"slices"`
			Frames            int    `json:"frames"`
			Files             int    `json:"files"`
			SAXSlice          *int   `json:"sax_slice"`
			MultiFrame        bool   `json:"multiframe"`
		} `json:"series"`
	} `json:"studies"`
}

func readTruth(t testing.TB, dir string) *truthFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tf truthFile
	if err := json.Unmarshal(b, &tf); err != nil {
		t.Fatalf("truth.json: %v", err)
	}
	return &tf
}

// readLabels returns labels.csv as one map per row, keyed by header.
func readLabels(t testing.TB, dir string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("labels.csv: %v", err)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// saxStack is a SAX stack read back from disk: slices ordered along the
// normal, frames ordered by trigger time.
type saxStack struct {
	slices [][]*dcmImage // [slice][frame]
	pos    []float64     // slice position along the normal (mm)
}

// readSAX reads every image of the study's SAX series (by truth view) and
// groups them by position along the slice normal.
func readSAX(t testing.TB, dir string, study string, seriesFolders []string) *saxStack {
	t.Helper()
	var ims []*dcmImage
	for _, sf := range seriesFolders {
		files, _ := filepath.Glob(filepath.Join(dir, "dicom", study, sf, "*.dcm"))
		for _, f := range files {
			im, err := readImage(f, true)
			if err != nil {
				t.Fatal(err)
			}
			ims = append(ims, im)
		}
	}
	if len(ims) == 0 {
		t.Fatalf("%s: no SAX images", study)
	}
	n := ims[0].normal()
	byPos := map[int64][]*dcmImage{}
	for _, im := range ims {
		d := dot3(n, im.ipp)
		byPos[int64(math.Round(d*10))] = append(byPos[int64(math.Round(d*10))], im)
	}
	st := &saxStack{}
	var keys []int64
	for k := range byPos {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		fr := byPos[k]
		sort.Slice(fr, func(i, j int) bool { return fr[i].trigger < fr[j].trigger })
		st.slices = append(st.slices, fr)
		st.pos = append(st.pos, float64(k)/10)
	}
	return st
}

func sortedInt64[V any](m map[int64]V) []int64 {
	var keys []int64
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

func sortByTrigger(fr []*dcmImage) {
	sort.Slice(fr, func(i, j int) bool { return fr[i].trigger < fr[j].trigger })
}
