package cine

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Assembly problems. A Series whose Err wraps one of the "error" sentinels
// cannot be turned into a cine; the "warning" sentinels appear in
// Series.Warnings of a usable series. All are matched with errors.Is.
var (
	// ErrConflictingFrames (error): two different images of one slice have
	// identical ordering keys (trigger time, temporal index, instance
	// number), so the frame order is undefined.
	ErrConflictingFrames = errors.New("conflicting frames")
	// ErrNoImages (error): the series has no images.
	ErrNoImages = errors.New("no images")

	// ErrDuplicateImage (warning): the same SOP instance and frame was given
	// more than once (a copied file); one copy is kept.
	ErrDuplicateImage = errors.New("duplicate image")
	// ErrUnequalFrames (warning): slices have different frame counts
	// (frames missing from some slice, or a re-acquired slice).
	ErrUnequalFrames = errors.New("unequal frames per slice")
	// ErrMissingFrames (warning): a slice has fewer frames than its
	// CardiacNumberOfImages says.
	ErrMissingFrames = errors.New("missing frames")
	// ErrRepeatedTime (warning): frames of one slice share a trigger time
	// (ordered by instance number instead).
	ErrRepeatedTime = errors.New("repeated trigger time")
	// ErrSliceSpacing (warning): gaps between slice positions differ by more
	// than half the median gap (a missing or extra slice).
	ErrSliceSpacing = errors.New("inconsistent slice spacing")
	// ErrMixedMatrix (warning): images of the same SeriesInstanceUID, number,
	// description and orientation have different Rows×Columns; they were
	// split into separate series.
	ErrMixedMatrix = errors.New("mixed matrix sizes")
	// ErrNoGeometry (warning): images lack ImagePositionPatient or
	// ImageOrientationPatient, so slices were told apart by SliceLocation,
	// or not at all.
	ErrNoGeometry = errors.New("missing geometry")
	// ErrMixedTiming (warning): some images have a trigger time and some do
	// not; frames were ordered by temporal index and instance number.
	ErrMixedTiming = errors.New("mixed timing")
)

// SliceOrder selects the order of slices in a stack.
type SliceOrder int

const (
	// BaseToApex orders slices along the slice normal, pointing it towards
	// the cardiac apex: the normal's sign is chosen so that it has a
	// positive component along (1,−1,−1)/√3 in patient LPS coordinates
	// (left, anterior, inferior — the direction of the long axis of the
	// left ventricle from base to apex in a supine patient).
	BaseToApex SliceOrder = iota
	// AlongNormal orders slices by increasing position along row × column.
	AlongNormal
	// SliceLocationDescending is the reference toolkit's order (stacked
	// series sorted by SliceLocation, descending; docs/reference.md §1.4).
	SliceLocationDescending
)

// AssembleOptions tunes Assemble. The zero value is the default.
type AssembleOptions struct {
	// Order of slices; default BaseToApex.
	Order SliceOrder
	// SliceTolerance (mm): positions closer than this are one slice;
	// 0 means 0.05 mm.
	SliceTolerance float64
	// OrientationTolerance: images whose direction cosines differ by more
	// than this are different series; 0 means 0.01 (about 0.6°).
	OrientationTolerance float64
}

// Series is one assembled series: its images grouped into slices in stack
// order, each slice's frames in temporal order.
type Series struct {
	StudyUID, SeriesUID, SeriesNumber, SeriesDescription string
	Rows, Cols                                           int
	// Orientation of the series (the first image's, when present), its unit
	// normal, and whether both are known.
	Orientation    [6]float64
	Normal         [3]float64
	HasOrientation bool
	// Slices in stack order.
	Slices []SeriesSlice
	// TotalImages counts the images given for this series, duplicates
	// included (the reference's total_images counts files).
	TotalImages int
	// Err is non-nil when the series cannot be assembled into a cine.
	Err error
	// Warnings lists problems that did not prevent assembly.
	Warnings []error
}

