package phantom_test

import (
	"math"
	"path/filepath"
	"sort"
	"testing"
)

func sub3(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func norm3(a [3]float64) float64      { return math.Sqrt(dot3(a, a)) }
func cross3(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// TestGeometry reads every header back and checks the geometry the tags
// describe: orthonormal orientations; SAX positions that step along the
// slice normal (Row × Col) by SpacingBetweenSlices; one trigger-time series
// per slice; and long-axis planes that cut the SAX stack through the LV
// (the blood-pool centroid of the mid SAX slice, found in the pixels, lies
// in every long-axis plane).
func TestGeometry(t *testing.T) {
	dir, _ := sharedCohort(t)
	tf := readTruth(t, dir)
	for _, st := range tf.Studies {
		var saxFolders []string
		type lax struct {
			view string
			im   *dcmImage
		}
		var laxPlanes []lax
		for _, se := range st.Series {
			files, _ := filepath.Glob(filepath.Join(dir, "dicom", st.StudyFolder, se.Folder, "*.dcm"))
			if len(files) != se.Files {
				t.Errorf("%s/%s: %d files on disk, truth says %d", st.StudyKey, se.Folder, len(files), se.Files)
			}
			var ims []*dcmImage
			for _, f := range files {
				im, err := readImage(f, false)
				if err != nil {
					t.Fatal(err)
				}
				if im.seriesUID != se.SeriesInstanceUID {
					t.Errorf("%s: SeriesInstanceUID %s, truth %s", f, im.seriesUID, se.SeriesInstanceUID)
				}
				r, c := [3]float64{im.iop[0], im.iop[1], im.iop[2]}, [3]float64{im.iop[3], im.iop[4], im.iop[5]}
				if math.Abs(norm3(r)-1) > 1e-5 || math.Abs(norm3(c)-1) > 1e-5 || math.Abs(dot3(r, c)) > 1e-5 {
					t.Errorf("%s: ImageOrientationPatient %v is not orthonormal", f, im.iop)
				}
				ims = append(ims, im)
			}
			// distinct positions and frames per position
			pos := map[[3]int64][]float64{}
			for _, im := range ims {
				k := [3]int64{int64(math.Round(im.ipp[0] * 100)), int64(math.Round(im.ipp[1] * 100)), int64(math.Round(im.ipp[2] * 100))}
				pos[k] = append(pos[k], im.trigger)
			}
			if len(pos) != se.Slices {
				t.Errorf("%s/%s: %d distinct positions, truth says %d slices", st.StudyKey, se.Folder, len(pos), se.Slices)
			}
			for _, trig := range pos {
				if len(trig) != se.Frames {
					t.Errorf("%s/%s: %d frames at one position, truth says %d", st.StudyKey, se.Folder, len(trig), se.Frames)
				}
				if se.Kind == "cine" {
					sort.Float64s(trig)
					for i := 1; i < len(trig); i++ {
						if trig[i] <= trig[i-1] {
							t.Errorf("%s/%s: trigger times not distinct: %v", st.StudyKey, se.Folder, trig)
							break
						}
					}
					if trig[0] != 0 {
						t.Errorf("%s/%s: first trigger time %v, want 0 (ED at the R wave)", st.StudyKey, se.Folder, trig[0])
					}
				}
			}
			switch se.View {
			case "SAX":
				saxFolders = append(saxFolders, se.Folder)
			case "4CH", "3CH", "2CH":
				laxPlanes = append(laxPlanes, lax{se.View, ims[0]})
			}
		}
		// SAX stack: every slice has the same orientation and positions step
		// along the normal by the slice spacing.
		stack := readSAX(t, dir, st.StudyFolder, saxFolders)
		first := stack.slices[0][0]
		n := first.normal()
		for i, sl := range stack.slices {
			for _, im := range sl {
				for k := range im.iop {
					if math.Abs(im.iop[k]-first.iop[k]) > 1e-6 {
						t.Fatalf("%s: SAX slices differ in orientation: %v vs %v", st.StudyKey, im.iop, first.iop)
					}
				}
			}
			if i == 0 {
				continue
			}
			d := sub3(sl[0].ipp, stack.slices[i-1][0].ipp)
			if off := norm3(cross3(d, n)); off > 0.01 {
				t.Errorf("%s: slice %d position step %v leaves the normal %v by %.3f mm", st.StudyKey, i, d, n, off)
			}
			if step := math.Abs(dot3(d, n)); math.Abs(step-first.spacingSlice) > 0.01 {
				t.Errorf("%s: slice %d steps %.3f mm along the normal, SpacingBetweenSlices %.3f", st.StudyKey, i, step, first.spacingSlice)
			}
		}
		if len(stack.slices) < 8 || len(stack.slices) > 12 {
			t.Errorf("%s: %d SAX slices, want 8–12", st.StudyKey, len(stack.slices))
		}
		// SliceLocation is monotonic along the stack.
		sign := 0.0
		for i := 1; i < len(stack.slices); i++ {
			d := stack.slices[i][0].sliceLoc - stack.slices[i-1][0].sliceLoc
			if d == 0 || (sign != 0 && math.Signbit(d) != math.Signbit(sign)) {
				t.Errorf("%s: SliceLocation not strictly monotonic along the stack", st.StudyKey)
				break
			}
			sign = d
		}
		// Long-axis planes pass through the LV blood pool of the mid slice.
		m := measureLV(t, stack)
		mid := stack.slices[len(stack.slices)/2][0]
		comp := component(mid, m.thr, 10/mid.spacing[0], 1<<20)
		var cr, cc float64
		for _, i := range comp {
			cr += float64(i / mid.cols)
			cc += float64(i % mid.cols)
		}
		centroid := mid.pixelPos(cr/float64(len(comp)), cc/float64(len(comp)))
		if len(laxPlanes) < 3 {
			t.Errorf("%s: %d long-axis series", st.StudyKey, len(laxPlanes))
		}
		for _, lx := range laxPlanes {
			ln := lx.im.normal()
			if d := math.Abs(dot3(sub3(centroid, lx.im.ipp), ln)); d > 4 {
				t.Errorf("%s: %s plane misses the mid-SAX LV blood pool centroid by %.1f mm", st.StudyKey, lx.view, d)
			}
			if c := math.Abs(dot3(ln, n)); c > 0.1 {
				t.Errorf("%s: %s plane is not parallel to the SAX normal (|cos| = %.3f)", st.StudyKey, lx.view, c)
			}
		}
	}
}
