package phantom

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/phantom/internal/dcmenc"
)

// SOP classes written.
const (
	MRImageStorage         = "1.2.840.10008.5.1.4.1.1.4"
	EnhancedMRImageStorage = "1.2.840.10008.5.1.4.1.1.4.1"
)

// seriesSpec is one series to acquire.
type seriesSpec struct {
	number   int
	desc     string
	protocol string
	view     string // truth view
	kind     string // cine, scout, lge
	planes   []Plane
	times    []float64
	contrast Contrast
	repeatOf int
	saxSlice *int
	start    time.Time
	uid      string
	folder   string
}

// acquisition holds a study's scanner settings.
type acquisition struct {
	field, tr, te, flip, bw float64
	ti                      float64
	gain, slope             float64
	snr                     float64
	myoBlood                float64
	model, software, coil   string
	station, serial         string
	rr                      float64 // nominal RR interval, ms
	frames                  int
	rows, cols              int
	fov                     float64
	thickness, gap          float64
}

// studyWriter renders and writes studies; one per worker.
type studyWriter struct {
	o       Options
	pix     []byte         // pixel data buffer
	enc     []byte         // encoded file buffer
	ds      dcmenc.Dataset // per-image data set buffer
	scratch scratch
}

func newStudyWriter(o Options) *studyWriter { return &studyWriter{o: o} }

func round8(v float64) int { return int(math.Round(v/8)) * 8 }

