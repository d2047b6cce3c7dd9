package phantom

import (
	"math"
	"slices"
	"testing"
)

// TestVolumeClosedForm checks the quadrature against the closed form of a
// truncated ellipsoid: with radius R(1+ε cos 2θ), long semi-axis L, centre
// c below the cut, the volume from the cut to the apex is
//
//	V = π R² (1 + ε²/2) [ (L + c) − (L³ + c³)/(3L²) ].
func TestVolumeClosedForm(t *testing.T) {
	for _, tc := range []struct{ R, L, c, eps float64 }{{25, 60, 18, 0}, {38, 65, 20, 0.05}, {20, 55, 0, 0.03}} {
		h := &heart{rEndo: tc.R, lEndo: tc.L, cEndo: tc.c, a0: tc.c + tc.L, ellip: tc.eps, cos2e: 1, wall: 8, wallApex: 6}
		h.invA0 = 1 / h.a0
		want := math.Pi * tc.R * tc.R * (1 + tc.eps*tc.eps/2) * ((tc.L + tc.c) - (tc.L*tc.L*tc.L+tc.c*tc.c*tc.c)/(3*tc.L*tc.L))
		got := h.frameAt(0).lvVolume(quadThetaFine, quadWFine)
		if math.Abs(got-want) > 1e-6*want {
			t.Errorf("%+v: quadrature %.6f mm³, closed form %.6f", tc, got, want)
		}
		p0, _, _ := h.lvMoments(quadThetaFine, quadWFine)
		if math.Abs(p0-want) > 1e-6*want {
			t.Errorf("%+v: moment P0 %.6f, closed form %.6f", tc, p0, want)
		}
	}
}

func TestContraction(t *testing.T) {
	for _, tES := range []float64{0.33, 0.4} {
		if c := contraction(0, tES); c != 0 {
			t.Errorf("c(0) = %v", c)
		}
		if c := contraction(tES, tES); math.Abs(c-1) > 1e-12 {
			t.Errorf("c(tES) = %v", c)
		}
		prev := 0.0
		for i := 1; i <= 1000; i++ {
			x := float64(i) / 1000
			c := contraction(x, tES)
			if c > 1+1e-12 || c < 0 {
				t.Fatalf("c(%v) = %v outside [0,1]", x, c)
			}
			if math.Abs(c-prev) > 0.02 {
				t.Fatalf("c jumps by %v at t=%v", c-prev, x)
			}
			prev = c
		}
		if math.Abs(prev) > 1e-12 {
			t.Errorf("c(1) = %v, not periodic", prev)
		}
	}
}

// TestPhenotypeRanges samples subjects of every phenotype and checks the
// analytic truth against the documented ranges, and that end-systole is
// the frame of smallest volume.
func TestPhenotypeRanges(t *testing.T) {
	ef := map[Phenotype][2]float64{Normal: {56, 72}, DCM: {15, 35}, HCM: {62, 80}, Infarct: {30, 50}, Effusion: {55, 72}}
	for _, ph := range Phenotypes() {
		for i := range 12 {
			s, err := NewSubject(uint64(1000*i+7), SubjectOptions{Phenotype: ph, Frames: 20 + i%11, SliceSpacing: []float64{8, 9, 10}[i%3]})
			if err != nil {
				t.Fatal(err)
			}
			tr := s.Truth()
			if tr.LVEF < ef[ph][0]-1 || tr.LVEF > ef[ph][1]+1 {
				t.Errorf("%s #%d: LVEF %.1f outside %v", ph, i, tr.LVEF, ef[ph])
			}
			curve := s.VolumeCurve()
			if k := slices.Index(curve, slices.Min(curve)); k != tr.ESFrame {
				t.Errorf("%s #%d: smallest volume at frame %d, ES frame %d", ph, i, k, tr.ESFrame)
			}
			if math.Abs(curve[0]-tr.EDV) > 0.01*tr.EDV || math.Abs(curve[tr.ESFrame]-tr.ESV) > 0.01*tr.ESV {
				t.Errorf("%s #%d: curve %.1f/%.1f vs EDV/ESV %.1f/%.1f", ph, i, curve[0], curve[tr.ESFrame], tr.EDV, tr.ESV)
			}
			edvi := tr.EDV / s.BSA()
			switch ph {
			case DCM:
				if edvi < 110 || edvi > 175 {
					t.Errorf("DCM #%d: EDVi %.0f", i, edvi)
				}
			case HCM:
				if tr.WallThickness < 15 || tr.WallThickness > 26.5 {
					t.Errorf("HCM #%d: maximal wall %.1f mm", i, tr.WallThickness)
				}
			case Effusion:
				if tr.EffusionMM < 6 || tr.EffusionMM > 22 {
					t.Errorf("effusion #%d: %.1f mm", i, tr.EffusionMM)
				}
			}
			if tr.RVEDV < 50 || tr.RVEDV > 400 || tr.RVEF < 25 || tr.RVEF > 70 {
				t.Errorf("%s #%d: RV EDV %.0f mL, RVEF %.0f %%", ph, i, tr.RVEDV, tr.RVEF)
			}
		}
	}
}

func TestNewSubjectErrors(t *testing.T) {
	for _, o := range []SubjectOptions{{Phenotype: "amyloid"}, {Frames: 3}, {SliceSpacing: 30}} {
		if _, err := NewSubject(1, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