// SeriesSlice is one slice position of a series and its frames in temporal order.
type SeriesSlice struct {
	// Position along the stacking direction (mm), as used for ordering.
	Position float64
	Images   []Image
}

// Frames returns every image of s in cine order: slice by slice, each in
// temporal order.
func (s *Series) Frames() []Image {
	var out []Image
	for _, sl := range s.Slices {
		out = append(out, sl.Images...)
	}
	return out
}

// FramesPerSlice returns the frame count of every slice.
func (s *Series) FramesPerSlice() []int {
	out := make([]int, len(s.Slices))
	for i, sl := range s.Slices {
		out[i] = len(sl.Images)
	}
	return out
}

// SliceFrames returns the reference's slice_frames for s (see SliceFramesFor).
func (s *Series) SliceFrames() []int32 { return SliceFramesFor(s.FramesPerSlice()) }

// IsCine reports whether s has at least one slice with two or more frames.
func (s *Series) IsCine() bool {
	for _, sl := range s.Slices {
		if len(sl.Images) > 1 {
			return true
		}
	}
	return false
}

// Name is a short human-readable label: "300 CINE_SAX (1.2.3…)".
func (s *Series) Name() string {
	uid := s.SeriesUID
	if len(uid) > 16 {
		uid = "…" + uid[len(uid)-15:]
	}
	return strings.TrimSpace(fmt.Sprintf("%s %q %dx%d [%s]", s.SeriesNumber, s.SeriesDescription, s.Rows, s.Cols, uid))
}

// Assemble groups images into series and orders each series' frames by
// geometry and time, never by file name or input order: the result depends
// only on the set of images given.
//
// Grouping key: StudyInstanceUID, SeriesInstanceUID, SeriesNumber,
// SeriesDescription, ImageOrientationPatient (within OrientationTolerance)
// and Rows×Columns — de-identified archives merge series under one UID
// (Sunnybrook SCD gives its scout and cine the same SeriesInstanceUID).
// Slices: positions along the normal (ImagePositionPatient · normal), else
// SliceLocation, clustered within SliceTolerance and ordered per opt.Order.
// Frames: TriggerTime, then TemporalPositionIndex, then InstanceNumber, then
// SOPInstanceUID and frame index.
func Assemble(images []Image, opt AssembleOptions) []*Series {
	if opt.SliceTolerance <= 0 {
		opt.SliceTolerance = 0.05
	}
	if opt.OrientationTolerance <= 0 {
		opt.OrientationTolerance = 0.01
	}
	groups := group(images, opt.OrientationTolerance)
	out := make([]*Series, 0, len(groups))
	for _, g := range groups {
		out = append(out, assembleSeries(g, opt))
	}
	markMixedMatrix(out, opt.OrientationTolerance)
	sort.SliceStable(out, func(i, j int) bool { return seriesLess(out[i], out[j]) })
	return out
}

type seriesGroup struct {
	key    [4]string
	orient [6]float64
	hasOr  bool
	rows   int
	cols   int
	images []Image
}

func group(images []Image, tol float64) []*seriesGroup {
	// Sort a copy canonically first so grouping never depends on input order.
	sorted := append([]Image(nil), images...)
	sort.SliceStable(sorted, func(i, j int) bool { return imageLess(&sorted[i], &sorted[j]) })
	var groups []*seriesGroup
	for _, im := range sorted {
		key := [4]string{im.StudyUID, im.SeriesUID, im.SeriesNumber, im.SeriesDescription}
		var g *seriesGroup
		for _, c := range groups {
			if c.key == key && c.rows == im.Rows && c.cols == im.Cols && c.hasOr == im.HasOrientation &&
				(!im.HasOrientation || orientClose(c.orient, im.Orientation, tol)) {
				g = c
				break
			}
		}
		if g == nil {
			g = &seriesGroup{key: key, orient: im.Orientation, hasOr: im.HasOrientation, rows: im.Rows, cols: im.Cols}
			groups = append(groups, g)
		}
		g.images = append(g.images, im)
	}
	return groups
}

