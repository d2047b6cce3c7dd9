package cine

import (
	"errors"
	"fmt"
)

// View names a cine view. The four canonical views are the store's dataset
// names; other values (raw SeriesDescription keys of reference stores) are
// allowed and kept as they are.
type View string

// The canonical views, in the order cmrfm lists them.
const (
	View4CH View = "4CH"
	View3CH View = "3CH"
	View2CH View = "2CH"
	ViewSAX View = "SAX"
)

// Views lists the canonical views in display order.
func Views() []View { return []View{View4CH, View3CH, View2CH, ViewSAX} }

// Canonical reports whether v is one of the four canonical views.
func (v View) Canonical() bool {
	switch v {
	case View4CH, View3CH, View2CH, ViewSAX:
		return true
	}
	return false
}

// Video is a 4-D cine array with shape (C, F, H, W), stored c-major in one
// flat buffer. Exactly one of Pix (uint8, cmrfm's store type) and Float
// (float32, the type of the reference toolkit's stores, which keep raw DICOM
// intensities) is set.
type Video struct {
	C, F, H, W int
	Pix        []uint8
	Float      []float32

	// SliceFrames holds the index of the last frame of each slice except the
	// last one (reference convention; empty for single-slice views).
	SliceFrames []int32
	// TotalImages is the number of DICOM images the view was built from,
	// counted before corrupt files were dropped (reference semantics).
	TotalImages int32
}

// NewVideo returns a zeroed uint8 Video of the given shape.
func NewVideo(c, f, h, w int) *Video {
	return &Video{C: c, F: f, H: h, W: w, Pix: make([]uint8, c*f*h*w), TotalImages: int32(f)}
}

// Shape returns (C, F, H, W).
func (v *Video) Shape() [4]int { return [4]int{v.C, v.F, v.H, v.W} }

// Len returns the number of elements C·F·H·W.
func (v *Video) Len() int { return v.C * v.F * v.H * v.W }

// Offset returns the index of element (c, f, y, x) in the flat buffer.
func (v *Video) Offset(c, f, y, x int) int { return ((c*v.F+f)*v.H+y)*v.W + x }

// At returns element (c, f, y, x) as float32, whatever the storage type.
func (v *Video) At(c, f, y, x int) float32 {
	i := v.Offset(c, f, y, x)
	if v.Pix != nil {
		return float32(v.Pix[i])
	}
	return v.Float[i]
}

// Frame returns the h×w plane of channel c, frame f, sharing v's memory.
// It panics if v is not uint8.
func (v *Video) Frame(c, f int) []uint8 {
	n := v.H * v.W
	i := (c*v.F + f) * n
	return v.Pix[i : i+n : i+n]
}

// Slice is a half-open frame range [Start, End) of one slice of a stack.
type Slice struct{ Start, End int }

// Slices returns the frame range of every slice, derived from SliceFrames:
// slice k spans (SliceFrames[k-1], SliceFrames[k]], the first starts at 0
// and the last ends at F.
func (v *Video) Slices() []Slice {
	out := make([]Slice, 0, len(v.SliceFrames)+1)
	start := 0
	for _, last := range v.SliceFrames {
		out = append(out, Slice{start, int(last) + 1})
		start = int(last) + 1
	}
	return append(out, Slice{start, v.F})
}

// SliceFramesFor returns the reference's slice_frames for slices of the given
// frame counts: the cumulative last-frame index of every slice but the last.
func SliceFramesFor(framesPerSlice []int) []int32 {
	if len(framesPerSlice) == 0 {
		return nil
	}
	out := make([]int32, 0, len(framesPerSlice)-1)
	n := 0
	for _, f := range framesPerSlice[:len(framesPerSlice)-1] {
		n += f
		out = append(out, int32(n-1))
	}
	return out
}

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid cine video")

// Validate checks that the shape is positive, the buffer matches it, and that
// SliceFrames is strictly increasing inside [0, F-1).
func (v *Video) Validate() error {
	if v.C <= 0 || v.F <= 0 || v.H <= 0 || v.W <= 0 {
		return fmt.Errorf("%w: shape (c,f,h,w)=%v has a non-positive dimension", ErrInvalid, v.Shape())
	}
	switch {
	case v.Pix != nil && v.Float != nil:
		return fmt.Errorf("%w: both uint8 and float32 buffers set", ErrInvalid)
	case v.Pix != nil && len(v.Pix) != v.Len():
		return fmt.Errorf("%w: %d uint8 values for shape %v (want %d)", ErrInvalid, len(v.Pix), v.Shape(), v.Len())
	case v.Float != nil && len(v.Float) != v.Len():
		return fmt.Errorf("%w: %d float32 values for shape %v (want %d)", ErrInvalid, len(v.Float), v.Shape(), v.Len())
	case v.Pix == nil && v.Float == nil:
		return fmt.Errorf("%w: no pixel buffer", ErrInvalid)
	}
	prev := int32(-1)
	for i, s := range v.SliceFrames {
		if s <= prev {
			return fmt.Errorf("%w: slice_frames[%d]=%d is not increasing (previous %d)", ErrInvalid, i, s, prev)
		}
		if int(s) >= v.F-1 {
			return fmt.Errorf("%w: slice_frames[%d]=%d leaves no frame for the last slice (f=%d)", ErrInvalid, i, s, v.F)
		}
		prev = s
	}
	if v.TotalImages < 0 {
		return fmt.Errorf("%w: total_images=%d is negative", ErrInvalid, v.TotalImages)
	}
	return nil
}

// Study is one imaging study: a key (the store's file identity) and its views.
type Study struct {
	// Key identifies the study, e.g. "site_patienthash-studyhash".
	Key   string
	Views map[View]*Video
}

// ViewNames returns the study's views, canonical ones first in display order,
// then any others in byte order.
func (s *Study) ViewNames() []View {
	var out []View
	for _, v := range Views() {
		if _, ok := s.Views[v]; ok {
			out = append(out, v)
		}
	}
	var other []View
	for v := range s.Views {
		if !v.Canonical() {
			other = append(other, v)
		}
	}
	sortViews(other)
	return append(out, other...)
}

func sortViews(vs []View) {
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && vs[j] < vs[j-1]; j-- {
			vs[j], vs[j-1] = vs[j-1], vs[j]
		}
	}
}
