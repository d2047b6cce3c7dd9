package data

import (
	"testing"

	"github.com/cmrfm/cmrfm/cine"
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
	ref := ClipRef{View: cine.View4CH, Start: 0, End: 30}
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
