package phantom_test

import (
	"context"
	"math"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/phantom"
)

// TestCineStudy renders the four views in memory for every phenotype and
// measures LVEF from the uint8 SAX video exactly as from DICOM.
func TestCineStudy(t *testing.T) {
	for i, ph := range phantom.Phenotypes() {
		s, err := phantom.NewSubject(uint64(40+i), phantom.SubjectOptions{Phenotype: ph, Frames: 20})
		if err != nil {
			t.Fatal(err)
		}
		pl := phantom.Planning{Rows: 112, Cols: 128, FOV: 320}
		st, err := s.CineStudy(context.Background(), "k", phantom.CineOptions{Planning: pl, Workers: 2, Render: phantom.RenderOptions{NoiseSeed: 3}})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range cine.Views() {
			vid := st.Views[v]
			if err := vid.Validate(); err != nil {
				t.Fatalf("%s %s: %v", ph, v, err)
			}
			if vid.C != 3 || vid.H != 112 || vid.W != 128 {
				t.Errorf("%s %s: shape %v", ph, v, vid.Shape())
			}
		}
		sax := st.Views[cine.ViewSAX]
		slices := sax.Slices()
		if len(slices) != s.SAXSliceCount(0) || sax.F != 20*len(slices) {
			t.Fatalf("%s: SAX has %d slices / %d frames, planned %d", ph, len(slices), sax.F, s.SAXSliceCount(0))
		}
		stack := &saxStack{}
		sp := 320.0 / 128
		for k, sl := range slices {
			var fr []*dcmImage
			for f := sl.Start; f < sl.End; f++ {
				im := &dcmImage{rows: 112, cols: 128, spacing: [2]float64{sp, sp}, pix: make([]float64, 112*128)}
				for p, x := range sax.Frame(0, f) {
					im.pix[p] = float64(x)
				}
				fr = append(fr, im)
			}
			stack.slices = append(stack.slices, fr)
			stack.pos = append(stack.pos, float64(k)*s.SliceSpacing)
		}
		m := measureLV(t, stack)
		tr := s.Truth()
		t.Logf("%-8s in-memory SAX: LVEF truth %.1f pixels %.1f (blood %.0f, myo %.0f)", ph, tr.LVEF, m.ef, m.blood, m.myo)
		if math.Abs(m.ef-tr.LVEF) > 5 {
			t.Errorf("%s: LVEF from the in-memory video %.1f, truth %.1f", ph, m.ef, tr.LVEF)
		}
	}
}
