package phantom_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/cmrfm/cmrfm/phantom"
)

func findIn(elems []*dicom.Element, t tag.Tag) *dicom.Element {
	for _, e := range elems {
		if e.Tag == t {
			return e
		}
	}
	return nil
}

// seqItem returns the elements of the first item of sequence t in elems.
func seqItem(elems []*dicom.Element, t tag.Tag) []*dicom.Element {
	e := findIn(elems, t)
	if e == nil {
		return nil
	}
	items, ok := e.Value.GetValue().([]*dicom.SequenceItemValue)
	if !ok || len(items) == 0 {
		return nil
	}
	return items[0].GetValue().([]*dicom.Element)
}

func floatsOf(e *dicom.Element) []float64 {
	if e == nil {
		return nil
	}
	switch v := e.Value.GetValue().(type) {
	case []float64:
		return v
	case []string:
		out := make([]float64, len(v))
		for i, s := range v {
			out[i], _ = strconv.ParseFloat(s, 64)
		}
		return out
	}
	return nil
}

// readEnhanced parses an Enhanced MR file into one dcmImage per frame,
// taking geometry, timing and rescale from the functional groups.
func readEnhanced(t testing.TB, path string) []*dcmImage {
	t.Helper()
	ds, err := dicom.ParseFile(path, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	top := ds.Elements
	sop, _ := elemStrings(&ds, tag.SOPClassUID)
	if len(sop) != 1 || sop[0] != phantom.EnhancedMRImageStorage {
		t.Fatalf("%s: SOP class %v", path, sop)
	}
	nFrames, err := elemFloat(&ds, tag.NumberOfFrames)
	if err != nil {
		t.Fatal(err)
	}
	shared := seqItem(top, tag.SharedFunctionalGroupsSequence)
	pfe := findIn(top, tag.PerFrameFunctionalGroupsSequence)
	if shared == nil || pfe == nil {
		t.Fatalf("%s: no functional groups", path)
	}
	perFrame := pfe.Value.GetValue().([]*dicom.SequenceItemValue)
	if len(perFrame) != int(nFrames) {
		t.Fatalf("%s: %d per-frame items for %v frames", path, len(perFrame), nFrames)
	}
	pe, _ := ds.FindElementByTag(tag.PixelData)
	info := dicom.MustGetPixelDataInfo(pe.Value)
	if len(info.Frames) != int(nFrames) {
		t.Fatalf("%s: %d pixel frames for %v frames", path, len(info.Frames), nFrames)
	}
	rows, _ := elemFloat(&ds, tag.Rows)
	cols, _ := elemFloat(&ds, tag.Columns)
	sp := floatsOf(findIn(seqItem(shared, tag.PixelMeasuresSequence), tag.PixelSpacing))
	pvt := seqItem(shared, tag.PixelValueTransformationSequence)
	slope, intercept := floatsOf(findIn(pvt, tag.RescaleSlope)), floatsOf(findIn(pvt, tag.RescaleIntercept))
	if len(sp) != 2 || len(slope) != 1 || len(intercept) != 1 {
		t.Fatalf("%s: pixel spacing %v, slope %v, intercept %v", path, sp, slope, intercept)
	}
	var out []*dcmImage
	for k, it := range perFrame {
		fe := it.GetValue().([]*dicom.Element)
		im := &dcmImage{path: fmt.Sprintf("%s#%d", path, k+1), rows: int(rows), cols: int(cols), slope: slope[0], intercept: intercept[0]}
		copy(im.spacing[:], sp)
		ipp := floatsOf(findIn(seqItem(fe, tag.PlanePositionSequence), tag.ImagePositionPatient))
		iop := floatsOf(findIn(seqItem(fe, tag.PlaneOrientationSequence), tag.ImageOrientationPatient))
		if iop == nil {
			iop = floatsOf(findIn(seqItem(shared, tag.PlaneOrientationSequence), tag.ImageOrientationPatient))
		}
		if len(ipp) != 3 || len(iop) != 6 {
			t.Fatalf("%s frame %d: position %v orientation %v", path, k+1, ipp, iop)
		}
		copy(im.ipp[:], ipp)
		copy(im.iop[:], iop)
		if trig := floatsOf(findIn(seqItem(fe, tag.CardiacSynchronizationSequence), tag.NominalCardiacTriggerDelayTime)); len(trig) == 1 {
			im.trigger = trig[0]
		}
		nf, err := info.Frames[k].GetNativeFrame()
		if err != nil {
			t.Fatal(err)
		}
		raw := nf.RawDataSlice().([]uint16)
		im.pix = make([]float64, len(raw))
		for i, v := range raw {
			im.pix[i] = float64(v)*im.slope + im.intercept
		}
		out = append(out, im)
	}
	return out
}

// TestMultiFrame writes Enhanced MR files for six studies (all five phenotypes) and
// checks them like the classic ones: dcmtk and dciodvfy read them cleanly,
// the frame count and per-frame positions match the truth, and the LVEF
// measured from the multi-frame SAX pixels matches labels.csv.
func TestMultiFrame(t *testing.T) {
	dir := t.TempDir()
	c, err := phantom.Generate(context.Background(), phantom.Options{Studies: 6, Out: dir, Seed: 11, Workers: 2, MultiFrame: true, Matrix: 160})
	if err != nil {
		t.Fatal(err)
	}
	dcmdumpClean(t, allFiles(t, dir))
	dciodvfyClean(t, dir)
	for _, st := range c.Studies {
		var sax []*dcmImage
		for _, se := range st.Series {
			files, _ := filepath.Glob(filepath.Join(dir, "dicom", st.StudyFolder, se.Folder, "*.dcm"))
			if len(files) != 1 || se.Files != 1 || !se.MultiFrame {
				t.Fatalf("%s/%s: %d files, truth %d (multiframe %v)", st.StudyKey, se.Folder, len(files), se.Files, se.MultiFrame)
			}
			ims := readEnhanced(t, files[0])
			if len(ims) != se.Slices*se.Frames {
				t.Errorf("%s/%s: %d frames, want %d slices × %d", st.StudyKey, se.Folder, len(ims), se.Slices, se.Frames)
			}
			if se.View == "SAX" {
				sax = append(sax, ims...)
			}
		}
		// group the SAX frames by position along the normal, as readSAX does
		n := sax[0].normal()
		byPos := map[int64][]*dcmImage{}
		for _, im := range sax {
			k := int64(math.Round(dot3(n, im.ipp) * 10))
			byPos[k] = append(byPos[k], im)
		}
		stack := &saxStack{}
		for _, k := range sortedInt64(byPos) {
			fr := byPos[k]
			sortByTrigger(fr)
			stack.slices = append(stack.slices, fr)
			stack.pos = append(stack.pos, float64(k)/10)
		}
		m := measureLV(t, stack)
		t.Logf("%s %-8s multi-frame: LVEF label %.1f pixels %.1f", st.StudyKey, st.Phenotype, st.LVEF, m.ef)
		if math.Abs(m.ef-st.LVEF) > 5 {
			t.Errorf("%s (%s): LVEF from multi-frame pixels %.1f, label %.1f", st.StudyKey, st.Phenotype, m.ef, st.LVEF)
		}
	}
}

// TestDeterminism: one seed gives byte-identical files whatever the number
// of workers; another seed gives different ones.
func TestDeterminism(t *testing.T) {
	gen := func(seed int64, workers int) string {
		dir := t.TempDir()
		if _, err := phantom.Generate(context.Background(), phantom.Options{Studies: 3, Out: dir, Seed: seed, Workers: workers, Matrix: 64, Frames: 12}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	read := func(dir string) map[string][]byte {
		m := map[string][]byte{}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if !d.IsDir() {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				rel, _ := filepath.Rel(dir, p)
				m[rel] = b
			}
			return nil
		})
		return m
	}
	a, b, c := read(gen(5, 1)), read(gen(5, 2)), read(gen(6, 2))
	if len(a) < 100 || len(a) != len(b) {
		t.Fatalf("%d and %d files", len(a), len(b))
	}
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s differs between runs with the same seed", name)
		}
	}
	same := 0
	for name, x := range a {
		if bytes.Equal(x, c[name]) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d files identical across different seeds", same)
	}
}