func orientClose(a, b [6]float64, tol float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// imageLess is a total order on image identity and metadata, used only to
// canonicalise input order.
func imageLess(a, b *Image) bool {
	switch {
	case a.StudyUID != b.StudyUID:
		return a.StudyUID < b.StudyUID
	case a.SeriesUID != b.SeriesUID:
		return a.SeriesUID < b.SeriesUID
	case a.SeriesNumber != b.SeriesNumber:
		return numLess(a.SeriesNumber, b.SeriesNumber)
	case a.SeriesDescription != b.SeriesDescription:
		return a.SeriesDescription < b.SeriesDescription
	case a.SOPInstanceUID != b.SOPInstanceUID:
		return a.SOPInstanceUID < b.SOPInstanceUID
	case a.Frame != b.Frame:
		return a.Frame < b.Frame
	case a.InstanceNumber != b.InstanceNumber:
		return a.InstanceNumber < b.InstanceNumber
	}
	return a.File < b.File
}

// numLess compares series numbers numerically when both parse.
func numLess(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA == nil && errB == nil && x != y {
		return x < y
	}
	return a < b
}

func seriesLess(a, b *Series) bool {
	switch {
	case a.StudyUID != b.StudyUID:
		return a.StudyUID < b.StudyUID
	case a.SeriesNumber != b.SeriesNumber:
		return numLess(a.SeriesNumber, b.SeriesNumber)
	case a.SeriesUID != b.SeriesUID:
		return a.SeriesUID < b.SeriesUID
	case a.SeriesDescription != b.SeriesDescription:
		return a.SeriesDescription < b.SeriesDescription
	case a.Rows != b.Rows:
		return a.Rows < b.Rows
	case a.Cols != b.Cols:
		return a.Cols < b.Cols
	}
	for i := range a.Orientation {
		if a.Orientation[i] != b.Orientation[i] {
			return a.Orientation[i] < b.Orientation[i]
		}
	}
	return false
}

// apex is the base→apex direction of the left ventricle in LPS coordinates.
var apex = [3]float64{1 / math.Sqrt(3), -1 / math.Sqrt(3), -1 / math.Sqrt(3)}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func assembleSeries(g *seriesGroup, opt AssembleOptions) *Series {
	s := &Series{
		StudyUID: g.key[0], SeriesUID: g.key[1], SeriesNumber: g.key[2], SeriesDescription: g.key[3],
		Rows: g.rows, Cols: g.cols, TotalImages: len(g.images),
	}
	if len(g.images) == 0 {
		s.Err = ErrNoImages
		return s
	}
	// Duplicates: the same SOP instance and frame given twice. One warning
	// per duplicated file, however many frames it has.
	images := make([]Image, 0, len(g.images))
	seen := map[[2]string]string{}
	type dup struct{ sop, first, again string }
	var dups []dup
	dupFrames := map[dup]int{}
	for _, im := range g.images {
		if im.SOPInstanceUID != "" {
			k := [2]string{im.SOPInstanceUID, strconv.Itoa(im.Frame)}
			if first, ok := seen[k]; ok {
				d := dup{im.SOPInstanceUID, first, im.File}
				if dupFrames[d] == 0 {
					dups = append(dups, d)
				}
				dupFrames[d]++
				continue
			}
			seen[k] = im.File
		}
		images = append(images, im)
	}
	for _, d := range dups {
		s.Warnings = append(s.Warnings, fmt.Errorf("%w: SOP instance %s (%d frame(s)) in %s and %s; kept the first",
			ErrDuplicateImage, d.sop, dupFrames[d], d.first, d.again))
	}
	// Stacking direction and each image's position along it.
	first := images[0]
	n, hasN := first.Normal()
	s.Orientation, s.HasOrientation = first.Orientation, hasN
	allPos := hasN
	allLoc := true
	for i := range images {
		allPos = allPos && images[i].HasPosition
		allLoc = allLoc && images[i].HasSliceLoc
	}
	pos := make([]float64, len(images))
	switch {
	case allPos:
		d := n
		switch opt.Order {
		case BaseToApex:
			if dot(n, apex) < 0 {
				d = [3]float64{-n[0], -n[1], -n[2]}
			}
		case SliceLocationDescending:
			// by SliceLocation below when every image has one
		}
		s.Normal = d
		for i := range images {
			pos[i] = dot(images[i].Position, d)
		}
		if opt.Order == SliceLocationDescending && allLoc {
			for i := range images {
				pos[i] = -images[i].SliceLocation
			}
		}
	case allLoc:
		// Without the plane geometry the apex cannot be located: fall back to
		// the reference toolkit's descending SliceLocation (ascending for
		// AlongNormal).
		s.Warnings = append(s.Warnings, fmt.Errorf("%w: no ImagePositionPatient/ImageOrientationPatient; slices ordered by SliceLocation", ErrNoGeometry))
		for i := range images {
			pos[i] = -images[i].SliceLocation
			if opt.Order == AlongNormal {
				pos[i] = -pos[i]
			}
		}
	default:
		if len(images) > 1 && !anyTrue(images, func(im *Image) bool { return im.HasPosition || im.HasSliceLoc }) {
			// one slice: nothing to order spatially
		} else if len(images) > 1 {
			s.Warnings = append(s.Warnings, fmt.Errorf("%w: slice position missing on some images; treated as one slice", ErrNoGeometry))
		}
	}
	// Cluster positions into slices.
	idx := make([]int, len(images))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return pos[idx[a]] < pos[idx[b]] })
	var slices [][]int
	for k, i := range idx {
		if k == 0 || pos[i]-pos[idx[k-1]] > opt.SliceTolerance {
			slices = append(slices, nil)
		}
		slices[len(slices)-1] = append(slices[len(slices)-1], i)
	}
	// Timing policy for the whole series.
	withTT := 0
	for i := range images {
		if images[i].HasTriggerTime {
			withTT++
		}
	}
	useTT := withTT == len(images)
	if withTT > 0 && !useTT {
		s.Warnings = append(s.Warnings, fmt.Errorf("%w: %d of %d images have a TriggerTime", ErrMixedTiming, withTT, len(images)))
	}
	for _, members := range slices {
		sl := SeriesSlice{Position: mean(pos, members)}
		for _, i := range members {
			sl.Images = append(sl.Images, images[i])
		}
		sort.SliceStable(sl.Images, func(a, b int) bool { return frameLess(&sl.Images[a], &sl.Images[b], useTT) })
		for k := 1; k < len(sl.Images); k++ {
			a, b := &sl.Images[k-1], &sl.Images[k]
			if sameKey(a, b, useTT) {
				s.Err = fmt.Errorf("%w: slice at %.2f mm: %s and %s have the same trigger time, temporal index and instance number",
					ErrConflictingFrames, sl.Position, describe(a), describe(b))
			} else if useTT && a.TriggerTime == b.TriggerTime {
				s.Warnings = appendOnce(s.Warnings, ErrRepeatedTime, fmt.Errorf("%w: slice at %.2f mm has two frames at %.2f ms (%s, %s); ordered by instance number",
					ErrRepeatedTime, sl.Position, a.TriggerTime, describe(a), describe(b)))
			}
		}
		s.Slices = append(s.Slices, sl)
	}
	checkFrames(s)
	checkSpacing(s)
	return s
}

