package phantom_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/cmrfm/cmrfm/phantom"
)

// The shared cohort of the read-back tests: 15 studies covering every
// phenotype and vendor, generated once per test binary.
var cohort = struct {
	once sync.Once
	dir  string
	c    *phantom.Cohort
	err  error
}{}

func sharedCohort(t testing.TB) (string, *phantom.Cohort) {
	t.Helper()
	cohort.once.Do(func() {
		dir, err := os.MkdirTemp("", "phantom-test-*")
		if err != nil {
			cohort.err = err
			return
		}
		cohort.dir = dir
		cohort.c, cohort.err = phantom.Generate(context.Background(), phantom.Options{Studies: 15, Out: dir, Seed: 7, Workers: 2})
	})
	if cohort.err != nil {
		t.Fatal(cohort.err)
	}
	return cohort.dir, cohort.c
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cohort.dir != "" {
		os.RemoveAll(cohort.dir)
	}
	os.Exit(code)
}

// otsu returns Otsu's threshold of v (256-bin histogram).
func otsu(v []float64) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	const nb = 256
	var h [nb]float64
	for _, x := range v {
		h[min(int((x-lo)/(hi-lo)*nb), nb-1)]++
	}
	var sum, sumB, wB float64
	for i := range h {
		sum += float64(i) * h[i]
	}
	best, bestT := -1.0, 0
	n := float64(len(v))
	for i := range h {
		wB += h[i]
		if wB == 0 || wB == n {
			continue
		}
		sumB += float64(i) * h[i]
		mB, mF := sumB/wB, (sum-sumB)/(n-wB)
		if b := wB * (n - wB) * (mB - mF) * (mB - mF); b > best {
			best, bestT = b, i
		}
	}
	return lo + (float64(bestT)+1)/nb*(hi-lo)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// component returns the 4-connected component of pixels ≥ thr containing
// the bright pixel nearest the image centre (within maxDist pixels), or nil.
func component(im *dcmImage, thr, maxDist float64, limit int) []int {
	rows, cols := im.rows, im.cols
	cr, cc := float64(rows-1)/2, float64(cols-1)/2
	seed, bestD := -1, math.Inf(1)
	for r := int(cr - maxDist - 1); r <= int(cr+maxDist+1); r++ {
		for c := int(cc - maxDist - 1); c <= int(cc+maxDist+1); c++ {
			if r < 0 || c < 0 || r >= rows || c >= cols || im.pix[r*cols+c] < thr {
				continue
			}
			if d := math.Hypot(float64(r)-cr, float64(c)-cc); d <= maxDist && d < bestD {
				seed, bestD = r*cols+c, d
			}
		}
	}
	if seed < 0 {
		return nil
	}
	seen := map[int]bool{seed: true}
	queue := []int{seed}
	for q := 0; q < len(queue); q++ {
		i := queue[q]
		r, c := i/cols, i%cols
		for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			rr, cc := r+d[0], c+d[1]
			if rr < 0 || cc < 0 || rr >= rows || cc >= cols {
				continue
			}
			j := rr*cols + cc
			if !seen[j] && im.pix[j] >= thr {
				seen[j] = true
				queue = append(queue, j)
				if len(queue) > limit {
					return queue
				}
			}
		}
	}
	return queue
}

// ring returns the pixels at 4-connected distance 1..width outside comp.
func ring(im *dcmImage, comp []int, width int) []int {
	if width <= 0 {
		return nil
	}
	in := make(map[int]bool, len(comp))
	for _, i := range comp {
		in[i] = true
	}
	front := comp
	var out []int
	for k := 0; k < width; k++ {
		var next []int
		for _, i := range front {
			r, c := i/im.cols, i%im.cols
			for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
				rr, cc := r+d[0], c+d[1]
				if rr < 0 || cc < 0 || rr >= im.rows || cc >= im.cols {
					continue
				}
				j := rr*im.cols + cc
				if !in[j] {
					in[j] = true
					next = append(next, j)
				}
			}
		}
		out = append(out, next...)
		front = next
	}
	return out
}

