package finetune

import (
	"math/rand/v2"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/train/data"
	"github.com/gomlx/gomlx/ml/model"
)

// TestClipBatchMatchesWholeBag: encoding a bag's clips in chunks (the last
// one padded) and running the head on the features gives what the
// whole-bag graph gives, for chunk sizes that divide the bag and that do
// not.
func TestClipBatchMatchesWholeBag(t *testing.T) {
	for _, task := range []Config{RegressionConfig(), ClassificationConfig("dcm", "hcm")} {
		c := TinyConfig(task)
		nc, err := c.Net()
		if err != nil {
			t.Fatal(err)
		}
		net := NewNet(model.NewStore(), nc)
		ev, err := NewEvaluator(gomlxtest.Backend(t), net)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(3, 4))
		v := nc.Video
		bag := func() *data.BagSample {
			s := &data.BagSample{Key: "s", Targets: make([]float32, len(c.Data.Targets))}
			for range 5 {
				x := make([]float32, v.InChannels*v.Frames*v.Height*v.Width)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				s.Clips = append(s.Clips, &data.Clip{C: v.InChannels, T: v.Frames, H: v.Height, W: v.Width, Data: x})
				s.Refs = append(s.Refs, data.ClipRef{})
			}
			return s
		}
		s := bag()
		want, err := ev.Predict(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, cb := range []int{1, 2, 5} {
			ev.ClipBatch = cb
			got, err := ev.Predict(s)
			if err != nil {
				t.Fatal(err)
			}
			if ev.enc == nil {
				t.Fatal("ClipBatch > 0 did not take the chunked path")
			}
			for name, pair := range map[string][2][]float64{"pred": {got.Pred, want.Pred}, "logits": {got.Logits, want.Logits},
				"attention": {got.Attention, want.Attention}} {
				gomlxtest.AssertClose(t, c.Task+" "+name, f32s(pair[0]), f32s(pair[1]), 1e-5, 1e-5)
			}
			gomlxtest.AssertClose(t, c.Task+" study", got.Study, want.Study, 1e-5, 1e-5)
			for k := range s.Clips {
				gomlxtest.AssertClose(t, c.Task+" view", got.Views[k], want.Views[k], 1e-5, 1e-5)
			}
		}
		ev.ClipBatch = 0
	}
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