func anyTrue(images []Image, f func(*Image) bool) bool {
	for i := range images {
		if f(&images[i]) {
			return true
		}
	}
	return false
}

func appendOnce(ws []error, kind error, w error) []error {
	for _, e := range ws {
		if errors.Is(e, kind) {
			return ws
		}
	}
	return append(ws, w)
}

func describe(im *Image) string {
	return fmt.Sprintf("%s (instance %d, frame %d)", im.File, im.InstanceNumber, im.Frame)
}

func mean(v []float64, idx []int) float64 {
	s := 0.0
	for _, i := range idx {
		s += v[i]
	}
	return s / float64(len(idx))
}

func frameLess(a, b *Image, useTT bool) bool {
	if useTT && a.TriggerTime != b.TriggerTime {
		return a.TriggerTime < b.TriggerTime
	}
	switch {
	case a.TemporalIndex != b.TemporalIndex:
		return a.TemporalIndex < b.TemporalIndex
	case a.InstanceNumber != b.InstanceNumber:
		return a.InstanceNumber < b.InstanceNumber
	case a.SOPInstanceUID != b.SOPInstanceUID:
		return a.SOPInstanceUID < b.SOPInstanceUID
	case a.Frame != b.Frame:
		return a.Frame < b.Frame
	}
	return a.File < b.File
}