// lvMeasurement is the LV blood pool measured from the pixels.
type lvMeasurement struct {
	thr, blood, myo float64
	vol             []float64 // mL per frame
	edv, esv, ef    float64
	esFrame         int
}

// measureLV segments the LV blood pool of a SAX stack by thresholding,
// the way a reader would with a threshold tool: a global blood/myocardium
// threshold (midpoint of the two intensities), in every slice the bright
// component at the LV axis (the image centre), accepted only when
// myocardium surrounds most of it (the reader's rule for basal slices, which
// rejects the left atrium) and, after end-diastole, when it is not larger
// than at end-diastole, and when solid (its centroid inside it). Volume = Σ area × slice spacing; ED is the frame
// at the R wave (trigger time 0), ES the smallest volume.
func measureLV(t testing.TB, st *saxStack) *lvMeasurement {
	t.Helper()
	nS, nF := len(st.slices), len(st.slices[0])
	for _, s := range st.slices {
		if len(s) != nF {
			t.Fatalf("SAX slices have %d and %d frames", nF, len(s))
		}
	}
	spacing := median(diffs(st.pos))
	mid := st.slices[nS/2-1][0]
	px := mid.spacing[0] * mid.spacing[1]
	maxSeed := 10 / mid.spacing[0]
	// ROI for the threshold: 60 mm about the centre of the mid slice at ED.
	var roi []float64
	for r := 0; r < mid.rows; r++ {
		for c := 0; c < mid.cols; c++ {
			if math.Hypot(float64(r)-float64(mid.rows-1)/2, float64(c)-float64(mid.cols-1)/2)*mid.spacing[0] < 60 {
				roi = append(roi, mid.pix[r*mid.cols+c])
			}
		}
	}
	m := &lvMeasurement{}
	thr0 := otsu(roi)
	comp := component(mid, thr0, maxSeed, 1<<20)
	if comp == nil {
		t.Fatalf("no blood pool at the centre of the mid slice")
	}
	var b, my []float64
	for _, i := range comp {
		b = append(b, mid.pix[i])
	}
	for _, i := range ring(mid, comp, 3)[len(ring(mid, comp, 1)):] {
		my = append(my, mid.pix[i])
	}
	m.blood, m.myo = median(b), median(my)
	m.thr = (m.blood + m.myo) / 2
	lowBand := 0.15 * m.blood
	limit := int(150e2 / px) // 150 cm²
	k1 := max(1, int(math.Ceil(2/mid.spacing[0])))
	k2 := max(k1+1, int(math.Round(4.5/mid.spacing[0])))
	edArea := make([]float64, nS)
	m.vol = make([]float64, nF)
	// area returns the LV blood-pool area of slice s at frame f, or 0.
	area := func(s, f int) float64 {
		im := st.slices[s][f]
		comp := component(im, m.thr, maxSeed, limit)
		if comp == nil || len(comp) > limit {
			return 0
		}
		// A blood pool is solid: its centroid lies inside it (a ring of
		// pericardial fluid around the apical cap has it in the hole).
		var sr, sc float64
		in := make(map[int]bool, len(comp))
		for _, i := range comp {
			sr += float64(i / im.cols)
			sc += float64(i % im.cols)
			in[i] = true
		}
		if !in[int(math.Round(sr/float64(len(comp))))*im.cols+int(math.Round(sc/float64(len(comp))))] {
			return 0
		}
		// the ring ~2–4.5 mm out: past the partial-volume edge and any
		// thin dark line (pericardium, fat–water boundary)
		rg := ring(im, comp, k2)[len(ring(im, comp, k1-1)):]
		myoCount := 0
		for _, i := range rg {
			if v := im.pix[i]; v >= lowBand && v < m.thr {
				myoCount++
			}
		}
		if float64(myoCount) < 0.6*float64(len(rg)) {
			return 0 // not enclosed by myocardium: atrium or outflow
		}
		return float64(len(comp)) * px
	}
	// The LV is traced from the mid slice toward both ends: a slice whose
	// pool is rejected, or more than 30 % larger than its neighbour toward
	// the middle, ends the LV in that direction (nothing beyond the apex
	// or the base is ventricle).
	midS := nS / 2
	for f := 0; f < nF; f++ {
		areas := make([]float64, nS)
		areas[midS] = area(midS, f)
		for _, dir := range []int{-1, 1} {
			prev := areas[midS]
			for s := midS + dir; s >= 0 && s < nS && prev > 0; s += dir {
				a := area(s, f)
				if a > 1.3*prev+10*px || (f > 0 && a > 1.15*edArea[s]+5*px) {
					a = 0
				}
				areas[s] = a
				prev = a
			}
		}
		for s, a := range areas {
			if f == 0 {
				edArea[s] = a
			}
			m.vol[f] += a * spacing / 1000
		}
	}
	m.edv = m.vol[0]
	m.esv, m.esFrame = m.vol[0], 0
	for f, v := range m.vol {
		if v < m.esv {
			m.esv, m.esFrame = v, f
		}
	}
	m.ef = 100 * (m.edv - m.esv) / m.edv
	return m
}

