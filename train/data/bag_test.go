package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/store"
)

// stack returns a uint8 video of S slices of n frames each, whose pixel
// value at frame f is f (so a clip's frames can be read back).
func stack(slices, n, h, w int) *cine.Video {
	v := cine.NewVideo(3, slices*n, h, w)
	for c := range 3 {
		for f := range v.F {
			for i := range v.Frame(c, f) {
				v.Frame(c, f)[i] = uint8(f)
			}
		}
	}
	fps := make([]int, slices)
	for i := range fps {
		fps[i] = n
	}
	v.SliceFrames = cine.SliceFramesFor(fps)
	return v
}

func viewsOf(refs []ClipRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, fmt.Sprintf("%s[%d,%d)", r.View, r.Start, r.End))
	}
	return out
}

// TestSAXReferenceSelection checks the cases docs/reference.md §2.3–2.4 spell
// out: a 10-slice stack of 20 frames per slice has 9 boundaries
// [19, 39, …, 179]; trimming keeps [39 … 159] (7); drop_samples keeps
// positions 0, 2, 4, 6 → 4 clips; without it all 7. Each reference clip
// starts at the boundary (the last frame of the previous slice) and is 20
// frames long.
func TestSAXReferenceSelection(t *testing.T) {
	v := stack(10, 20, 4, 4)
	clips, sk := SAXClips(v, RegressionBag(), NewRNG(0, 0, 0))
	if len(sk) != 0 {
		t.Fatalf("skipped %v", sk)
	}
	want := []string{"SAX[39,59)", "SAX[79,99)", "SAX[119,139)", "SAX[159,179)"}
	if got := viewsOf(clips); !slices.Equal(got, want) {
		t.Errorf("drop_samples=True: %v, want %v", got, want)
	}
	clips, _ = SAXClips(v, ClassificationBag(), NewRNG(0, 0, 0))
	if len(clips) != 7 || clips[0].Start != 39 || clips[6].Start != 159 || clips[6].Len() != 20 {
		t.Errorf("drop_samples=False: %v, want 7 clips from 39 to 159, 20 frames each", viewsOf(clips))
	}
	// Correct ranges: the same slices (boundary k → slice k+1) without the
	// stray frame, and symmetric trimming over slices: slices 1…8, every other.
	o := RegressionBag()
	o.Clip.Ranges = RangesCorrect
	clips, _ = SAXClips(v, o, NewRNG(0, 0, 0))
	want = []string{"SAX[20,40)", "SAX[60,80)", "SAX[100,120)", "SAX[140,160)"}
	if got := viewsOf(clips); !slices.Equal(got, want) {
		t.Errorf("correct ranges: %v, want %v", got, want)
	}
	// Extract reads the frames back: the reference clip's first frame is
	// the previous slice's last (19 → value 39 for the clip at 39).
	c, err := Extract(v, ClipRef{View: cine.ViewSAX, Start: 39, End: 59}, ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.T != 16 || c.Plane(0, 0)[0] != 39 || c.Plane(0, 15)[0] != 58 || !c.Shared {
		t.Errorf("extract: T=%d first %v last %v shared %v", c.T, c.Plane(0, 0)[0], c.Plane(0, 15)[0], c.Shared)
	}
}

// TestSAXEdgeCases: ≤ 5 boundaries are not trimmed; a 2-slice stack's one
// boundary gives a zero-length clip, on which the reference raises
// (reported as skipped); a single-slice SAX is dropped unless asked for;
// short clips are dropped with drop_samples.
func TestSAXEdgeCases(t *testing.T) {
	v := stack(4, 20, 2, 2) // sf = [19, 39, 59]
	clips, _ := SAXClips(v, ClassificationBag(), nil)
	if got := viewsOf(clips); !slices.Equal(got, []string{"SAX[19,39)", "SAX[39,59)", "SAX[59,79)"}) {
		t.Errorf("4 slices: %v", got)
	}
	clips, sk := SAXClips(stack(2, 20, 2, 2), RegressionBag(), nil)
	if len(clips) != 0 || len(sk) != 1 || !strings.Contains(sk[0].Reason, "UnboundLocalError") {
		t.Errorf("2 slices: clips %v skipped %v", viewsOf(clips), sk)
	}
	one := stack(1, 30, 2, 2)
	if clips, sk := SAXClips(one, RegressionBag(), nil); len(clips) != 0 || len(sk) != 1 {
		t.Errorf("single-slice SAX kept by default: %v", viewsOf(clips))
	}
	o := RegressionBag()
	o.KeepSingleSliceSAX = true
	if clips, _ := SAXClips(one, o, nil); len(clips) != 1 || clips[0].Len() != 30 {
		t.Errorf("KeepSingleSliceSAX: %v", viewsOf(clips))
	}
	short := stack(8, 12, 2, 2)
	if clips, sk := SAXClips(short, RegressionBag(), nil); len(clips) != 0 || len(sk) == 0 {
		t.Errorf("12-frame slices with drop_samples: %v", viewsOf(clips))
	}
	if clips, _ := SAXClips(short, ClassificationBag(), nil); len(clips) != 5 {
		t.Errorf("12-frame slices without drop_samples: %d clips, want 5", len(clips))
	}
	o = RegressionBag()
	o.SAX, o.SAXFraction = SAXRandomFraction, 0.5
	clips, _ = SAXClips(stack(10, 20, 2, 2), o, NewRNG(3, 0, 0))
	if len(clips) != 4 { // round(0.5·7)
		t.Errorf("random half of 7: %d clips", len(clips))
	}
}

// TestNonSAXReference: a single-slice view gives all frames; a 2-slice LAX
// view (sf=[n−1]) gives non_sax_frames = n frames from n−1 (§2.4 step 4).
func TestNonSAXReference(t *testing.T) {
	r, err := RandomClip(cine.View4CH, stack(1, 25, 2, 2), ClipOptions{DropSamples: true}, nil)
	if err != nil || r.Start != 0 || r.End != 25 {
		t.Errorf("single slice: %+v %v", r, err)
	}
	r, err = RandomClip(cine.View2CH, stack(2, 20, 2, 2), ClipOptions{DropSamples: true}, NewRNG(0, 0, 0))
	if err != nil || r.Start != 19 || r.End != 39 {
		t.Errorf("two slices: %+v %v", r, err)
	}
	r, err = RandomClip(cine.View2CH, stack(2, 20, 2, 2), ClipOptions{Ranges: RangesCorrect}, NewRNG(0, 0, 0))
	if err != nil || r.Len() != 20 || (r.Start != 0 && r.Start != 20) {
		t.Errorf("two slices, correct: %+v %v", r, err)
	}
	if _, err := RandomClip(cine.View4CH, stack(1, 10, 2, 2), ClipOptions{DropSamples: true}, nil); !errors.Is(err, ErrNoClip) {
		t.Errorf("10 frames with drop_samples: err %v", err)
	}
}

// TestBagOrder: views are visited in byte order (h5py), unwanted views
// (LVOT) are ignored, the SAX clips follow in slice order.
func TestBagOrder(t *testing.T) {
	vids := map[cine.View]*cine.Video{
		"4CH": stack(1, 30, 2, 2), "SAX": stack(10, 20, 2, 2), "2CH": stack(1, 30, 2, 2), "LVOT": stack(1, 30, 2, 2), "3CH": stack(1, 30, 2, 2),
	}
	names := []string{"SAX", "LVOT", "4CH", "2CH", "3CH"}
	refs, _, err := SelectBag(names, func(v cine.View) (*cine.Video, error) { return vids[v], nil }, RegressionBag(), NewRNG(1, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range refs {
		got = append(got, string(r.View))
	}
	if want := []string{"2CH", "3CH", "4CH", "SAX", "SAX", "SAX", "SAX"}; !slices.Equal(got, want) {
		t.Errorf("bag views %v, want %v", got, want)
	}
	o := RegressionBag()
	o.MaxClips = 5
	if _, _, err := SelectBag(names, func(v cine.View) (*cine.Video, error) { return vids[v], nil }, o, NewRNG(1, 2, 3)); err == nil {
		t.Error("bag of 7 > MaxClips 5 accepted")
	}
}

// writeStore writes n studies of two patients each into a temp store and
// returns its root and index rows.
func writeStore(t *testing.T, n int) (string, []store.IndexRow) {
	t.Helper()
	root := t.TempDir()
	var rows []store.IndexRow
	for i := range n {
		s := &cine.Study{Key: fmt.Sprint(i), Views: map[cine.View]*cine.Video{
			cine.View4CH: stack(1, 18+i%5, 40, 48),
			cine.View2CH: stack(1, 20, 40, 48),
			cine.ViewSAX: stack(7, 17, 40, 48),
		}}
		pat := fmt.Sprintf("p%03d", i/2)
		path, err := store.StudyPath(root, "site", pat, fmt.Sprintf("s%03d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := store.Write(path, s); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, store.IndexRow{ParentFolder: "site_" + pat, Accession: filepath.Base(path), Split: "train",
			Values: map[string]string{"lvef": fmt.Sprint(50 + i), "hcm": fmt.Sprint(i % 3 / 2)}})
	}
	return root, rows
}

func smallTransform(train bool) Transform {
	tr := EvalTransform()
	if train {
		tr = TrainTransform()
	}
	tr.MinSize, tr.MaxSize, tr.Crop = 32, 44, 28
	if !train {
		tr.MaxSize = 32
	}
	return tr
}

// TestPrefetchDeterministic: the same bags, in the same order, with 1 or 3
// workers; a second epoch differs; Stats counts the items.
func TestPrefetchDeterministic(t *testing.T) {
	root, rows := writeStore(t, 6)
	ds := &BagDataset{Root: root, Rows: rows, Targets: []string{"lvef"}, Bag: RegressionBag(), Transform: smallTransform(true), Seed: 7}
	run := func(workers, epoch int) []*BagSample {
		order := Permutation(ds.Seed, epoch, ds.Len())
		s := Prefetch(context.Background(), ds.Len(), func(_ context.Context, p int) (*BagSample, error) {
			return ds.Load(epoch, order[p])
		}, PrefetchOptions{Workers: workers, Depth: 2})
		defer s.Close()
		var out []*BagSample
		for {
			b, _, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		if st := s.Stats(); st.Items != ds.Len() || st.Load <= 0 {
			t.Errorf("stats %+v", st)
		}
		return out
	}
	a, b, c := run(1, 0), run(3, 0), run(3, 1)
	same := func(x, y []*BagSample) bool {
		for i := range x {
			if x[i].Key != y[i].Key || len(x[i].Clips) != len(y[i].Clips) {
				return false
			}
			for k := range x[i].Clips {
				if !slices.Equal(x[i].Clips[k].Data, y[i].Clips[k].Data) {
					return false
				}
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("1 and 3 workers gave different bags")
	}
	if same(a, c) {
		t.Error("epochs 0 and 1 gave identical bags")
	}
	// 4CH (one slice) + 2CH + SAX: 7 slices → 6 boundaries → 4 trimmed → 2 clips of 17 frames.
	if n := len(a[0].Clips); n != 4 {
		t.Errorf("bag has %d clips (%v), want 4", n, a[0].Views())
	}
	if cl := a[0].Clips[0]; cl.C != 3 || cl.T != 16 || cl.H != 28 || cl.W != 28 || cl.Shared {
		t.Errorf("clip shape (%d,%d,%d,%d) shared=%v", cl.C, cl.T, cl.H, cl.W, cl.Shared)
	}
	bb, err := PadBags(a[:3], 6, 16)
	if err != nil {
		t.Fatal(err)
	}
	if bb.NumClips != 12 || bb.ClipDims != [5]int{16, 3, 16, 28, 28} || len(bb.Clips) != 16*3*16*28*28 {
		t.Errorf("padded batch: %d clips, dims %v", bb.NumClips, bb.ClipDims)
	}
	if !slices.Equal(bb.Mask[:6], []float32{1, 1, 1, 1, 0, 0}) || !slices.Equal(bb.Gather[6:12], []int32{4, 5, 6, 7, 0, 0}) {
		t.Errorf("mask %v gather %v", bb.Mask, bb.Gather)
	}
	if _, err := PadBags(a[:1], 3, 0); err == nil {
		t.Error("bag of 4 fitted into 3 slots")
	}
}

// TestPrefetchOverlap: with 2 workers, items that take 20 ms each are
// delivered while the consumer "trains", so its waits are below the
// sequential cost; Close mid-stream returns promptly.
func TestPrefetchClose(t *testing.T) {
	s := Prefetch(context.Background(), 100, func(ctx context.Context, p int) (int, error) {
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
		}
		return p * p, nil
	}, PrefetchOptions{Workers: 2, Start: 10})
	for i := 10; i < 15; i++ {
		v, p, err := s.Next()
		if err != nil || p != i || v != i*i {
			t.Fatalf("item %d: got %d at %d, %v", i, v, p, err)
		}
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
}

func TestClipDataset(t *testing.T) {
	root, rows := writeStore(t, 3)
	ds := &ClipDataset{Root: root, Rows: rows, Clip: ClipOptions{Frames: 16}, Transform: smallTransform(false), Seed: 1}
	seen := map[cine.View]bool{}
	for e := range 8 {
		for i := range ds.Len() {
			s, err := ds.Load(e, i)
			if err != nil {
				t.Fatal(err)
			}
			seen[s.Ref.View] = true
			if s.Clip.T != 16 || s.Clip.H != 28 {
				t.Fatalf("clip (%d,%d,%d,%d)", s.Clip.C, s.Clip.T, s.Clip.H, s.Clip.W)
			}
		}
	}
	if len(seen) != 3 {
		t.Errorf("views drawn: %v", seen)
	}
}

// TestSubsampleAndPosWeight: GroupShuffleSplit counts (G − ⌈(1−p)G⌉
// patients), whole patients kept, seeded; pos_weight both ways.
func TestSubsampleAndPosWeight(t *testing.T) {
	var rows []store.IndexRow
	for i := range 40 {
		rows = append(rows, store.IndexRow{ParentFolder: fmt.Sprintf("s_p%d", i/2), Accession: fmt.Sprint(i), Values: map[string]string{"y": fmt.Sprint(min(1, i%4/3))}})
	}
	rows[5].Values["y"] = ""
	for _, tc := range []struct {
		frac     float64
		patients int
	}{{0.1, 2}, {0.25, 5}, {0.5, 10}, {0.33, 6}, {1, 20}} {
		got, err := SubsampleByPatient(rows, tc.frac, 42)
		if err != nil {
			t.Fatal(err)
		}
		pats := map[string]int{}
		for _, r := range got {
			pats[r.ParentFolder]++
		}
		if len(pats) != tc.patients || len(got) != 2*tc.patients {
			t.Errorf("fraction %g: %d patients, %d rows; want %d patients", tc.frac, len(pats), len(got), tc.patients)
		}
		again, _ := SubsampleByPatient(rows, tc.frac, 42)
		if len(again) != len(got) || (len(got) > 0 && again[0].Accession != got[0].Accession) {
			t.Errorf("fraction %g: not reproducible", tc.frac)
		}
	}
	// 40 rows, 1 unlabelled; positives i%4 == 3: 10 (row 5 is i%4 == 1).
	ref, _ := PosWeight(rows, "y", PosWeightReference)
	ratio, _ := PosWeight(rows, "y", PosWeightRatio)
	if ref != 4 || math.Abs(ratio-2.9) > 1e-12 {
		t.Errorf("pos_weight reference %g (want 40/10), ratio %g (want 29/10)", ref, ratio)
	}
	if _, err := PosWeight(rows[:3], "y", PosWeightRatio); err == nil {
		t.Error("no positives accepted")
	}
}

// TestExtractFloat32Store: a float32 view (the reference's raw-intensity
// stores) extracts to the same clip as the equal uint8 view, and distinct
// channels are kept apart.
func TestExtractFloat32Store(t *testing.T) {
	u := stack(2, 20, 3, 5)
	f := &cine.Video{C: u.C, F: u.F, H: u.H, W: u.W, Float: make([]float32, len(u.Pix)), SliceFrames: u.SliceFrames}
	for i, p := range u.Pix {
		f.Float[i] = float32(p)
	}
	ref := ClipRef{View: cine.View2CH, Start: 3, End: 25}
	a, _ := Extract(u, ref, ExtractOptions{})
	b, _ := Extract(f, ref, ExtractOptions{})
	if !a.Shared || !b.Shared || !slices.Equal(a.Data, b.Data) {
		t.Errorf("uint8 and float32 views extract differently (shared %v %v)", a.Shared, b.Shared)
	}
	f.Float[f.Offset(2, 10, 1, 1)] += 0.5
	c, _ := Extract(f, ref, ExtractOptions{})
	if c.Shared || c.Planes() != 3 {
		t.Error("distinct channels stored as shared")
	}
}
