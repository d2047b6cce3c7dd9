package phantom

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/cmrfm/cmrfm/phantom/internal/dcmenc"
)

func dt(t time.Time) string {
	return t.Format("20060102150405") + fmt.Sprintf(".%06d", t.Nanosecond()/1000)
}

func item(fill func(*dcmenc.Dataset)) dcmenc.Dataset {
	var d dcmenc.Dataset
	fill(&d)
	return d
}

// writeEnhanced writes series s as one Enhanced MR Image Storage file
// (PS3.3 A.36.2): every frame of every slice, with shared and per-frame
// functional groups carrying the geometry, timing and value transforms.
func (w *studyWriter) writeEnhanced(sc *studyCtx, s *seriesSpec, dir string) (int, error) {
	a, v, subj := sc.a, sc.v, sc.subj
	nS, nF := len(s.planes), len(s.times)
	p0 := s.planes[0]
	for _, p := range s.planes {
		if p.Rows != p0.Rows || p.Cols != p0.Cols {
			return 0, fmt.Errorf("enhanced MR: planes of different sizes")
		}
	}
	sameOrientation := true
	for _, p := range s.planes {
		if p.Row != p0.Row || p.Col != p0.Col {
			sameOrientation = false
		}
	}
	frameBytes := 2 * p0.Rows * p0.Cols
	if need := frameBytes * nS * nF; cap(w.pix) < need {
		w.pix = make([]byte, need)
	}
	pix := w.pix[:frameBytes*nS*nF]
	o := sc.renderOpts(s)
	for si, p := range s.planes {
		pr := subj.newPlaneRenderInto(p, o.Shading, &w.scratch)
		im := newImagerInto(o, p.Rows, p.Cols, &w.scratch)
		w.scratch.cls = grow(w.scratch.cls, p.Rows*p.Cols)
		cls := w.scratch.cls
		for fi, t := range s.times {
			pr.classify(t, cls)
			k := si*nF + fi
			im.stored(cls, pr.shade, sc.noiseSeed(s.number, si, fi), a.slope, 0, pix[k*frameBytes:(k+1)*frameBytes])
		}
	}

	ds := sc.commonElements(s)
	// The enhanced IOD carries acquisition parameters in functional groups,
	// not at the top level: drop the classic-only elements commonElements has.
	sop := uidFor(int64(sc.sp.seed), "sop-enhanced", s.number)
	start := s.acqTime(0)
	flavor, contrast := "CINE", "UNKNOWN"
	switch s.kind {
	case "scout":
		flavor = "LOCALIZER"
	case "lge":
		flavor, contrast = "CARDIAC_GATED", "T1"
	}
	imageType := []string{"ORIGINAL", "PRIMARY", flavor, "NONE"}
	ds.Str(tg(0x0008, 0x0008), "CS", imageType...)
	ds.Str(tg(0x0008, 0x0012), "DA", da(start))
	ds.Str(tg(0x0008, 0x0013), "TM", tm(start))
	ds.Str(tg(0x0008, 0x0016), "UI", EnhancedMRImageStorage)
	ds.Str(tg(0x0008, 0x0018), "UI", sop)
	ds.Str(tg(0x0008, 0x0023), "DA", da(start))
	ds.Str(tg(0x0008, 0x002A), "DT", dt(start))
	ds.Str(tg(0x0008, 0x0033), "TM", tm(start))
	ds.Str(tg(0x0008, 0x9205), "CS", "MONOCHROME")
	ds.Str(tg(0x0008, 0x9206), "CS", "VOLUME")
	ds.Str(tg(0x0008, 0x9207), "CS", "NONE")
	ds.Str(tg(0x0008, 0x9208), "CS", "MAGNITUDE")
	ds.Str(tg(0x0008, 0x9209), "CS", contrast)
	ds.Str(tg(0x0018, 0x0023), "CS", "2D")
	ds.DS(tg(0x0018, 0x0087), a.field)
	ds.Str(tg(0x0018, 0x9004), "CS", "PRODUCT")
	seqName := v.seqName
	if s.kind == "lge" {
		seqName = v.lgeSeqName
	}
	ds.Str(tg(0x0018, 0x9005), "SH", seqName)
	ds.Str(tg(0x0018, 0x9008), "CS", "GRADIENT")
	ds.Str(tg(0x0018, 0x9012), "CS", "NO")
	ds.Str(tg(0x0018, 0x9014), "CS", "NO")
	ds.Str(tg(0x0018, 0x9015), "CS", "NO")
	if s.kind == "lge" {
		ds.Str(tg(0x0018, 0x9017), "CS", "NONE")
	} else {
		ds.Str(tg(0x0018, 0x9017), "CS", "FREE_PRECESSION")
	}
	ds.Str(tg(0x0018, 0x9018), "CS", "NO")
	ds.Str(tg(0x0018, 0x9024), "CS", "NO")
	ds.Str(tg(0x0018, 0x9025), "CS", "NONE")
	ds.Str(tg(0x0018, 0x9029), "CS", "NONE")
	ds.Str(tg(0x0018, 0x9032), "CS", "RECTILINEAR")
	ds.Str(tg(0x0018, 0x9033), "CS", "PARTIAL")
	ds.Str(tg(0x0018, 0x9034), "CS", "LINEAR")
	ds.Str(tg(0x0018, 0x9064), "CS", "NONE")
	ds.FD(tg(0x0018, 0x9073), math.Round(float64(nS)*14000))
	ds.US(tg(0x0018, 0x9093), 1)
	ds.Str(tg(0x0018, 0x9100), "CS", "1H")
	ds.Str(tg(0x0018, 0x9174), "CS", "IEC")
	if s.kind != "scout" {
		tech := "RETROSPECTIVE"
		if s.kind == "lge" {
			tech = "PROSPECTIVE"
		}
		ds.Str(tg(0x0018, 0x9037), "CS", tech)
		ds.Str(tg(0x0018, 0x9085), "CS", "ECG")
		ds.FD(tg(0x0018, 0x9070), math.Round(a.rr))
		ds.Str(tg(0x0018, 0x9169), "CS", "NONE")
		ds.IS(tg(0x0018, 0x1081), int(math.Round(a.rr*0.8)))
		ds.IS(tg(0x0018, 0x1082), int(math.Round(a.rr*1.2)))
		ds.IS(tg(0x0018, 0x1083), 10*nS)
		ds.IS(tg(0x0018, 0x1084), 0)
	}
	ds.Str(tg(0x0018, 0x9170), "CS", "BREATH_HOLD")
	ds.Str(tg(0x0018, 0x9171), "CS", "NONE")
	ds.IS(tg(0x0020, 0x0012), 1)
	ds.IS(tg(0x0020, 0x0013), 1)
	dimOrg := uidFor(int64(sc.sp.seed), "dimension-organization", s.number)
	ds.Seq(tg(0x0020, 0x9221), item(func(d *dcmenc.Dataset) { d.Str(tg(0x0020, 0x9164), "UI", dimOrg) }))
	dim := func(ptr T, label string) dcmenc.Dataset {
		return item(func(d *dcmenc.Dataset) {
			d.Str(tg(0x0020, 0x9164), "UI", dimOrg)
			d.AT(tg(0x0020, 0x9165), ptr)
			d.AT(tg(0x0020, 0x9167), tg(0x0020, 0x9111))
			d.Str(tg(0x0020, 0x9421), "LO", label)
		})
	}
	ds.Seq(tg(0x0020, 0x9222), dim(tg(0x0020, 0x9056), "Stack ID"), dim(tg(0x0020, 0x9057), "In-Stack Position Number"),
		dim(tg(0x0020, 0x9128), "Temporal Position Index"))
	sc.pixelElementsEnhanced(&ds, p0)
	ds.IS(tg(0x0028, 0x0008), nS*nF)
	ds.Str(tg(0x0028, 0x0301), "CS", "NO")
	ds.Str(tg(0x0028, 0x2110), "CS", "00")
	ds.Str(tg(0x2050, 0x0020), "CS", "IDENTITY")
	ds.Seq(tg(0x0040, 0x0555))

	// Shared functional groups.
	tr, te, flip := a.tr, a.te, a.flip
	if s.kind == "lge" {
		tr, te, flip = math.Round(a.tr*2*100)/100, math.Round(a.te*2*100)/100, 25
	}
	shared := item(func(d *dcmenc.Dataset) {
		d.Seq(tg(0x0028, 0x9110), item(func(d *dcmenc.Dataset) {
			d.DS(tg(0x0028, 0x0030), roundDS(p0.Spacing[0]), roundDS(p0.Spacing[1]))
			d.DS(tg(0x0018, 0x0050), p0.Thickness)
			if nS > 1 {
				d.DS(tg(0x0018, 0x0088), subj.SliceSpacing)
			}
		}))
		if sameOrientation {
			d.Seq(tg(0x0020, 0x9116), item(func(d *dcmenc.Dataset) { d.DS(tg(0x0020, 0x0037), planeIOP(p0)...) }))
		}
		d.Seq(tg(0x0018, 0x9112), item(func(d *dcmenc.Dataset) {
			d.DS(tg(0x0018, 0x0080), tr)
			d.IS(tg(0x0018, 0x0091), 1)
			d.DS(tg(0x0018, 0x1314), flip)
			d.US(tg(0x0018, 0x9240), 1)
			d.US(tg(0x0018, 0x9241), 1)
			d.Seq(tg(0x0018, 0x9239), item(func(d *dcmenc.Dataset) {
				d.Str(tg(0x0018, 0x9179), "CS", "IEC_WHOLE_BODY")
				d.FD(tg(0x0018, 0x9181), sc.sar(s))
			}))
			d.Seq(tg(0x0018, 0x9176), item(func(d *dcmenc.Dataset) {
				d.Str(tg(0x0018, 0x9177), "CS", "RF")
				d.Str(tg(0x0018, 0x9178), "CS", "IEC_NORMAL")
			}))
		}))
		d.Seq(tg(0x0018, 0x9114), item(func(d *dcmenc.Dataset) { d.FD(tg(0x0018, 0x9082), te) }))
		d.Seq(tg(0x0018, 0x9115), item(func(d *dcmenc.Dataset) {
			if s.kind == "lge" {
				d.Str(tg(0x0018, 0x9009), "CS", "YES")
				d.FD(tg(0x0018, 0x9079), a.ti)
			} else {
				d.Str(tg(0x0018, 0x9009), "CS", "NO")
			}
			d.Str(tg(0x0018, 0x9010), "CS", "NONE")
			d.Str(tg(0x0018, 0x9021), "CS", "NO")
			d.Str(tg(0x0018, 0x9026), "CS", "NONE")
			d.Str(tg(0x0018, 0x9027), "CS", "NONE")
			d.Str(tg(0x0018, 0x9077), "CS", "NO")
			d.Str(tg(0x0018, 0x9081), "CS", "NO")
		}))
		d.Seq(tg(0x0018, 0x9006), item(func(d *dcmenc.Dataset) {
			d.DS(tg(0x0018, 0x0095), a.bw)
			d.Str(tg(0x0018, 0x9020), "CS", "NONE")
			d.Str(tg(0x0018, 0x9022), "CS", "NO")
			d.Str(tg(0x0018, 0x9028), "CS", "NONE")
			d.FD(tg(0x0018, 0x9098), math.Round(42.577478*a.field*1e5)/1e5)
		}))
		d.Seq(tg(0x0018, 0x9042), item(func(d *dcmenc.Dataset) {
			d.Str(tg(0x0018, 0x1250), "SH", a.coil)
			d.Str(tg(0x0018, 0x9041), "LO", v.manufacturer)
			d.Str(tg(0x0018, 0x9043), "CS", "MULTICOIL")
			d.Str(tg(0x0018, 0x9044), "CS", "NO")
			d.Seq(tg(0x0018, 0x9045), item(func(d *dcmenc.Dataset) {
				d.Str(tg(0x0018, 0x9047), "SH", "COIL1")
				d.Str(tg(0x0018, 0x9048), "CS", "YES")
			}))
		}))
		d.Seq(tg(0x0018, 0x9049), item(func(d *dcmenc.Dataset) {
			d.Str(tg(0x0018, 0x1251), "SH", "Body")
			d.Str(tg(0x0018, 0x9050), "LO", v.manufacturer)
			d.Str(tg(0x0018, 0x9051), "CS", "BODY")
		}))
		d.Seq(tg(0x0018, 0x9119), item(func(d *dcmenc.Dataset) { d.DS(tg(0x0018, 0x0083), 1) }))
		d.Seq(tg(0x0018, 0x9125), item(func(d *dcmenc.Dataset) {
			d.Str(tg(0x0018, 0x1312), "CS", "ROW")
			d.US(tg(0x0018, 0x9058), uint16(p0.Cols*3/4))
			d.US(tg(0x0018, 0x9231), uint16(p0.Rows*3/4))
			d.DS(tg(0x0018, 0x0093), 100)
			d.DS(tg(0x0018, 0x0094), math.Round(float64(a.rows)/float64(a.cols)*1000)/10)
		}))
		d.Seq(tg(0x0020, 0x9071), item(func(d *dcmenc.Dataset) {
			d.Seq(tg(0x0008, 0x2218), item(func(d *dcmenc.Dataset) {
				d.Str(tg(0x0008, 0x0100), "SH", "80891009")
				d.Str(tg(0x0008, 0x0102), "SH", "SCT")
				d.Str(tg(0x0008, 0x0104), "LO", "Heart")
			}))
			d.Str(tg(0x0020, 0x9072), "CS", "U")
		}))
		d.Seq(tg(0x0028, 0x9145), item(func(d *dcmenc.Dataset) { sc.rescaleElements(d) }))
		d.Seq(tg(0x0028, 0x9132), item(func(d *dcmenc.Dataset) {
			wc := math.Round(a.gain * 0.55)
			if s.contrast == LGE {
				wc = math.Round(a.gain * 0.35)
			}
			d.DS(tg(0x0028, 0x1050), wc)
			d.DS(tg(0x0028, 0x1051), math.Round(a.gain*1.25))
		}))
		d.Seq(tg(0x0018, 0x9226), item(func(d *dcmenc.Dataset) {
			d.Str(tg(0x0008, 0x9007), "CS", imageType...)
			d.Str(tg(0x0008, 0x9205), "CS", "MONOCHROME")
			d.Str(tg(0x0008, 0x9206), "CS", "VOLUME")
			d.Str(tg(0x0008, 0x9207), "CS", "NONE")
			d.Str(tg(0x0008, 0x9208), "CS", "MAGNITUDE")
			d.Str(tg(0x0008, 0x9209), "CS", contrast)
		}))
	})
	ds.Seq(tg(0x5200, 0x9229), shared)

	// Per-frame functional groups, slice-major.
	perFrame := make([]dcmenc.Dataset, 0, nS*nF)
	for si, p := range s.planes {
		at := s.acqTime(si)
		for fi, t := range s.times {
			ft := at.Add(time.Duration(sc.triggerTime(t) * float64(time.Millisecond)))
			perFrame = append(perFrame, item(func(d *dcmenc.Dataset) {
				d.Seq(tg(0x0020, 0x9111), item(func(d *dcmenc.Dataset) {
					d.Str(tg(0x0018, 0x9074), "DT", dt(ft))
					d.Str(tg(0x0018, 0x9151), "DT", dt(ft))
					d.FD(tg(0x0018, 0x9220), math.Round(a.rr/float64(nF)))
					stack := "1"
					if !sameOrientation {
						stack = itoa(si/max(1, nS/3) + 1)
					}
					d.Str(tg(0x0020, 0x9056), "SH", stack)
					d.UL(tg(0x0020, 0x9057), uint32(si+1))
					d.UL(tg(0x0020, 0x9128), uint32(fi+1))
					d.US(tg(0x0020, 0x9156), uint16(si+1))
					d.UL(tg(0x0020, 0x9157), uint32(1), uint32(si+1), uint32(fi+1))
				}))
				d.Seq(tg(0x0020, 0x9113), item(func(d *dcmenc.Dataset) { d.DS(tg(0x0020, 0x0032), planeIPP(p)...) }))
				if !sameOrientation {
					d.Seq(tg(0x0020, 0x9116), item(func(d *dcmenc.Dataset) { d.DS(tg(0x0020, 0x0037), planeIOP(p)...) }))
				}
				if s.kind != "scout" {
					d.Seq(tg(0x0018, 0x9118), item(func(d *dcmenc.Dataset) {
						d.FD(tg(0x0020, 0x9153), sc.triggerTime(t))
						d.FD(tg(0x0020, 0x9251), math.Round(a.rr))
					}))
				}
			}))
		}
	}
	ds.Seq(tg(0x5200, 0x9230), perFrame...)

	b, err := dcmenc.AppendFile(w.enc, EnhancedMRImageStorage, sop, ds, pix)
	if err != nil {
		return 0, err
	}
	w.enc = b
	if err := os.WriteFile(filepath.Join(dir, "0001.dcm"), b, 0o644); err != nil {
		return 0, fmt.Errorf("phantom: %w", err)
	}
	return 1, nil
}

// pixelElementsEnhanced is the Image Pixel module of an enhanced image.
func (sc *studyCtx) pixelElementsEnhanced(ds *dcmenc.Dataset, p Plane) {
	ds.US(tg(0x0028, 0x0002), 1)
	ds.Str(tg(0x0028, 0x0004), "CS", "MONOCHROME2")
	ds.US(tg(0x0028, 0x0010), uint16(p.Rows))
	ds.US(tg(0x0028, 0x0011), uint16(p.Cols))
	ds.US(tg(0x0028, 0x0100), 16)
	ds.US(tg(0x0028, 0x0101), 12)
	ds.US(tg(0x0028, 0x0102), 11)
	ds.US(tg(0x0028, 0x0103), 0)
}
