package cine

import "math"

// Image describes one 2-D image — one frame of one DICOM object (or one
// slice/time point of a volume) — with what Assemble needs to place it: the
// series it belongs to, its plane geometry and its cardiac timing. The dicom
// package fills it (dicom.File.Images); Assemble never looks at pixels.
type Image struct {
	// File and Frame identify the pixels: a path and a 0-based frame index.
	File  string
	Frame int

	StudyUID, SeriesUID, SOPInstanceUID string
	// SeriesNumber and SeriesDescription as written (trimmed); "" if absent.
	SeriesNumber, SeriesDescription string
	// InstanceNumber is 0 when absent.
	InstanceNumber int
	Rows, Cols     int

	// Plane geometry in patient coordinates (LPS, mm), valid when the Has
	// flag is set: ImagePositionPatient, ImageOrientationPatient (row then
	// column direction cosines), PixelSpacing (row spacing, column spacing)
	// and SliceLocation.
	Position                     [3]float64
	Orientation                  [6]float64
	PixelSpacing                 [2]float64
	SliceLocation                float64
	HasPosition, HasOrientation  bool
	HasPixelSpacing, HasSliceLoc bool

	// Cardiac timing: TriggerTime (ms after the R wave; for enhanced
	// objects NominalCardiacTriggerDelayTime; for legacy multi-frame
	// objects frame index × FrameTime), valid when HasTriggerTime.
	TriggerTime    float64
	HasTriggerTime bool
	// TemporalIndex is the enhanced FrameContent TemporalPositionIndex
	// (0 when absent); CardiacImages is CardiacNumberOfImages (0 when absent).
	TemporalIndex, CardiacImages int
	// StackID and InStackPosition come from the enhanced FrameContent module.
	StackID         string
	InStackPosition int
	// ImageType values, e.g. ORIGINAL, PRIMARY, CINE.
	ImageType []string
}

// Normal returns the unit slice normal row × column, or false without an
// orientation (or a degenerate one).
func (im *Image) Normal() ([3]float64, bool) {
	if !im.HasOrientation {
		return [3]float64{}, false
	}
	r, c := im.Orientation[:3], im.Orientation[3:]
	n := [3]float64{r[1]*c[2] - r[2]*c[1], r[2]*c[0] - r[0]*c[2], r[0]*c[1] - r[1]*c[0]}
	l := math.Sqrt(n[0]*n[0] + n[1]*n[1] + n[2]*n[2])
	if l < 1e-6 || math.IsNaN(l) {
		return [3]float64{}, false
	}
	return [3]float64{n[0] / l, n[1] / l, n[2] / l}, true
}
