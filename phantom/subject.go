package phantom

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Phenotype is one of the cohort's disease classes (the labels.csv columns).
type Phenotype string

// The phenotypes, with the ranges sampled for them (LVEF in %, see docs/phantom.md).
const (
	Normal   Phenotype = "normal"   // LVEF 56–72, normal size and wall
	DCM      Phenotype = "dcm"      // dilated cardiomyopathy: LVEDVi 115–170 mL/m², LVEF 15–35
	HCM      Phenotype = "hcm"      // hypertrophic: maximal wall 15–26 mm, LVEF 62–80
	Infarct  Phenotype = "infarct"  // prior infarction: akinetic thinned segment, LVEF 30–50
	Effusion Phenotype = "effusion" // pericardial effusion 6–22 mm around a normal heart
)

// Phenotypes lists the phenotypes in labels.csv column order.
func Phenotypes() []Phenotype { return []Phenotype{Normal, DCM, HCM, Infarct, Effusion} }

// SubjectOptions chooses a subject to sample. The zero value is a normal
// subject imaged with 25 frames and 10 mm slice spacing.
type SubjectOptions struct {
	// Phenotype is the primary disease class ("" means Normal).
	Phenotype Phenotype
	// WithEffusion adds a pericardial effusion to a non-normal phenotype
	// (Effusion implies it).
	WithEffusion bool
	// Frames is the number of cardiac phases per cycle (0 means 25).
	// End-systole is placed exactly on a frame.
	Frames int
	// SliceSpacing is the SAX slice spacing in mm (0 means 10). The base
	// descends by exactly one spacing at end-systole, so the base plane sits
	// on a slab boundary at both ED and ES (see docs/phantom.md).
	SliceSpacing float64
}

// Truth is the ground truth of one subject, computed from the analytic model.
type Truth struct {
	LVEF          float64 `json:"lvef"`              // %
	EDV           float64 `json:"edv_ml"`            // mL
	ESV           float64 `json:"esv_ml"`            // mL
	WallThickness float64 `json:"wall_thickness_mm"` // maximal ED short-axis wall thickness
	LVMass        float64 `json:"lv_mass_g"`         // ED myocardial volume × 1.05 g/mL
	RVEDV         float64 `json:"rv_edv_ml"`
	RVESV         float64 `json:"rv_esv_ml"`
	RVEF          float64 `json:"rvef"`
	EffusionMM    float64 `json:"effusion_mm"`
	HeartRate     float64 `json:"heart_rate_bpm"`
	ESFrame       int     `json:"es_frame"` // 0-based frame index of end-systole (ED is frame 0)
	// InfarctTerritory is LAD, RCA or LCx for infarcts, else "".
	InfarctTerritory string `json:"infarct_territory,omitempty"`
	// HypertrophySite is "septal" or "apical" for HCM, else "".
	HypertrophySite string `json:"hypertrophy_site,omitempty"`
}

// Subject is one synthetic individual: demographics, a heart model placed in
// a body, and its ground truth.
type Subject struct {
	Phenotype    Phenotype
	Effusion     bool
	Sex          string // "M" or "F"
	Age          int    // years
	HeightCm     float64
	WeightKg     float64
	Frames       int
	SliceSpacing float64

	h      *heart
	body   body
	origin Vec3 // ED base-plane centre on the LV axis (patient coordinates)
	ex     Vec3 // anterior direction in the short-axis plane
	ey     Vec3 // lateral direction in the short-axis plane
	ew     Vec3 // long axis, base → apex
	truth  Truth
	// angles (degrees, short-axis convention) of the planes through the LV axis
	theta4CH, theta2CH, theta3CH float64
	thetaRV                      float64
}

// BSA returns the Mosteller body-surface area in m².
func (s *Subject) BSA() float64 { return math.Sqrt(s.HeightCm * s.WeightKg / 3600) }

// Truth returns the subject's ground truth.
func (s *Subject) Truth() Truth { return s.truth }

// NewSubject samples a subject from seed. The same seed and options always
// give the same subject.
func NewSubject(seed uint64, o SubjectOptions) (*Subject, error) {
	return newSubject(rand.New(rand.NewPCG(seed, 0x5eed50b7ec7)), o, nil)
}

