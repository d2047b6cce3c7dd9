package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/cmrfm/cmrfm/cine"
)

// SAXSelect chooses which SAX slices of a study enter its bag.
type SAXSelect int

const (
	// SAXEveryOther keeps the entries at even positions of the (trimmed)
	// slice list: the reference with drop_samples=True, its default and the
	// LVEF setting ("50 % of SAX views" in the paper, deterministic in code).
	SAXEveryOther SAXSelect = iota
	// SAXAll keeps every entry of the (trimmed) slice list: the reference
	// with drop_samples=False, used for disease classification.
	SAXAll
	// SAXRandomFraction keeps a seeded random SAXFraction of the trimmed
	// slice list (at least one), in slice order: the paper's "random 50 % of
	// SAX views".
	SAXRandomFraction
)

func (s SAXSelect) String() string {
	switch s {
	case SAXEveryOther:
		return "every-other"
	case SAXAll:
		return "all"
	case SAXRandomFraction:
		return "random-fraction"
	}
	return fmt.Sprintf("SAXSelect(%d)", int(s))
}

// ParseSAXSelect parses "every-other", "all" or "random-fraction".
func ParseSAXSelect(s string) (SAXSelect, error) {
	switch s {
	case "every-other", "":
		return SAXEveryOther, nil
	case "all":
		return SAXAll, nil
	case "random-fraction":
		return SAXRandomFraction, nil
	}
	return 0, fmt.Errorf("SAX selection %q: want every-other, all or random-fraction", s)
}

// BagOptions controls how a study becomes a multi-instance bag
// (docs/reference.md §2.3).
type BagOptions struct {
	Clip ClipOptions
	// Views lists the views that may enter a bag; nil means the reference's
	// mri_views [4CH, 2CH, 3CH, SAX]. The bag's order is NOT this order but
	// the order in which h5py lists a file's datasets: byte order
	// (2CH, 3CH, 4CH, SAX).
	Views []cine.View
	// SAX selects the SAX slices (see SAXSelect).
	SAX SAXSelect
	// SAXFraction is the fraction kept by SAXRandomFraction (0 means 0.5).
	SAXFraction float64
	// KeepSingleSliceSAX puts a single-slice SAX view (empty slice_frames)
	// in the bag as one clip. The reference silently drops it (false).
	KeepSingleSliceSAX bool
	// MaxClips, when positive, is the most clips a bag may hold; SelectBag
	// returns an error for a larger bag rather than truncating it silently.
	MaxClips int
}

// RegressionBag returns the reference's LVEF settings: drop_samples=True
// (every other SAX boundary after trimming; clips shorter than 16 frames
// discarded), reference slice ranges.
func RegressionBag() BagOptions {
	return BagOptions{Clip: ClipOptions{Frames: 16, DropSamples: true}, SAX: SAXEveryOther}
}

// ClassificationBag returns the settings inferred for the reference's
// disease classification: drop_samples=False (every SAX boundary after
// trimming), reference slice ranges.
func ClassificationBag() BagOptions {
	return BagOptions{Clip: ClipOptions{Frames: 16, DropSamples: false}, SAX: SAXAll}
}

// DefaultViews is the reference's mri_views.
func DefaultViews() []cine.View {
	return []cine.View{cine.View4CH, cine.View2CH, cine.View3CH, cine.ViewSAX}
}

func (o BagOptions) views() []cine.View {
	if o.Views == nil {
		return DefaultViews()
	}
	return o.Views
}

// Wants reports whether view v may enter a bag.
func (o BagOptions) Wants(v cine.View) bool { return slices.Contains(o.views(), v) }

// Skip records a view or slice that yielded no clip, and why.
type Skip struct {
	View   cine.View
	Slice  int
	Reason string
}

