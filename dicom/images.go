package dicom

import (
	"github.com/cmrfm/cmrfm/cine"
)

// Images describes every frame of f for cine.Assemble: series identity,
// plane geometry and timing. Classic single-frame objects give one Image.
// Enhanced multi-frame objects take per-frame (else shared) functional
// groups: Plane Position, Plane Orientation, Pixel Measures, Cardiac
// Synchronization (NominalCardiacTriggerDelayTime) and Frame Content
// (TemporalPositionIndex, StackID, InStackPositionNumber). Legacy multi-frame
// objects without functional groups repeat the file's geometry and time the
// frames by FrameTime (or FrameTimeVector) when present.
func (f *File) Images() ([]cine.Image, error) {
	ds := f.DataSet
	p, err := pixelInfo(ds)
	if err != nil {
		return nil, f.err("images", -1, err)
	}
	if err := f.framesFit(p); err != nil {
		return nil, f.err("images", -1, err)
	}
	base := cine.Image{
		File:              f.Path,
		StudyUID:          ds.String(TagStudyInstanceUID),
		SeriesUID:         ds.String(TagSeriesInstanceUID),
		SOPInstanceUID:    ds.String(TagSOPInstanceUID),
		SeriesNumber:      ds.String(TagSeriesNumber),
		SeriesDescription: ds.String(TagSeriesDescription),
		Rows:              p.Rows,
		Cols:              p.Cols,
		ImageType:         ds.Strings(TagImageType),
	}
	base.InstanceNumber, _ = ds.Int(TagInstanceNumber)
	base.CardiacImages, _ = ds.Int(TagCardiacNumberOfImages)
	geometry(ds, &base)
	if t, ok := ds.Float(TagTriggerTime); ok {
		base.TriggerTime, base.HasTriggerTime = t, true
	}
	var shared *DataSet
	if sh := ds.Seq(TagSharedFunctionalGroups); len(sh) > 0 {
		shared = sh[0]
		functionalGroups(shared, &base)
	}
	per := ds.Seq(TagPerFrameFunctionalGroups)
	out := make([]cine.Image, p.Frames)
	var frameTimes []float64
	if len(per) == 0 && p.Frames > 1 {
		frameTimes = legacyFrameTimes(ds, p.Frames)
	}
	for i := range out {
		im := base
		im.Frame = i
		im.ImageType = base.ImageType
		if i < len(per) {
			functionalGroups(per[i], &im)
		} else if frameTimes != nil {
			im.TriggerTime, im.HasTriggerTime = frameTimes[i], true
		}
		out[i] = im
	}
	return out, nil
}

// geometry reads the plane geometry attributes present in ds into im.
func geometry(ds *DataSet, im *cine.Image) {
	if v, ok := ds.Floats(TagImagePositionPatient); ok && len(v) >= 3 {
		copy(im.Position[:], v)
		im.HasPosition = true
	}
	if v, ok := ds.Floats(TagImageOrientation); ok && len(v) >= 6 {
		copy(im.Orientation[:], v)
		im.HasOrientation = true
	}
	if v, ok := ds.Floats(TagPixelSpacing); ok && len(v) >= 2 {
		copy(im.PixelSpacing[:], v)
		im.HasPixelSpacing = true
	}
	if v, ok := ds.Float(TagSliceLocation); ok {
		im.SliceLocation, im.HasSliceLoc = v, true
	}
}

// functionalGroups applies one functional-group item (shared or per-frame).
func functionalGroups(g *DataSet, im *cine.Image) {
	for _, t := range []Tag{TagPlanePositionSequence, TagPlaneOrientationSeq, TagPixelMeasuresSequence} {
		if it := g.Seq(t); len(it) > 0 {
			geometry(it[0], im)
		}
	}
	if it := g.Seq(TagCardiacSynchronization); len(it) > 0 {
		if t, ok := it[0].Float(TagNominalCardiacTrigger); ok {
			im.TriggerTime, im.HasTriggerTime = t, true
		}
	}
	if it := g.Seq(TagFrameContentSequence); len(it) > 0 {
		fc := it[0]
		if v, ok := fc.Int(TagTemporalPositionIdx); ok {
			im.TemporalIndex = v
		}
		if s := fc.String(TagStackID); s != "" {
			im.StackID = s
		}
		if v, ok := fc.Int(TagInStackPositionNumber); ok {
			im.InStackPosition = v
		}
	}
}

// legacyFrameTimes returns the time of each frame of a multi-frame object
// without functional groups: FrameTimeVector (0018,1065) cumulated, else
// index × FrameTime (0018,1063); nil when neither is present.
func legacyFrameTimes(ds *DataSet, n int) []float64 {
	out := make([]float64, n)
	if v, ok := ds.Floats(0x00181065); ok && len(v) == n {
		// FrameTimeVector: increments from the previous frame; the first is 0.
		t := 0.0
		for i, d := range v {
			if i > 0 {
				t += d
			}
			out[i] = t
		}
		return out
	}
	if ft, ok := ds.Float(TagFrameTime); ok && ft > 0 {
		for i := range out {
			out[i] = float64(i) * ft
		}
		return out
	}
	return nil
}