// sameKey: two distinct images that the temporal keys cannot order, other
// than by SOP UID or frame of one multi-frame object. Frames of one object
// (same SOP UID) are ordered by frame index, which is well defined.
func sameKey(a, b *Image, useTT bool) bool {
	if useTT && a.TriggerTime != b.TriggerTime {
		return false
	}
	if a.TemporalIndex != b.TemporalIndex || a.InstanceNumber != b.InstanceNumber {
		return false
	}
	return a.SOPInstanceUID != b.SOPInstanceUID || a.SOPInstanceUID == ""
}

func checkFrames(s *Series) {
	counts := s.FramesPerSlice()
	if len(counts) == 0 {
		return
	}
	mode := modeOf(counts)
	for k, c := range counts {
		if c != mode {
			s.Warnings = append(s.Warnings, fmt.Errorf("%w: slice %d of %d (%.2f mm) has %d frames, most slices %d",
				ErrUnequalFrames, k+1, len(counts), s.Slices[k].Position, c, mode))
		}
	}
	for k, sl := range s.Slices {
		if want := sl.Images[0].CardiacImages; want > 0 && len(sl.Images) < want && len(sl.Images) > 1 {
			s.Warnings = append(s.Warnings, fmt.Errorf("%w: slice %d (%.2f mm) has %d frames, CardiacNumberOfImages is %d",
				ErrMissingFrames, k+1, sl.Position, len(sl.Images), want))
		}
	}
}

func modeOf(v []int) int {
	count := map[int]int{}
	best, bestN := v[0], 0
	for _, x := range v {
		count[x]++
	}
	for x, n := range count {
		if n > bestN || (n == bestN && x > best) {
			best, bestN = x, n
		}
	}
	return best
}

func checkSpacing(s *Series) {
	if len(s.Slices) < 3 {
		return
	}
	gaps := make([]float64, len(s.Slices)-1)
	for i := range gaps {
		gaps[i] = s.Slices[i+1].Position - s.Slices[i].Position
	}
	sorted := append([]float64(nil), gaps...)
	sort.Float64s(sorted)
	med := sorted[len(sorted)/2]
	for i, g := range gaps {
		if math.Abs(g-med) > 0.5*med {
			s.Warnings = append(s.Warnings, fmt.Errorf("%w: %.2f mm between slices %d and %d, median gap %.2f mm",
				ErrSliceSpacing, g, i+1, i+2, med))
		}
	}
}

// markMixedMatrix warns on series that share UID, number, description and
// orientation with a series of another matrix size.
func markMixedMatrix(ss []*Series, tol float64) {
	for i, a := range ss {
		for j, b := range ss {
			if i == j || a.StudyUID != b.StudyUID || a.SeriesUID != b.SeriesUID || a.SeriesNumber != b.SeriesNumber ||
				a.SeriesDescription != b.SeriesDescription || (a.Rows == b.Rows && a.Cols == b.Cols) ||
				a.HasOrientation != b.HasOrientation || (a.HasOrientation && !orientClose(a.Orientation, b.Orientation, tol)) {
				continue
			}
			a.Warnings = append(a.Warnings, fmt.Errorf("%w: this series (%dx%d, %d images) shares its identity with %dx%d images (%d), assembled separately",
				ErrMixedMatrix, a.Rows, a.Cols, a.TotalImages, b.Rows, b.Cols, b.TotalImages))
		}
	}
}
