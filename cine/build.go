package cine

import "fmt"

// Video builds s into a uint8 Video of c identical channels. Frame i of
// s.Frames() is produced by fill(i, img, plane), which must write the
// image's Rows×Cols intensities into plane (row-major); the intensity policy
// (raw, percentile window, ...) is the caller's. SliceFrames and TotalImages
// follow the reference's conventions.
func (s *Series) Video(c int, fill func(i int, img Image, plane []uint8) error) (*Video, error) {
	if s.Err != nil {
		return nil, fmt.Errorf("series %s: %w", s.Name(), s.Err)
	}
	frames := s.Frames()
	if len(frames) == 0 || c <= 0 {
		return nil, fmt.Errorf("series %s: %w", s.Name(), ErrNoImages)
	}
	v := NewVideo(c, len(frames), s.Rows, s.Cols)
	for i, img := range frames {
		if err := fill(i, img, v.Frame(0, i)); err != nil {
			return nil, fmt.Errorf("series %s frame %d (%s frame %d): %w", s.Name(), i, img.File, img.Frame, err)
		}
		for ch := 1; ch < c; ch++ {
			copy(v.Frame(ch, i), v.Frame(0, i))
		}
	}
	v.SliceFrames = s.SliceFrames()
	v.TotalImages = int32(s.TotalImages)
	return v, nil
}

// VideoFloat is Video for float32 intensities (the reference toolkit's raw
// float32 stores).
func (s *Series) VideoFloat(c int, fill func(i int, img Image, plane []float32) error) (*Video, error) {
	if s.Err != nil {
		return nil, fmt.Errorf("series %s: %w", s.Name(), s.Err)
	}
	frames := s.Frames()
	if len(frames) == 0 || c <= 0 {
		return nil, fmt.Errorf("series %s: %w", s.Name(), ErrNoImages)
	}
	n := s.Rows * s.Cols
	v := &Video{C: c, F: len(frames), H: s.Rows, W: s.Cols, Float: make([]float32, c*len(frames)*n)}
	for i, img := range frames {
		plane := v.Float[i*n : (i+1)*n]
		if err := fill(i, img, plane); err != nil {
			return nil, fmt.Errorf("series %s frame %d (%s frame %d): %w", s.Name(), i, img.File, img.Frame, err)
		}
		for ch := 1; ch < c; ch++ {
			o := (ch*v.F + i) * n
			copy(v.Float[o:o+n], plane)
		}
	}
	v.SliceFrames = s.SliceFrames()
	v.TotalImages = int32(s.TotalImages)
	return v, nil
}
