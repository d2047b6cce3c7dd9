package phantom

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/cmrfm/cmrfm/phantom/internal/dcmenc"
)

// renderOpts returns the image-formation options of series s.
func (sc *studyCtx) renderOpts(s *seriesSpec) RenderOptions {
	return RenderOptions{Contrast: s.contrast, SNR: sc.a.snr, Gain: sc.a.gain, Shading: 0.35, MyoBlood: sc.a.myoBlood}
}

// noiseSeed is the noise seed of image (slice, frame) of series number sn.
func (sc *studyCtx) noiseSeed(sn, slice, frame int) uint64 {
	return mix64(sc.sp.seed, uint64(sn)<<32|uint64(slice)<<16|uint64(frame))
}

// sliceLocation is the vendor's SliceLocation for plane p.
func (sc *studyCtx) sliceLocation(p Plane) float64 {
	return math.Round(sc.v.sliceLocSign*p.Centre().Dot(p.Normal())*1e4) / 1e4
}

// triggerTime is the trigger delay (ms) of time t (fraction of RR).
func (sc *studyCtx) triggerTime(t float64) float64 { return math.Round(t*sc.a.rr*100) / 100 }

// acqTime is the acquisition time of a slice: one breath-hold per slice.
func (s *seriesSpec) acqTime(slice int) time.Time {
	return s.start.Add(time.Duration(slice) * 14 * time.Second)
}

func roundDS(v float64) float64 { return math.Round(v*1e6) / 1e6 }

func planeIOP(p Plane) []float64 {
	return []float64{roundDS(p.Row[0]), roundDS(p.Row[1]), roundDS(p.Row[2]), roundDS(p.Col[0]), roundDS(p.Col[1]), roundDS(p.Col[2])}
}

func planeIPP(p Plane) []float64 {
	return []float64{roundDS(p.Position[0]), roundDS(p.Position[1]), roundDS(p.Position[2])}
}

// pixelElements are the Image Pixel module and the value transforms.
func (sc *studyCtx) pixelElements(ds *dcmenc.Dataset, p Plane, s *seriesSpec) {
	a := sc.a
	ds.US(tg(0x0028, 0x0002), 1)
	ds.Str(tg(0x0028, 0x0004), "CS", "MONOCHROME2")
	ds.US(tg(0x0028, 0x0010), uint16(p.Rows))
	ds.US(tg(0x0028, 0x0011), uint16(p.Cols))
	ds.DS(tg(0x0028, 0x0030), roundDS(p.Spacing[0]), roundDS(p.Spacing[1]))
	ds.US(tg(0x0028, 0x0100), 16)
	ds.US(tg(0x0028, 0x0101), 12)
	ds.US(tg(0x0028, 0x0102), 11)
	ds.US(tg(0x0028, 0x0103), 0)
	wc := math.Round(a.gain * 0.55)
	if s.contrast == LGE {
		wc = math.Round(a.gain * 0.35)
	}
	ds.DS(tg(0x0028, 0x1050), wc)
	ds.DS(tg(0x0028, 0x1051), math.Round(a.gain*1.25))
}

func (sc *studyCtx) rescaleElements(ds *dcmenc.Dataset) {
	ds.DS(tg(0x0028, 0x1052), 0)
	ds.DS(tg(0x0028, 0x1053), roundDS(sc.a.slope))
	ds.Str(tg(0x0028, 0x1054), "LO", "US")
}

// writeClassic writes series s as one MR Image Storage file per frame.
func (w *studyWriter) writeClassic(sc *studyCtx, s *seriesSpec, dir string) (int, error) {
	common := sc.commonElements(s)
	common = append(common, sc.mrElements(s)...)
	nS, nF := len(s.planes), len(s.times)
	o := sc.renderOpts(s)
	files := 0
	for si, p := range s.planes {
		pr := sc.subj.newPlaneRenderInto(p, o.Shading, &w.scratch)
		im := newImagerInto(o, p.Rows, p.Cols, &w.scratch)
		w.scratch.cls = grow(w.scratch.cls, p.Rows*p.Cols)
		cls := w.scratch.cls
		if need := 2 * p.Rows * p.Cols; cap(w.pix) < need {
			w.pix = make([]byte, need)
		}
		pix := w.pix[:2*p.Rows*p.Cols]
		at := s.acqTime(si)
		for fi, t := range s.times {
			pr.classify(t, cls)
			im.stored(cls, pr.shade, sc.noiseSeed(s.number, si, fi), sc.a.slope, 0, pix)
			inst := si*nF + fi + 1
			if sc.v.frameMajor {
				inst = fi*nS + si + 1
			}
			ds := append(w.ds[:0], common...)
			ds.Str(tg(0x0008, 0x0008), "CS", sc.v.imageType...)
			ds.Str(tg(0x0008, 0x0012), "DA", da(at))
			ds.Str(tg(0x0008, 0x0013), "TM", tm(at))
			sop := uidFor(int64(sc.sp.seed), "sop", s.number, si, fi)
			ds.Str(tg(0x0008, 0x0016), "UI", MRImageStorage)
			ds.Str(tg(0x0008, 0x0018), "UI", sop)
			ds.Str(tg(0x0008, 0x0022), "DA", da(at))
			ds.Str(tg(0x0008, 0x0023), "DA", da(at))
			ds.Str(tg(0x0008, 0x0032), "TM", tm(at))
			ds.Str(tg(0x0008, 0x0033), "TM", tm(at.Add(time.Duration(fi)*time.Millisecond*37)))
			ds.DS(tg(0x0018, 0x0050), p.Thickness)
			if s.view == "SAX" || s.kind == "scout" || s.kind == "lge" {
				ds.DS(tg(0x0018, 0x0088), sc.subj.SliceSpacing)
			}
			if s.kind != "scout" {
				ds.DS(tg(0x0018, 0x1060), sc.triggerTime(t))
			}
			ds.IS(tg(0x0020, 0x0012), si+1)
			ds.IS(tg(0x0020, 0x0013), inst)
			ds.DS(tg(0x0020, 0x0032), planeIPP(p)...)
			ds.DS(tg(0x0020, 0x0037), planeIOP(p)...)
			if sc.v.temporalTags && s.kind == "cine" {
				ds.IS(tg(0x0020, 0x0100), fi+1)
				ds.IS(tg(0x0020, 0x0105), nF)
			}
			ds.DS(tg(0x0020, 0x1041), sc.sliceLocation(p))
			sc.pixelElements(&ds, p, s)
			sc.rescaleElements(&ds)
			b, err := dcmenc.AppendFile(w.enc, MRImageStorage, sop, ds, pix)
			if err != nil {
				return files, err
			}
			w.enc, w.ds = b, ds
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d.dcm", inst)), b, 0o644); err != nil {
				return files, fmt.Errorf("phantom: %w", err)
			}
			files++
		}
	}
	return files, nil
}
