package finetune

import (
	"math/rand/v2"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/traintest"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// benchStep times one training update of the tiny-lvef preset on one bag
// of `clips` random clips (one study, batch 1 as the reference): forward,
// Huber loss, backward, AdamW — the same step as
// bench/train/finetune/bench_step.py.
func benchStep(b *testing.B, mode Mode, clips int) {
	c := TinyConfig(RegressionConfig())
	c.Mode = string(mode)
	nc, err := c.Net()
	if err != nil {
		b.Fatal(err)
	}
	st := model.NewStore()
	net := NewNet(st, nc)
	opt, err := train.NewOptimizer(st, c.Optim)
	if err != nil {
		b.Fatal(err)
	}
	e, err := model.NewExec(gomlxtest.Backend(b), st, func(_ *model.Scope, xs []*graph.Node) *graph.Node {
		st.SetTraining(xs[0].Graph(), true)
		out := net.Forward(xs[0], xs[1], xs[2])
		loss := net.Loss(out, xs[3], xs[4], nil)
		opt.Step(loss, net.Trainable(xs[0].Graph()), true)
		return loss
	})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, clips*3*4*32*32)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	gather, mask := make([]int32, clips), make([]float32, clips)
	for i := range gather {
		gather[i], mask[i] = int32(i), 1
	}
	in := []any{tensors.FromFlatDataAndDimensions(x, clips, 3, 4, 32, 32), tensors.FromFlatDataAndDimensions(gather, 1, clips),
		tensors.FromFlatDataAndDimensions(mask, 1, clips), tensors.FromFlatDataAndDimensions([]float32{55}, 1, 1),
		tensors.FromFlatDataAndDimensions([]float32{1}, 1, 1)}
	if _, err := e.Call(in...); err != nil { // compile and warm up
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := gomlxtest.CPUSeconds()
	for range b.N {
		if _, err := e.Call(in...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((gomlxtest.CPUSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "studies/s")
	b.ReportMetric(float64(clips*b.N)/b.Elapsed().Seconds(), "clips/s")
}

// BenchmarkStepTinyTransfer: one update of everything (mvit-tiny,
// projection, MIL head) on a bag of 8 clips.
func BenchmarkStepTinyTransfer(b *testing.B) { benchStep(b, ModeTransfer, 8) }

// BenchmarkStepTinyFinetune: the same with the encoder frozen (no
// backward pass through it).
func BenchmarkStepTinyFinetune(b *testing.B) { benchStep(b, ModeFinetune, 8) }

// BenchmarkTorchStepTinyTransfer is BenchmarkStepTinyTransfer in torch
// 1.13 (1 thread, the repository's convention for torch comparisons).
func BenchmarkTorchStepTinyTransfer(b *testing.B) { torchBench(b, "transfer", "8", "10", "1") }

// BenchmarkTorchStepTinyFinetune is BenchmarkStepTinyFinetune in torch.
func BenchmarkTorchStepTinyFinetune(b *testing.B) { torchBench(b, "finetune", "8", "10", "1") }

// torchBench runs bench/train/finetune/bench_step.py once (whatever b.N
// is; ns/op is then meaningless) and reports its median as torch_s/step.
func torchBench(b *testing.B, args ...string) {
	traintest.TorchBench(b, "../../bench/train/finetune/bench_step.py", args...)
}
