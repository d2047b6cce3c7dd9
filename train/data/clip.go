package data

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/cmrfm/cmrfm/cine"
)

// SliceRanges says how a slice of a multi-slice view becomes a frame range.
type SliceRanges int

const (
	// RangesReference reproduces retrieve_mri_video (docs/reference.md §2.4):
	// a clip is chosen by a slice_frames entry sf[k] — the LAST frame of
	// slice k — and spans A[:, sf[k] : sf[k]+m] with m = sf[k+1]−sf[k] (or
	// |sf[k]−sf[k−1]| for the last entry), so it starts with one frame of the
	// previous slice, and the first slice can never be chosen.
	RangesReference SliceRanges = iota
	// RangesCorrect uses true slice ranges (cine.Video.Slices): boundary k
	// selects slice k+1, [sf[k]+1, sf[k+1]+1), and a random slice of a
	// non-SAX view is drawn from all slices, the first included.
	RangesCorrect
)

func (r SliceRanges) String() string {
	switch r {
	case RangesReference:
		return "reference"
	case RangesCorrect:
		return "correct"
	}
	return fmt.Sprintf("SliceRanges(%d)", int(r))
}

// ParseSliceRanges parses "reference" or "correct".
func ParseSliceRanges(s string) (SliceRanges, error) {
	switch s {
	case "reference", "":
		return RangesReference, nil
	case "correct":
		return RangesCorrect, nil
	}
	return 0, fmt.Errorf("slice ranges %q: want reference or correct", s)
}

// ClipOptions controls how clips are cut from a view.
type ClipOptions struct {
	// Frames is the number of frames a clip is subsampled to and, with
	// DropSamples, the minimum length of a usable clip. 0 means 16.
	Frames int
	// DropSamples is the reference's drop_samples flag (default True in
	// the reference, used for LVEF regression; classification evidently ran
	// with False). When set: slice_frames lists longer than 5 are trimmed
	// of their first and last entry inside retrieve_mri_video too, and clips
	// shorter than Frames are discarded.
	DropSamples bool
	// Ranges chooses reference (off-by-one) or correct slice ranges.
	Ranges SliceRanges
}

func (o ClipOptions) frames() int {
	if o.Frames <= 0 {
		return 16
	}
	return o.Frames
}

// ClipRef locates one clip: frames [Start, End) of a view's video, before
// temporal subsampling.
type ClipRef struct {
	View cine.View
	// Start and End bound the clip's frames (End exclusive, ≤ F).
	Start, End int
	// Slice is the index of the slice the clip was chosen for (0 for a
	// single-slice view). With RangesReference, the slice whose
	// slice_frames entry starts the clip is Slice−1.
	Slice int
}

// Len returns the number of frames of the clip before subsampling.
func (r ClipRef) Len() int { return r.End - r.Start }

// ErrNoClip is wrapped by errors for views that yield no usable clip.
var ErrNoClip = errors.New("no usable clip")

func boundaries(v *cine.Video) []int {
	sf := make([]int, len(v.SliceFrames))
	for i, x := range v.SliceFrames {
		sf[i] = int(x)
	}
	return sf
}