// SelectBag chooses the clips of one study: names are the file's dataset
// names (any order; they are visited in byte order as h5py lists them),
// video returns a view's video (only called for wanted views). Unusable
// clips are reported in skipped, not as errors; an empty bag is not an
// error either (the reference replaces such a study by a random other one,
// see §2.6 — a loop should skip it and count it).
func SelectBag(names []string, video func(cine.View) (*cine.Video, error), o BagOptions, rng *rand.Rand) (clips []ClipRef, skipped []Skip, err error) {
	sorted := slices.Clone(names)
	slices.Sort(sorted) // h5py iterates group members in byte order
	for _, name := range sorted {
		view := cine.View(name)
		if !o.Wants(view) {
			continue
		}
		v, err := video(view)
		if err != nil {
			return nil, nil, err
		}
		if view != cine.ViewSAX {
			c, err := RandomClip(view, v, o.Clip, rng)
			if err != nil {
				skipped = append(skipped, Skip{View: view, Slice: c.Slice, Reason: err.Error()})
				continue
			}
			clips = append(clips, c)
			continue
		}
		cs, sk := SAXClips(v, o, rng)
		clips = append(clips, cs...)
		skipped = append(skipped, sk...)
	}
	if o.MaxClips > 0 && len(clips) > o.MaxClips {
		return nil, nil, fmt.Errorf("bag of %d clips exceeds the maximum of %d (raise MaxClips)", len(clips), o.MaxClips)
	}
	return clips, skipped, nil
}

// SAXClips returns the clips of a SAX stack as SelectBag does: the slice
// list is trimmed of its first and last entry when it has more than five
// boundaries, then SAX selects entries, one clip per entry.
func SAXClips(v *cine.Video, o BagOptions, rng *rand.Rand) (clips []ClipRef, skipped []Skip) {
	if len(v.SliceFrames) == 0 {
		if !o.KeepSingleSliceSAX {
			return nil, []Skip{{View: cine.ViewSAX, Reason: "single-slice SAX (empty slice_frames): the reference drops it"}}
		}
		c, err := o.Clip.check(ClipRef{View: cine.ViewSAX, Start: 0, End: v.F})
		if err != nil {
			return nil, []Skip{{View: cine.ViewSAX, Reason: err.Error()}}
		}
		return []ClipRef{c}, nil
	}
	sf := boundaries(v)
	// Candidates: boundary entries (reference) or slice indices (correct).
	var cand []int
	if o.Clip.Ranges == RangesCorrect {
		for k := range len(sf) + 1 {
			cand = append(cand, k)
		}
	} else {
		cand = slices.Clone(sf)
	}
	if len(sf) > 5 {
		cand = cand[1 : len(cand)-1]
	}
	cand = o.selectSAX(cand, rng)
	slicesOf := v.Slices()
	for _, c := range cand {
		var ref ClipRef
		var err error
		if o.Clip.Ranges == RangesCorrect {
			sl := slicesOf[c]
			ref, err = o.Clip.check(ClipRef{View: cine.ViewSAX, Start: sl.Start, End: sl.End, Slice: c})
		} else {
			var s, e int
			s, e, err = referenceRange(sf, v.F, c, false, o.Clip.DropSamples)
			if err == nil {
				ref, err = o.Clip.check(ClipRef{View: cine.ViewSAX, Start: s, End: e, Slice: indexOf(sf, c) + 1})
			}
		}
		if err != nil {
			skipped = append(skipped, Skip{View: cine.ViewSAX, Slice: ref.Slice, Reason: err.Error()})
			continue
		}
		clips = append(clips, ref)
	}
	return clips, skipped
}

func (o BagOptions) selectSAX(cand []int, rng *rand.Rand) []int {
	switch o.SAX {
	case SAXAll:
		return cand
	case SAXRandomFraction:
		frac := o.SAXFraction
		if frac <= 0 {
			frac = 0.5
		}
		n := max(1, min(len(cand), int(math.Round(frac*float64(len(cand))))))
		pick := rng.Perm(len(cand))[:n]
		slices.Sort(pick)
		out := make([]int, n)
		for i, p := range pick {
			out[i] = cand[p]
		}
		return out
	}
	var out []int
	for i, c := range cand {
		if i%2 == 0 {
			out = append(out, c)
		}
	}
	return out
}