func diffs(p []float64) []float64 {
	var d []float64
	for i := 1; i < len(p); i++ {
		d = append(d, math.Abs(p[i]-p[i-1]))
	}
	return d
}

// TestPixelLVEF is the independent check that the pixels carry the label:
// LVEF measured from the DICOM files by thresholding is within 5 points of
// labels.csv for every study, and EDV within 10 %.
func TestPixelLVEF(t *testing.T) {
	dir, _ := sharedCohort(t)
	tf := readTruth(t, dir)
	labels := readLabels(t, dir)
	seen := map[string]bool{}
	for i, st := range tf.Studies {
		lab := labels[i]
		if lab["study_key"] != st.StudyKey {
			t.Fatalf("labels.csv row %d is %s, truth.json has %s", i+1, lab["study_key"], st.StudyKey)
		}
		var folders []string
		for _, se := range st.Series {
			if se.View == "SAX" {
				folders = append(folders, se.Folder)
			}
		}
		stack := readSAX(t, dir, st.StudyFolder, folders)
		m := measureLV(t, stack)
		lvef, _ := strconv.ParseFloat(lab["lvef"], 64)
		edv, _ := strconv.ParseFloat(lab["edv_ml"], 64)
		esv, _ := strconv.ParseFloat(lab["esv_ml"], 64)
		t.Logf("%s %-8s %-7s slices %2d: LVEF label %5.1f pixels %5.1f | EDV %6.1f/%6.1f ESV %6.1f/%6.1f | ES frame %d/%d",
			st.StudyKey, st.Phenotype, st.Vendor, len(stack.slices), lvef, m.ef, edv, m.edv, esv, m.esv, st.ESFrame, m.esFrame)
		if math.Abs(m.ef-lvef) > 5 {
			t.Errorf("%s (%s): LVEF from pixels %.1f, label %.1f", st.StudyKey, st.Phenotype, m.ef, lvef)
		}
		if math.Abs(m.edv-edv) > 0.1*edv {
			t.Errorf("%s (%s): EDV from pixels %.1f mL, label %.1f", st.StudyKey, st.Phenotype, m.edv, edv)
		}
		seen[st.Phenotype] = true
		seen[st.Vendor] = true
	}
	for _, k := range []string{"normal", "dcm", "hcm", "infarct", "effusion", "siemens", "ge", "philips"} {
		if !seen[k] {
			t.Errorf("cohort has no %s study", k)
		}
	}
	_ = filepath.Join
}
