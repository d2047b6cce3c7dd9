package data

import (
	"fmt"
	"math"
	"slices"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/store"
)

// openStudy opens a study file and returns its dataset names and a cached
// video reader.
func openStudy(path string, layout store.Layout) (names []string, video func(cine.View) (*cine.Video, error), closeFn func() error, err error) {
	f, err := store.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	cache := map[cine.View]*cine.Video{}
	video = func(v cine.View) (*cine.Video, error) {
		if x, ok := cache[v]; ok {
			return x, nil
		}
		x, err := f.ReadVideo(string(v), layout)
		if err != nil {
			return nil, err
		}
		cache[v] = x
		return x, nil
	}
	return f.Names(), video, f.Close, nil
}

// Targets reads the label columns of a row as float32 (NaN when missing).
func Targets(r store.IndexRow, columns []string) []float32 {
	out := make([]float32, len(columns))
	for i, c := range columns {
		v, ok := r.Float(c)
		if !ok {
			out[i] = float32(math.NaN())
			continue
		}
		out[i] = float32(v)
	}
	return out
}

// BagDataset yields one multi-instance bag per study: the fine-tuning and
// evaluation data of docs/reference.md §2.3–2.5.
type BagDataset struct {
	// Root is the store root; Rows the studies (e.g. Index.Filter("train")).
	Root string
	Rows []store.IndexRow
	// Targets names the label columns returned with each bag.
	Targets   []string
	Bag       BagOptions
	Transform Transform
	// Seed seeds every random choice (NewRNG(Seed, epoch, index)).
	Seed   uint64
	Layout store.Layout
}

// BagSample is one loaded bag.
type BagSample struct {
	Index int    // position in Rows
	Key   string // parent_folder-accession, the reference's filename
	// Clips are the transformed clips, each (C, T, Crop, Crop), in bag
	// order (dataset names in byte order, SAX slices in slice order).
	Clips   []*Clip
	Refs    []ClipRef
	Skipped []Skip
	Targets []float32
}

// Views returns the view of each clip.
func (b *BagSample) Views() []cine.View {
	out := make([]cine.View, len(b.Refs))
	for i, r := range b.Refs {
		out[i] = r.View
	}
	return out
}

// Len returns the number of studies.
func (d *BagDataset) Len() int { return len(d.Rows) }

// Load reads and transforms the bag of study i for epoch epoch. A study
// with no usable clip gives a sample with no clips and the reasons in
// Skipped (the reference silently substitutes another study; a loop
// should skip and count it).
func (d *BagDataset) Load(epoch, i int) (*BagSample, error) {
	if i < 0 || i >= len(d.Rows) {
		return nil, fmt.Errorf("data: study %d out of range [0, %d)", i, len(d.Rows))
	}
	if err := d.Transform.Validate(); err != nil {
		return nil, err
	}
	row := d.Rows[i]
	names, video, closeFn, err := openStudy(row.Path(d.Root), d.Layout)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	rng := NewRNG(d.Seed, epoch, i)
	refs, skipped, err := SelectBag(names, video, d.Bag, rng)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", row.Filename(), err)
	}
	s := &BagSample{Index: i, Key: row.Filename(), Refs: refs, Skipped: skipped, Targets: Targets(row, d.Targets)}
	for _, r := range refs {
		v, err := video(r.View)
		if err != nil {
			return nil, err
		}
		c, err := Extract(v, r, ExtractOptions{Frames: d.Bag.Clip.frames()})
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", row.Filename(), err)
		}
		s.Clips = append(s.Clips, d.Transform.Apply(c, rng))
	}
	return s, nil
}

// ClipDataset yields one clip per study for contrastive pretraining: a
// random wanted view, then a random slice of it (for SAX, one of the slices
// a classification bag would use; for other views, as RandomClip). The
// authors' pretraining sampler is not released (docs/reference.md §3.7); this
// is cmrfm's choice.
type ClipDataset struct {
	Root string
	Rows []store.IndexRow
	// Views lists the views a clip may come from (nil: 4CH, 2CH, 3CH, SAX).
	Views     []cine.View
	Clip      ClipOptions
	Transform Transform
	Seed      uint64
	Layout    store.Layout
}

// ClipSample is one loaded pretraining clip.
type ClipSample struct {
	Index int
	Key   string
	Ref   ClipRef
	Clip  *Clip // (C, T, Crop, Crop)
}

// Len returns the number of studies.
func (d *ClipDataset) Len() int { return len(d.Rows) }

