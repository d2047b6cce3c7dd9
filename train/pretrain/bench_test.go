package pretrain

import (
	"math/rand/v2"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/traintest"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// benchBatch is a random batch of the model's input shapes: clips N(0,1),
// ids uniform in the vocabulary, every other row padded over its second
// half (as bench/train/pretrain/bench_step.py).
func benchBatch(mc NetConfig, b int) *Batch {
	r := rand.New(rand.NewPCG(1, 2))
	s := mc.ClipShape(b).Dimensions
	bt := &Batch{Keys: make([]string, b), ClipDims: [5]int{s[0], s[1], s[2], s[3], s[4]}}
	bt.Clips = make([]float32, s[0]*s[1]*s[2]*s[3]*s[4])
	for i := range bt.Clips {
		bt.Clips[i] = float32(r.NormFloat64())
	}
	seq := mc.MaxLength
	bt.IDs, bt.Mask = make([]int32, b*seq), make([]int32, b*seq)
	for i := range b {
		for j := range seq {
			bt.IDs[i*seq+j] = int32(5 + r.IntN(mc.Text.VocabSize-5))
			if i%2 == 0 || j < seq/2 {
				bt.Mask[i*seq+j] = 1
			}
		}
	}
	return bt
}

// benchStep times one training update (forward, loss, backward, AdamW) or
// one forward pass of the towers and the loss.
func benchStep(b *testing.B, cfg Config, batch int, training bool) {
	mc, err := cfg.Net()
	if err != nil {
		b.Fatal(err)
	}
	store := model.NewStore()
	tw := NewTowers(store)
	opt, err := train.NewOptimizer(store, cfg.Optim)
	if err != nil {
		b.Fatal(err)
	}
	exec, err := model.NewExec(gomlxtest.Backend(b), store, func(_ *model.Scope, xs []*graph.Node) *graph.Node {
		store.SetTraining(xs[0].Graph(), training)
		_, l := Loss(tw, mc, xs[0], xs[1], xs[2])
		if training {
			opt.Step(l.Loss, train.Trainable(store, xs[0].Graph(), "/model/"), true)
		}
		return l.Loss
	})
	if err != nil {
		b.Fatal(err)
	}
	in, err := Inputs(mc, benchBatch(mc, batch))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := exec.Call(in[0], in[1], in[2]); err != nil { // compile and warm up
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := gomlxtest.CPUSeconds()
	for range b.N {
		if _, err := exec.Call(in[0], in[1], in[2]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((gomlxtest.CPUSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkStepTiny: one training update of the tiny preset, batch 16
// (mvit-tiny 3×4×32×32, bert-small 48 tokens, mean pooling).
func BenchmarkStepTiny(b *testing.B) { benchStep(b, TinyConfig(PaperConfig()), 16, true) }

// BenchmarkForwardFull: the paper's towers (MViT-B 16×4 on 3×16×224×224,
// BERT-base on 128 tokens) forward with the loss, batch 2, random weights.
func BenchmarkForwardFull(b *testing.B) {
	c := PaperConfig()
	c.Model.Pooling = "cls"
	benchStep(b, c, 2, false)
}

// torchBench runs bench/train/pretrain/bench_step.py and reports its
// median as the benchmark's time per step.
func torchBench(b *testing.B, args ...string) {
	traintest.TorchBench(b, "../../bench/train/pretrain/bench_step.py", args...)
}

// BenchmarkTorchStepTiny is BenchmarkStepTiny in torch 1.13 (1 thread, the repository's convention for torch comparisons).
func BenchmarkTorchStepTiny(b *testing.B) { torchBench(b, "tiny", "train", "16", "5", "1") }

// BenchmarkTorchForwardFull is BenchmarkForwardFull in torch 1.13 (1 thread, the repository's convention for torch comparisons).
func BenchmarkTorchForwardFull(b *testing.B) { torchBench(b, "full", "forward", "2", "3", "1") }