// write renders one study, writes its files and returns its truth.
func (w *studyWriter) write(ctx context.Context, sp *studyPlan) (*StudyTruth, error) {
	r := rand.New(rand.NewPCG(sp.seed, 1))
	v := sp.vendor
	fam := v.families[r.IntN(len(v.families))]
	a := acquisition{}
	a.frames = v.frames[r.IntN(len(v.frames))]
	if w.o.Frames > 0 {
		a.frames = w.o.Frames
	}
	a.cols = v.cols[r.IntN(len(v.cols))]
	if w.o.Matrix > 0 {
		a.cols = w.o.Matrix
	}
	a.rows = max(round8(float64(a.cols)*uni(r, v.rowFrac[0], v.rowFrac[1])), 8)
	a.fov = math.Round(uni(r, v.fov[0], v.fov[1])/10) * 10
	extraApical := r.IntN(2)

	// Slice thickness and gap: the vendor's choices in a random order, the
	// first whose stack covers the LV in at most 12 slices.
	p := sp.patient
	d := p.demog
	d.Age = int(math.Floor(sp.date.Sub(p.birth).Hours() / 24 / 365.25))
	order := r.Perm(len(v.thickGap))
	var subj *Subject
	for _, k := range order {
		tg := v.thickGap[k]
		so := SubjectOptions{Phenotype: p.phenotype, WithEffusion: p.effusion, Frames: a.frames, SliceSpacing: tg[0] + tg[1]}
		s, err := newSubject(rand.New(rand.NewPCG(sp.seed, 2)), so, &d)
		if err != nil {
			return nil, fmt.Errorf("phantom: study %d: %w", sp.index+1, err)
		}
		subj = s
		a.thickness, a.gap = tg[0], tg[1]
		if s.SAXSliceCount(extraApical) <= 12 {
			break
		}
		if extraApical > 0 && s.SAXSliceCount(0) <= 12 {
			extraApical = 0
			break
		}
	}
	truth := subj.Truth()

	a.field = 1.5
	if r.Float64() < 0.4 {
		a.field = 3
	}
	a.tr = math.Round(uni(r, 2.8, 3.6)*100) / 100
	if a.field == 3 {
		a.tr = math.Round(uni(r, 2.6, 3.2)*100) / 100
	}
	a.te = math.Round(a.tr/2*100) / 100
	a.flip = math.Round(uni(r, 50, 70))
	if a.field == 3 {
		a.flip = math.Round(uni(r, 38, 50))
	}
	a.bw = math.Round(uni(r, 850, 1150))
	a.ti = math.Round(uni(r, 240, 320))
	a.gain = uni(r, v.gain[0], v.gain[1])
	a.slope = 1
	if v.slope[1] > 0 {
		a.slope = uni(r, v.slope[0], v.slope[1])
	}
	a.snr = uni(r, v.snr[0], v.snr[1])
	a.myoBlood = uni(r, 0.27, 0.34)
	a.model = v.models[r.IntN(len(v.models))]
	a.software = v.software[r.IntN(len(v.software))]
	a.coil = v.coil[r.IntN(len(v.coil))]
	a.station = fmt.Sprintf("PHI-STN-%02d", r.IntN(40)+1)
	a.serial = fmt.Sprintf("PHI-SN-%05d", r.IntN(90000)+10000)
	a.rr = 60000 / truth.HeartRate

	// Planning.
	laxPl := func() Planning {
		return Planning{Rows: a.rows, Cols: a.cols, FOV: a.fov, RotateDeg: uni(r, -v.rot, v.rot),
			OffsetMM: [2]float64{uni(r, -10, 10), uni(r, -10, 10)}, Thickness: a.thickness}
	}
	saxPl := Planning{Rows: a.rows, Cols: a.cols, FOV: a.fov, RotateDeg: uni(r, -v.saxRot, v.saxRot),
		OffsetMM: [2]float64{uni(r, -4, 4), uni(r, -4, 4)}, Thickness: a.thickness,
		ApexToBase: r.Float64() < v.apexToBase, ExtraApical: extraApical}
	sax := subj.PlanSAX(saxPl)
	stackIdx := make([]int, len(sax)) // base→apex index of each acquired slice
	for i := range sax {
		stackIdx[i] = i
		if saxPl.ApexToBase {
			stackIdx[i] = len(sax) - 1 - i
		}
	}

	studyStart := sp.date.Add(time.Duration(7*60+30+r.IntN(9*60)) * time.Minute).Add(time.Duration(r.IntN(60)) * time.Second)
	clock := studyStart
	var specs []*seriesSpec
	add := func(s *seriesSpec) {
		s.start = clock
		clock = clock.Add(time.Duration(40+r.IntN(100)) * time.Second)
		specs = append(specs, s)
	}
	cineTimes := FrameTimes(a.frames)
	scoutMatrix := 256
	if w.o.Matrix > 0 {
		scoutMatrix = w.o.Matrix
	}
	add(&seriesSpec{desc: v.scout[r.IntN(len(v.scout))], view: "none", kind: "scout",
		planes: subj.planScout(scoutMatrix, math.Round(uni(r, 400, 460)), 15, 3), times: []float64{0.72}, contrast: Cine})
	laxViews := []cine.View{cine.View4CH, cine.View2CH, cine.View3CH}
	r.Shuffle(len(laxViews), func(i, j int) { laxViews[i], laxViews[j] = laxViews[j], laxViews[i] })
	repeat := -1
	if r.Float64() < 0.15 {
		repeat = r.IntN(len(laxViews))
	}
	for i, view := range laxViews {
		pl, err := subj.PlanLAX(view, laxPl())
		if err != nil {
			return nil, err
		}
		desc := fam.lax[view]
		s := &seriesSpec{desc: desc, view: string(view), kind: "cine", planes: []Plane{pl}, times: cineTimes, contrast: Cine}
		add(s)
		if i == repeat {
			add(&seriesSpec{desc: desc, view: string(view), kind: "cine", planes: []Plane{pl}, times: cineTimes, contrast: Cine, repeatOf: -len(specs)})
		}
	}
	if fam.saxPerSlice {
		for i, pl := range sax {
			desc := fam.sax
			if fam.perSliceNumbered {
				desc += itoa(stackIdx[i] + 1)
			}
			k := stackIdx[i]
			add(&seriesSpec{desc: desc, view: "SAX", kind: "cine", planes: []Plane{pl}, times: cineTimes, contrast: Cine, saxSlice: &k})
		}
	} else {
		add(&seriesSpec{desc: fam.sax, view: "SAX", kind: "cine", planes: sax, times: cineTimes, contrast: Cine})
	}
	clock = clock.Add(time.Duration(8+r.IntN(6)) * time.Minute) // contrast wash-in
	add(&seriesSpec{desc: v.lge[r.IntN(len(v.lge))], view: "none", kind: "lge", planes: sax, times: []float64{0.72}, contrast: LGE})

	st := &StudyTruth{
		StudyKey:         fmt.Sprintf("PHI-ACC-%06d%02d", p.index+1, sp.nth),
		PatientID:        p.id,
		PatientName:      p.name,
		StudyInstanceUID: uidFor(int64(sp.seed), "study"),
		StudyDate:        sp.date.Format("20060102"),
		Vendor:           v.key,
		Manufacturer:     v.manufacturer,
		Split:            p.split,
		Phenotype:        p.phenotype,
		Labels:           map[Phenotype]bool{},
		Truth:            truth,
		Sex:              subj.Sex,
		Age:              subj.Age,
		SliceSpacing:     subj.SliceSpacing,
		Frames:           a.frames,
		VolumeCurve:      roundAll(subj.VolumeCurve(), 3),
	}
	st.Labels[p.phenotype] = true
	if subj.Effusion {
		st.Labels[Effusion] = true
	}
	st.StudyFolder = p.id + "_" + st.StudyDate
	studyDir := filepath.Join(w.o.Out, "dicom", st.StudyFolder)
	frameOfRef := uidFor(int64(sp.seed), "frame-of-reference")
	for i, s := range specs {
		s.number = v.seriesBase + i*v.seriesStep
		if s.repeatOf < 0 {
			s.repeatOf = specs[-s.repeatOf-1].number
		}
		s.protocol = s.desc
		s.uid = uidFor(int64(sp.seed), "series", i)
		s.folder = fmt.Sprintf("%04d_%s", s.number, sanitize(s.desc))
	}
	sc := &studyCtx{sp: sp, st: st, subj: subj, a: &a, v: v, frameOfRef: frameOfRef, studyStart: studyStart}
	for _, s := range specs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir := filepath.Join(studyDir, s.folder)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("phantom: %w", err)
		}
		var files int
		var err error
		if w.o.MultiFrame {
			files, err = w.writeEnhanced(sc, s, dir)
		} else {
			files, err = w.writeClassic(sc, s, dir)
		}
		if err != nil {
			return nil, fmt.Errorf("phantom: study %s series %d (%s): %w", st.StudyKey, s.number, s.desc, err)
		}
		st.Series = append(st.Series, SeriesTruth{Folder: s.folder, SeriesInstanceUID: s.uid, SeriesNumber: s.number,
			SeriesDescription: s.desc, View: s.view, Kind: s.kind, Slices: len(s.planes), Frames: len(s.times),
			Files: files, SAXSlice: s.saxSlice, RepeatOf: s.repeatOf, MultiFrame: w.o.MultiFrame})
	}
	st.Report = makeReport(rand.New(rand.NewPCG(sp.seed, 3)), st, subj, &a)
	return st, nil
}