// Load reads one clip of study i for epoch epoch. A study whose wanted
// views yield no usable clip is an error wrapping ErrNoClip.
func (d *ClipDataset) Load(epoch, i int) (*ClipSample, error) {
	if i < 0 || i >= len(d.Rows) {
		return nil, fmt.Errorf("data: study %d out of range [0, %d)", i, len(d.Rows))
	}
	if err := d.Transform.Validate(); err != nil {
		return nil, err
	}
	row := d.Rows[i]
	names, video, closeFn, err := openStudy(row.Path(d.Root), d.Layout)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	bo := BagOptions{Clip: d.Clip, Views: d.Views, SAX: SAXAll, KeepSingleSliceSAX: true}
	var avail []cine.View
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	for _, n := range sorted {
		if bo.Wants(cine.View(n)) {
			avail = append(avail, cine.View(n))
		}
	}
	rng := NewRNG(d.Seed, epoch, i)
	// Try the views in a random order until one gives a clip.
	var lastErr error
	for _, k := range rng.Perm(len(avail)) {
		view := avail[k]
		v, err := video(view)
		if err != nil {
			return nil, err
		}
		var ref ClipRef
		if view == cine.ViewSAX {
			cands, sk := SAXClips(v, bo, rng)
			if len(cands) == 0 {
				lastErr = fmt.Errorf("%w: %v", ErrNoClip, sk)
				continue
			}
			ref = cands[rng.IntN(len(cands))]
		} else {
			ref, err = RandomClip(view, v, d.Clip, rng)
			if err != nil {
				lastErr = err
				continue
			}
		}
		c, err := Extract(v, ref, ExtractOptions{Frames: d.Clip.frames()})
		if err != nil {
			return nil, err
		}
		return &ClipSample{Index: i, Key: row.Filename(), Ref: ref, Clip: d.Transform.Apply(c, rng)}, nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%w: no wanted view among %v", ErrNoClip, names)
	}
	return nil, fmt.Errorf("data: %s: %w", row.Filename(), lastErr)
}

// StackClips concatenates equally shaped clips into one [B, C, T, H, W]
// buffer, the encoder's input.
func StackClips(clips []*Clip) (data []float32, dims [5]int, err error) {
	if len(clips) == 0 {
		return nil, dims, fmt.Errorf("data: no clips to stack")
	}
	c0 := clips[0].Expand()
	dims = [5]int{len(clips), c0.C, c0.T, c0.H, c0.W}
	n := c0.C * c0.T * c0.H * c0.W
	data = make([]float32, len(clips)*n)
	for i, c := range clips {
		c = c.Expand()
		if c.C != c0.C || c.T != c0.T || c.H != c0.H || c.W != c0.W {
			return nil, dims, fmt.Errorf("data: clip %d has shape (%d,%d,%d,%d), clip 0 (%d,%d,%d,%d)", i, c.C, c.T, c.H, c.W, c0.C, c0.T, c0.H, c0.W)
		}
		copy(data[i*n:], c.Data)
	}
	return data, dims, nil
}

// BagBatch is a batch of bags in static-shape form: the clips of all bags
// in one flat tensor for the encoder, and for the multi-instance head a
// [B, MaxInstances] gather index and mask (XLA needs static shapes, so bags
// are padded and the head masks the padding).
type BagBatch struct {
	// Clips is [ClipDims[0], C, T, H, W]: NumClips real clips (bag 0's,
	// then bag 1's, …) followed by zero clips up to ClipDims[0].
	Clips    []float32
	ClipDims [5]int
	NumClips int
	// Gather[b·MaxInstances + k] is the row of Clips (and so of the
	// encoder's output) holding instance k of bag b; padded slots point at
	// row 0 and are masked.
	Gather []int32
	// Mask[b·MaxInstances + k] is 1 for a real instance, 0 for padding.
	Mask         []float32
	MaxInstances int
	// Views[b] lists bag b's views, Keys[b] its study key.
	Views [][]cine.View
	Keys  []string
	// Targets is [B, len(targets)].
	Targets []float32
}

// PadBags assembles bags into a BagBatch with maxInstances slots per bag
// and room for clipCapacity clips (0: exactly the clips present; set it to
// keep the encoder's batch shape static). Empty bags and bags larger than
// maxInstances are errors.
func PadBags(bags []*BagSample, maxInstances, clipCapacity int) (*BagBatch, error) {
	if len(bags) == 0 {
		return nil, fmt.Errorf("data: no bags")
	}
	if maxInstances <= 0 {
		return nil, fmt.Errorf("data: maxInstances %d must be positive", maxInstances)
	}
	var clips []*Clip
	bb := &BagBatch{MaxInstances: maxInstances, Gather: make([]int32, len(bags)*maxInstances), Mask: make([]float32, len(bags)*maxInstances)}
	for b, s := range bags {
		if len(s.Clips) == 0 {
			return nil, fmt.Errorf("data: bag %s is empty", s.Key)
		}
		if len(s.Clips) > maxInstances {
			return nil, fmt.Errorf("data: bag %s has %d clips, more than the %d instance slots", s.Key, len(s.Clips), maxInstances)
		}
		for k := range s.Clips {
			bb.Gather[b*maxInstances+k] = int32(len(clips) + k)
			bb.Mask[b*maxInstances+k] = 1
		}
		clips = append(clips, s.Clips...)
		bb.Views = append(bb.Views, s.Views())
		bb.Keys = append(bb.Keys, s.Key)
		bb.Targets = append(bb.Targets, s.Targets...)
	}
	data, dims, err := StackClips(clips)
	if err != nil {
		return nil, err
	}
	bb.NumClips = len(clips)
	if clipCapacity > 0 {
		if clipCapacity < len(clips) {
			return nil, fmt.Errorf("data: %d clips exceed the clip capacity %d", len(clips), clipCapacity)
		}
		per := len(data) / len(clips)
		data = append(data, make([]float32, (clipCapacity-len(clips))*per)...)
		dims[0] = clipCapacity
	}
	bb.Clips, bb.ClipDims = data, dims
	return bb, nil
}