// referenceRange is retrieve_mri_video's slice arithmetic for a view with a
// non-empty slice_frames list sf and F frames, for the clip starting at the
// entry value start. nonSAX enables the non_sax_frames fallback.
func referenceRange(sf []int, f, start int, nonSAX, dropSamples bool) (s, e int, err error) {
	nsf := 0
	if nonSAX {
		if len(sf) == 1 {
			nsf = sf[0] + 1
		} else {
			nsf = sf[len(sf)/2] - sf[len(sf)/2-1]
		}
	}
	if len(sf) > 5 && dropSamples {
		sf = sf[1 : len(sf)-1]
	}
	k := -1
	for i, x := range sf {
		if x == start {
			k = i
			break
		}
	}
	if k < 0 {
		return 0, 0, fmt.Errorf("%w: slice_frames entry %d is not in %v (the reference raises ValueError)", ErrNoClip, start, sf)
	}
	var m int
	if k != len(sf)-1 {
		m = sf[k+1] - sf[k]
	} else {
		prev := sf[len(sf)-1] // Python's sf[k-1] with k = 0 is sf[-1]
		if k > 0 {
			prev = sf[k-1]
		}
		m = abs(sf[k] - prev)
	}
	if m == 0 {
		if !nonSAX {
			return 0, 0, fmt.Errorf("%w: zero-length SAX clip at slice_frames entry %d (the reference raises UnboundLocalError on non_sax_frames)", ErrNoClip, start)
		}
		m = nsf
	}
	return start, min(start+m, f), nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// check applies the drop_samples minimum length and returns the clip.
func (o ClipOptions) check(r ClipRef) (ClipRef, error) {
	if r.Len() <= 0 {
		return r, fmt.Errorf("%w: view %s slice %d: empty frame range [%d, %d)", ErrNoClip, r.View, r.Slice, r.Start, r.End)
	}
	if o.DropSamples && r.Len() < o.frames() {
		return r, fmt.Errorf("%w: view %s slice %d: %d frames < %d (drop_samples)", ErrNoClip, r.View, r.Slice, r.Len(), o.frames())
	}
	return r, nil
}

// RandomClip chooses one clip of a view as the reference does for 4CH, 3CH
// and 2CH (input_slice='random'): the whole video for a single-slice view,
// else a random slice. The reference draws the slice from Python's
// unseeded global generator, even at test time; here it comes from rng.
func RandomClip(view cine.View, v *cine.Video, o ClipOptions, rng *rand.Rand) (ClipRef, error) {
	if len(v.SliceFrames) == 0 {
		return o.check(ClipRef{View: view, Start: 0, End: v.F})
	}
	if o.Ranges == RangesCorrect {
		sl := v.Slices()
		k := rng.IntN(len(sl))
		return o.check(ClipRef{View: view, Start: sl[k].Start, End: sl[k].End, Slice: k})
	}
	sf := boundaries(v)
	cand := sf
	if len(cand) > 5 && o.DropSamples {
		cand = cand[1 : len(cand)-1]
	}
	start := cand[rng.IntN(len(cand))]
	s, e, err := referenceRange(sf, v.F, start, true, o.DropSamples)
	if err != nil {
		return ClipRef{}, fmt.Errorf("view %s: %w", view, err)
	}
	return o.check(ClipRef{View: view, Start: s, End: e, Slice: indexOf(sf, start) + 1})
}

func indexOf(xs []int, x int) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}

// TemporalIndices returns pytorchvideo's uniform_temporal_subsample indices
// for a clip of t frames: clamp(linspace(0, t−1, n), 0, t−1).long(), with
// torch's float32 linspace (start + step·i below the halfway point,
// end − step·(n−1−i) from it) and truncation toward zero. For t < n frames
// repeat.
func TemporalIndices(t, n int) []int {
	idx := make([]int, n)
	if t <= 0 || n <= 0 {
		return idx[:0]
	}
	pts := linspace32(0, float32(t-1), n)
	for i, p := range pts {
		p = min(max(p, 0), float32(t-1))
		idx[i] = int(p)
	}
	return idx
}

// linspace32 is torch.linspace(start, end, steps) in float32 on an AVX2
// CPU. ATen's kernel evaluates blocks of 16 outputs as two 8-lane vectors,
// each lane base + k·step with base = start + step·i0 below the halfway
// point and end − step·(steps−1−i0) from it (i0 = the vector's first
// index), the base rounded once; the tail is scalar with the same base
// formula per index. Checked against torch for 1–300 frames.
func linspace32(start, end float32, steps int) []float32 {
	out := make([]float32, steps)
	if steps == 1 {
		out[0] = start
		return out
	}
	step := (end - start) / float32(steps-1)
	half := steps / 2
	// The base is rounded once from the exact value (the compiled kernel
	// fuses the multiply-add; float64 holds the product exactly).
	base := func(i int) float32 {
		if i < half {
			return float32(float64(start) + float64(step)*float64(i))
		}
		return float32(float64(end) - float64(step)*float64(steps-i-1))
	}
	const lanes = 8
	i := 0
	for ; i <= steps-2*lanes; i += 2 * lanes {
		for _, i0 := range [2]int{i, i + lanes} {
			b := base(i0)
			for k := range lanes {
				out[i0+k] = b + float32(float32(k)*step)
			}
		}
	}
	for ; i < steps; i++ {
		out[i] = base(i)
	}
	return out
}