func uni(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// demographics are a patient's sex, age and body size; follow-up studies of
// one patient share them.
type demographics struct {
	Sex      string
	Age      int
	HeightCm float64
	WeightKg float64
}

func sampleDemographics(r *rand.Rand, ph Phenotype) demographics {
	var d demographics
	male := r.IntN(2) == 0
	d.Sex = "F"
	if male {
		d.Sex = "M"
	}
	ages := map[Phenotype][2]int{Normal: {19, 70}, DCM: {28, 78}, HCM: {18, 72}, Infarct: {44, 86}, Effusion: {22, 80}}[ph]
	d.Age = ages[0] + r.IntN(ages[1]-ages[0]+1)
	if male {
		d.HeightCm, d.WeightKg = uni(r, 165, 192), uni(r, 64, 112)
	} else {
		d.HeightCm, d.WeightKg = uni(r, 154, 178), uni(r, 50, 96)
	}
	d.HeightCm, d.WeightKg = math.Round(d.HeightCm), math.Round(d.WeightKg)
	return d
}

func newSubject(r *rand.Rand, o SubjectOptions, d *demographics) (*Subject, error) {
	if o.Phenotype == "" {
		o.Phenotype = Normal
	}
	known := false
	for _, p := range Phenotypes() {
		known = known || p == o.Phenotype
	}
	if !known {
		return nil, fmt.Errorf("phantom: unknown phenotype %q (want one of %v)", o.Phenotype, Phenotypes())
	}
	if o.Frames == 0 {
		o.Frames = 25
	}
	if o.Frames < 8 || o.Frames > 200 {
		return nil, fmt.Errorf("phantom: %d frames per cycle: want 8–200", o.Frames)
	}
	if o.SliceSpacing == 0 {
		o.SliceSpacing = 10
	}
	if o.SliceSpacing < 5 || o.SliceSpacing > 15 {
		return nil, fmt.Errorf("phantom: slice spacing %g mm: want 5–15", o.SliceSpacing)
	}
	ph := o.Phenotype
	s := &Subject{Phenotype: ph, Effusion: ph == Effusion || (o.WithEffusion && ph != Normal),
		Frames: o.Frames, SliceSpacing: o.SliceSpacing}
	if d == nil {
		dd := sampleDemographics(r, ph)
		d = &dd
	}
	s.Sex, s.Age, s.HeightCm, s.WeightKg = d.Sex, d.Age, d.HeightCm, d.WeightKg
	male := s.Sex == "M"
	bsa := s.BSA()

	h := &heart{}
	s.h = h
	hr := map[Phenotype][2]float64{Normal: {54, 84}, DCM: {66, 100}, HCM: {52, 80}, Infarct: {55, 86}, Effusion: {68, 104}}[ph]
	s.truth.HeartRate = math.Round(uni(r, hr[0], hr[1]))
	tES := uni(r, 0.33, 0.38)
	if ph == DCM {
		tES = uni(r, 0.36, 0.42)
	}
	esFrame := int(math.Round(tES * float64(o.Frames)))
	h.tES = float64(esFrame) / float64(o.Frames)
	s.truth.ESFrame = esFrame

	// LV shape: k = long semi-axis / radius, cf = centre depth / long semi-axis.
	var k, edvi, ef float64
	switch ph {
	case DCM:
		k, edvi, ef = uni(r, 1.8, 2.1), uni(r, 115, 165), uni(r, 15, 35)
		h.wall = uni(r, 5.5, 7.5)
	case HCM:
		k, edvi, ef = uni(r, 2.3, 2.7), uni(r, 55, 80), uni(r, 62, 80)
		h.wall = uni(r, 9, 12)
	case Infarct:
		k, edvi, ef = uni(r, 2.1, 2.5), uni(r, 85, 120), uni(r, 30, 50)
		h.wall = uni(r, 8, 10)
	default:
		k, ef = uni(r, 2.3, 2.7), uni(r, 56, 72)
		if male {
			edvi, h.wall = uni(r, 68, 100), uni(r, 8, 10.5)
		} else {
			edvi, h.wall = uni(r, 60, 90), uni(r, 7, 9)
		}
	}
	cf := uni(r, 0.25, 0.38)
	h.ellip = uni(r, 0, 0.06)
	te := uni(r, 0, math.Pi)
	h.cos2e, h.sin2e = math.Cos(2*te), math.Sin(2*te)
	h.wallApex = 0.7 * h.wall
	h.descent = o.SliceSpacing
	h.apexMotion = uni(r, 1, 3)
	if ph == DCM {
		h.apexMotion = uni(r, 0, 1)
	}
	h.twistB, h.twistA = -uni(r, 3, 6)*math.Pi/180, uni(r, 8, 14)*math.Pi/180
	if ph == DCM || ph == Infarct {
		h.twistB *= 0.4
		h.twistA *= 0.4
	}
	switch ph {
	case HCM:
		if r.Float64() < 0.2 {
			s.truth.HypertrophySite = "apical"
			h.bulgeR = newRegion(0, 180, 0.55, 1.4, 0.25)
			h.bulgeR.allAround = true
		} else {
			s.truth.HypertrophySite = "septal"
			h.bulgeR = newRegion(uni(r, -100, -65), uni(r, 60, 85), -0.3, uni(r, 0.6, 0.8), 0.25)
		}
	case Infarct:
		h.thin = uni(r, 0.45, 0.6)
		switch r.IntN(3) {
		case 0:
			s.truth.InfarctTerritory = "LAD"
			h.inf = newRegion(uni(r, -45, -15), uni(r, 50, 65), uni(r, 0.3, 0.45), 1.3, 0.15)
		case 1:
			s.truth.InfarctTerritory = "RCA"
			h.inf = newRegion(uni(r, 170, 195), uni(r, 40, 55), -0.3, uni(r, 0.6, 0.8), 0.15)
		default:
			s.truth.InfarctTerritory = "LCx"
			h.inf = newRegion(uni(r, 110, 135), uni(r, 40, 55), -0.3, uni(r, 0.65, 0.85), 0.15)
		}
	}
	// Size the ED cavity to the sampled indexed EDV: volume scales as radius³.
	setShape := func(rad float64) {
		h.rEndo = rad
		h.lEndo = k * rad
		h.cEndo = cf * h.lEndo
		h.a0 = h.cEndo + h.lEndo
		h.invA0 = 1 / h.a0
	}
	setShape(1)
	p0, _, _ := h.lvMoments(quadThetaCoarse, quadWCoarse)
	edvTarget := edvi * bsa * 1000
	setShape(math.Cbrt(edvTarget / p0))
	if ph == HCM {
		// bulge so that the maximal thickness hits the sampled value
		target := uni(r, 15, 26)
		h.bulge = target - h.wall
		for it := 0; it < 3; it++ {
			got := h.frameAt(0).maxWallThickness()
			h.bulge += target - got
		}
	}
	// Radial shortening for the sampled LVEF: the ES volume is quadratic in it.
	p0, p1, p2 := h.lvMoments(quadThetaFine, quadWFine)
	sES := (h.a0 - h.descent - h.apexMotion) / h.a0
	esvT := p0 * (1 - ef/100) / sES
	disc := p1*p1 - p2*(p0-esvT)
	if disc < 0 {
		disc = 0
	}
	h.fr = clamp((p1-math.Sqrt(disc))/p2, 0, 0.75)

	// RV: centre beyond the septum, crescent wrapped around it.
	s.thetaRV = uni(r, -85, -68)
	thr := s.thetaRV * math.Pi / 180
	rEpi := h.rEndo + h.wall
	rv := &h.rv
	rv.cosA, rv.sinA = math.Cos(thr), math.Sin(thr)
	rv.wall = uni(r, 3, 4)
	rvef := uni(r, 52, 65)
	rvedvi := map[bool][2]float64{true: {70, 105}, false: {60, 92}}[male]
	if ph == DCM {
		rvef = uni(r, 30, 52)
		rvedvi = [2]float64{75, 130}
	}
	rvTarget := uni(r, rvedvi[0], rvedvi[1]) * bsa * 1000
	ratioB := uni(r, 2.0, 2.4)
	dOff := uni(r, 0.85, 1.0)
	setRV := func(scale float64) {
		rv.a = scale * rEpi * 0.62
		rv.b = rv.a * ratioB
		off := dOff * rEpi * math.Sqrt(scale)
		rv.cx, rv.cy = off*rv.cosA, off*rv.sinA
		rv.l = 0.55 * h.a0 * math.Cbrt(scale)
		rv.c = 0.3 * h.a0
	}
	lo, hi := 0.4, 3.0
	for it := 0; it < 40; it++ {
		mid := (lo + hi) / 2
		setRV(mid)
		if h.frameAt(0).rvVolume(quadThetaCoarse, quadWCoarse) < rvTarget {
			lo = mid
		} else {
			hi = mid
		}
	}
	setRV((lo + hi) / 2)
	rvedv := h.frameAt(0).rvVolume(quadThetaCoarse, quadWCoarse)
	lo, hi = 0, 0.7
	esRV := h.frameAt(h.tES)
	for it := 0; it < 40; it++ {
		mid := (lo + hi) / 2
		h.rv.fr = mid
		esRV = h.frameAt(h.tES)
		if esRV.rvVolume(quadThetaCoarse, quadWCoarse) > rvedv*(1-rvef/100) {
			lo = mid
		} else {
			hi = mid
		}
	}
	h.rv.fr = (lo + hi) / 2

	// Atria and great vessels.
	laSize := uni(r, 17, 23)
	if ph == DCM {
		laSize = uni(r, 23, 29)
	}
	thLA := uni(r, 110, 150) * math.Pi / 180
	dLA := uni(r, 5, 9)
	h.la = atrium{cx: dLA * math.Cos(thLA), cy: dLA * math.Sin(thLA), a: laSize, b: laSize * uni(r, 0.9, 1.15), top: uni(r, 45, 60)}
	raOff := math.Hypot(rv.cx, rv.cy) + 8
	h.ra = atrium{cx: raOff * math.Cos(thr-0.15), cy: raOff * math.Sin(thr-0.15), a: uni(r, 18, 23), b: uni(r, 18, 23), top: uni(r, 40, 52)}
	thAo := uni(r, -68, -52) * math.Pi / 180
	rBase := h.rEndo * math.Sqrt(1-cf*cf)
	h.ao = tube{start: Vec3{0.45 * rBase * math.Cos(thAo), 0.45 * rBase * math.Sin(thAo), 0}, length: 50, radius: uni(r, 12, 15.5)}
	thPA := uni(r, -40, -25) * math.Pi / 180
	paOff := rEpi + 6
	h.pa = tube{start: Vec3{paOff * math.Cos(thPA), paOff * math.Sin(thPA), 4}, length: 40, radius: uni(r, 11, 14)}
	if s.Effusion {
		h.effusion = uni(r, 6, 22)
	}
	h.fatThin, h.fatBase = uni(r, 0.5, 2), uni(r, 3.5, 6)
	h.setBounds()

	s.theta4CH = s.thetaRV - uni(r, 12, 22)
	s.theta2CH = uni(r, -8, 8)
	s.theta3CH = thAo * 180 / math.Pi

	s.place(r)
	s.computeTruth()
	return s, nil
}

// place orients the heart in the body and builds the body around it.
func (s *Subject) place(r *rand.Rand) {
	// The long axis points left, anterior and inferior. The "anterior" wall
	// (θ = 0) faces the chest wall and head: the superior direction projected
	// into the short-axis plane.
	s.ew = Vec3{uni(r, 0.55, 0.7), -uni(r, 0.5, 0.65), -uni(r, 0.35, 0.5)}.Unit()
	ant := Vec3{0, -0.25, 1}
	s.ex = ant.Sub(s.ew.Scale(ant.Dot(s.ew))).Unit()
	s.ey = s.ew.Cross(s.ex)
	if s.ey[0] < 0 { // lateral points to the patient's left (+x)
		s.ey = s.ey.Scale(-1)
	}
	// The LV mid-cavity sits near the magnet isocentre.
	mid := Vec3{uni(r, -8, 8), uni(r, -8, 8), uni(r, -8, 8)}
	s.origin = mid.Sub(s.ew.Scale(s.h.a0 / 2))
	// Great vessels: the ascending aorta runs superior, slightly right and
	// anterior; the pulmonary trunk superior, posterior and left.
	toH := func(v Vec3) Vec3 { v = v.Unit(); return Vec3{v.Dot(s.ex), v.Dot(s.ey), v.Dot(s.ew)} }
	s.h.ao.dir = toH(Vec3{-uni(r, 0.15, 0.35), -uni(r, 0.1, 0.3), 1})
	s.h.pa.dir = toH(Vec3{uni(r, 0.2, 0.4), uni(r, 0.4, 0.6), 0.8})
	b := &s.body
	b.ax, b.ay = uni(r, 150, 185), uni(r, 102, 126)
	b.cx, b.cy = mid[0]-uni(r, 25, 40), mid[1]+b.ay-uni(r, 95, 110)
	b.subc, b.wall = uni(r, 8, 22), uni(r, 10, 16)
	b.spineR = 19
	b.spineY = b.ay - b.subc - b.wall - 52
	b.aortaX, b.aortaY, b.aortaR = 22, b.spineY-22, uni(r, 10, 13)
	apex := s.origin.Add(s.ew.Scale(s.h.a0 + s.h.wallApex))
	b.domeZ = apex[2] - uni(r, 4, 12)
	b.domeX, b.domeY, b.domeK = b.cx-10, b.cy, 1/uni(r, 260, 360)
	b.medX = uni(r, -5, 10)
	b.medTopZ = s.fromHeart(Vec3{0, 0, -math.Max(s.h.la.top, s.h.ra.top)})[2] - 10
}

// computeTruth integrates the analytic model for the subject's labels.
func (s *Subject) computeTruth() {
	h := s.h
	ed, es := h.frameAt(0), h.frameAt(h.tES)
	t := &s.truth
	t.EDV = ed.lvVolume(quadThetaFine, quadWFine) / 1000
	t.ESV = es.lvVolume(quadThetaFine, quadWFine) / 1000
	t.LVEF = 100 * (t.EDV - t.ESV) / t.EDV
	t.WallThickness = ed.maxWallThickness()
	t.LVMass = 1.05 * ed.lvMyoVolume(quadThetaCoarse, quadWFine) / 1000
	t.RVEDV = ed.rvVolume(quadThetaFine, quadWFine) / 1000
	t.RVESV = es.rvVolume(quadThetaFine, quadWFine) / 1000
	t.RVEF = 100 * (t.RVEDV - t.RVESV) / t.RVEDV
	t.EffusionMM = h.effusion
}

// VolumeCurve returns the LV cavity volume (mL) at each of the subject's
// frames, from the analytic model.
func (s *Subject) VolumeCurve() []float64 {
	out := make([]float64, s.Frames)
	for i := range out {
		out[i] = s.h.frameAt(float64(i)/float64(s.Frames)).lvVolume(quadThetaCoarse, quadWCoarse) / 1000
	}
	return out
}

// toHeart maps a patient-coordinate point to heart coordinates (x anterior,
// y lateral, w from the ED base plane toward the apex).
func (s *Subject) toHeart(p Vec3) Vec3 {
	d := p.Sub(s.origin)
	return Vec3{d.Dot(s.ex), d.Dot(s.ey), d.Dot(s.ew)}
}

// fromHeart maps heart coordinates to patient coordinates.
func (s *Subject) fromHeart(q Vec3) Vec3 {
	return s.origin.Add(s.ex.Scale(q[0])).Add(s.ey.Scale(q[1])).Add(s.ew.Scale(q[2]))
}

// dirAt returns the patient-coordinate unit vector at short-axis angle deg.
func (s *Subject) dirAt(deg float64) Vec3 {
	a := deg * math.Pi / 180
	return s.ex.Scale(math.Cos(a)).Add(s.ey.Scale(math.Sin(a)))
}
