package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/store"
)

// benchVideo is a 30-frame uint8 view of 360×360 stored frames (the store's
// size), 3 identical channels, values as gen_transforms.py's synth().
func benchVideo() *cine.Video {
	v := cine.NewVideo(3, 30, 360, 360)
	for c := range 3 {
		for f := range 30 {
			p := v.Frame(c, f)
			for y := range 360 {
				for x := range 360 {
					p[y*360+x] = uint8((y*37 + x*11 + f*101 + (x*y)/97) % 256)
				}
			}
		}
	}
	return v
}

// BenchmarkChain times one clip through Extract (16-frame uniform
// subsample) and the reference chain, on one core: clips/s = 1e9/ns_per_op.
// "shared" stores the identical channels once (cmrfm's default); "full"
// processes all three as torch does.
func BenchmarkChain(b *testing.B) {
	v := benchVideo()
	ref := cine.Clip{View: cine.View4CH, Start: 0, End: 30}
	for _, tc := range []struct {
		name string
		tr   Transform
	}{{"train", TrainTransform()}, {"val", EvalTransform()}} {
		for _, share := range []bool{true, false} {
			name := tc.name + "/shared"
			if !share {
				name = tc.name + "/full"
			}
			b.Run(name, func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					c, err := Extract(v, ref, ExtractOptions{NoShare: !share})
					if err != nil {
						b.Fatal(err)
					}
					tc.tr.Apply(c, NewRNG(1, 0, i))
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "clips/s")
			})
		}
	}
}

// BenchmarkBagLoad times BagDataset.Load on one realistic study written to
// a temporary store: 4CH, 3CH, 2CH of 30 frames and a 10-slice SAX of 30
// frames per slice, 3 × 360 × 360 uint8 (≈ 150 MB of pixels), regression
// bag (3 + 4 clips): reading the HDF5 file plus selecting and transforming.
func BenchmarkBagLoad(b *testing.B) {
	root := b.TempDir()
	lax := benchVideo()
	sax := cine.NewVideo(3, 300, 360, 360)
	for c := range 3 {
		for f := range 300 {
			copy(sax.Frame(c, f), lax.Frame(0, f%30))
		}
	}
	fps := make([]int, 10)
	for i := range fps {
		fps[i] = 30
	}
	sax.SliceFrames = cine.SliceFramesFor(fps)
	s := &cine.Study{Key: "k", Views: map[cine.View]*cine.Video{cine.View4CH: lax, cine.View3CH: lax, cine.View2CH: lax, cine.ViewSAX: sax}}
	path, _ := store.StudyPath(root, "site", "p", "s")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := store.Write(path, s); err != nil {
		b.Fatal(err)
	}
	rows := []store.IndexRow{{ParentFolder: "site_p", Accession: filepath.Base(path), Split: "train"}}
	for _, tc := range []struct {
		name string
		tr   Transform
	}{{"train", TrainTransform()}, {"val", EvalTransform()}} {
		ds := &BagDataset{Root: root, Rows: rows, Bag: RegressionBag(), Transform: tc.tr}
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				bag, err := ds.Load(i, 0)
				if err != nil || len(bag.Clips) != 7 {
					b.Fatalf("%v, %d clips", err, len(bag.Clips))
				}
			}
		})
	}
}