func roundAll(v []float64, prec int) []float64 {
	k := math.Pow(10, float64(prec))
	for i := range v {
		v[i] = math.Round(v[i]*k) / k
	}
	return v
}

// sanitize makes a series description safe as a folder name.
func sanitize(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// studyCtx is what every series of a study shares.
type studyCtx struct {
	sp         *studyPlan
	st         *StudyTruth
	subj       *Subject
	a          *acquisition
	v          *vendor
	frameOfRef string
	studyStart time.Time
}

func da(t time.Time) string { return t.Format("20060102") }
func tm(t time.Time) string { return t.Format("150405") + fmt.Sprintf(".%03d000", t.Nanosecond()/1e6) }

type T = dcmenc.Tag

var tg = dcmenc.T

// commonElements returns the patient, study, equipment and series
// attributes every image of series s carries.
func (sc *studyCtx) commonElements(s *seriesSpec) dcmenc.Dataset {
	a, v, st, subj := sc.a, sc.v, sc.st, sc.subj
	p := sc.sp.patient
	var ds dcmenc.Dataset
	ds.Str(tg(0x0008, 0x0005), "CS", "ISO_IR 100")
	ds.Str(tg(0x0008, 0x0020), "DA", da(sc.studyStart))
	ds.Str(tg(0x0008, 0x0021), "DA", da(s.start))
	ds.Str(tg(0x0008, 0x0030), "TM", tm(sc.studyStart))
	ds.Str(tg(0x0008, 0x0031), "TM", tm(s.start))
	ds.Str(tg(0x0008, 0x0050), "SH", st.StudyKey)
	ds.Str(tg(0x0008, 0x0060), "CS", "MR")
	ds.Str(tg(0x0008, 0x0070), "LO", v.manufacturer)
	ds.Str(tg(0x0008, 0x0080), "LO", "PHI-INST General Hospital")
	ds.Str(tg(0x0008, 0x0090), "PN", "PHI-REF^"+givenNames[sc.sp.index%len(givenNames)])
	ds.Str(tg(0x0008, 0x1010), "SH", a.station)
	ds.Str(tg(0x0008, 0x1030), "LO", "MR CARDIAC MORPHOLOGY AND FUNCTION")
	ds.Str(tg(0x0008, 0x103E), "LO", s.desc)
	ds.Str(tg(0x0008, 0x1070), "PN", "PHI-OP^TECH")
	ds.Str(tg(0x0008, 0x1090), "LO", a.model)
	ds.Str(tg(0x0010, 0x0010), "PN", p.name)
	ds.Str(tg(0x0010, 0x0020), "LO", p.id)
	ds.Str(tg(0x0010, 0x0030), "DA", da(p.birth))
	ds.Str(tg(0x0010, 0x0040), "CS", subj.Sex)
	ds.Str(tg(0x0010, 0x1010), "AS", fmt.Sprintf("%03dY", subj.Age))
	ds.DS(tg(0x0010, 0x1020), subj.HeightCm/100)
	ds.DS(tg(0x0010, 0x1030), subj.WeightKg)
	ds.Str(tg(0x0018, 0x0015), "CS", "HEART")
	ds.Str(tg(0x0018, 0x1000), "LO", a.serial)
	ds.Str(tg(0x0018, 0x1020), "LO", strings.Split(a.software, "\\")...)
	ds.Str(tg(0x0018, 0x1030), "LO", s.protocol)
	ds.Str(tg(0x0018, 0x5100), "CS", "HFS")
	ds.Str(tg(0x0020, 0x000D), "UI", st.StudyInstanceUID)
	ds.Str(tg(0x0020, 0x000E), "UI", s.uid)
	ds.Str(tg(0x0020, 0x0010), "SH", fmt.Sprintf("PHI-SID-%06d", sc.sp.index+1))
	ds.IS(tg(0x0020, 0x0011), s.number)
	ds.Str(tg(0x0020, 0x0052), "UI", sc.frameOfRef)
	ds.Str(tg(0x0020, 0x1040), "LO")
	return ds
}

// sar is the whole-body specific absorption rate (W/kg) of series s.
func (sc *studyCtx) sar(s *seriesSpec) float64 {
	return math.Round(uni(rand.New(rand.NewPCG(sc.sp.seed, uint64(s.number))), 0.4, 2.8)*1000) / 1000
}

// mrElements returns the MR acquisition attributes of series s.
func (sc *studyCtx) mrElements(s *seriesSpec) dcmenc.Dataset {
	a, v := sc.a, sc.v
	var ds dcmenc.Dataset
	seqName, scanSeq, variant := v.seqName, v.scanSeq, v.seqVariant
	tr, te, flip := a.tr, a.te, a.flip
	if s.kind == "lge" {
		seqName, scanSeq, variant = v.lgeSeqName, "IR\\GR", "SP\\MP"
		tr, te, flip = math.Round(a.tr*2*100)/100, math.Round(a.te*2*100)/100, 25
	}
	ds.Str(tg(0x0018, 0x0020), "CS", strings.Split(scanSeq, "\\")...)
	ds.Str(tg(0x0018, 0x0021), "CS", strings.Split(variant, "\\")...)
	switch {
	case s.kind == "scout":
		ds.Str(tg(0x0018, 0x0022), "CS")
	case v.scanOptions != "":
		ds.Str(tg(0x0018, 0x0022), "CS", strings.Split(v.scanOptions, "\\")...)
	default:
		ds.Str(tg(0x0018, 0x0022), "CS", "CG")
	}
	ds.Str(tg(0x0018, 0x0023), "CS", "2D")
	ds.Str(tg(0x0018, 0x0024), "SH", seqName)
	ds.Str(tg(0x0018, 0x0025), "CS", "N")
	ds.DS(tg(0x0018, 0x0080), tr)
	ds.DS(tg(0x0018, 0x0081), te)
	if s.kind == "lge" {
		ds.DS(tg(0x0018, 0x0082), a.ti)
	}
	ds.DS(tg(0x0018, 0x0083), 1)
	ds.DS(tg(0x0018, 0x0084), math.Round(42.577478*a.field*1e5)/1e5)
	ds.Str(tg(0x0018, 0x0085), "SH", "1H")
	ds.IS(tg(0x0018, 0x0086), 1)
	ds.DS(tg(0x0018, 0x0087), a.field)
	ds.IS(tg(0x0018, 0x0091), 1)
	ds.DS(tg(0x0018, 0x0093), 100)
	ds.DS(tg(0x0018, 0x0094), math.Round(float64(a.rows)/float64(a.cols)*1000)/10)
	ds.DS(tg(0x0018, 0x0095), a.bw)
	if s.kind != "scout" {
		ds.IS(tg(0x0018, 0x1062), int(math.Round(a.rr)))
		ds.IS(tg(0x0018, 0x1088), int(math.Round(sc.subj.truth.HeartRate)))
		ds.IS(tg(0x0018, 0x1090), len(s.times))
		ds.IS(tg(0x0018, 0x1094), 0)
		ds.Str(tg(0x0018, 0x1080), "CS", "N")
	}
	ds.Str(tg(0x0018, 0x1250), "SH", a.coil)
	ds.Str(tg(0x0018, 0x1251), "SH", "Body")
	p := s.planes[0]
	ds.US(tg(0x0018, 0x1310), 0, uint16(p.Cols*3/4), uint16(p.Rows*3/4), 0)
	ds.Str(tg(0x0018, 0x1312), "CS", "ROW")
	ds.DS(tg(0x0018, 0x1314), flip)
	ds.DS(tg(0x0018, 0x1316), sc.sar(s))
	return ds
}
