package pretrain

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/internal/testenv"
	"github.com/cmrfm/cmrfm/train"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// benchBatch is a random batch of the model's input shapes: clips N(0,1),
// ids uniform in the vocabulary, every other row padded over its second
// half (as testdata/gen/pretrain/bench_step.py).
func benchBatch(mc ModelConfig, b int) *Batch {
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
	mc, err := cfg.ModelConfig()
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
func BenchmarkStepTiny(b *testing.B) { benchStep(b, TinyConfig(), 16, true) }

// BenchmarkForwardFull: the paper's towers (MViT-B 16×4 on 3×16×224×224,
// BERT-base on 128 tokens) forward with the loss, batch 2, random weights.
func BenchmarkForwardFull(b *testing.B) {
	c := PaperConfig()
	c.Model.Pooling = "cls"
	benchStep(b, c, 2, false)
}

// torchBench runs testdata/gen/pretrain/bench_step.py and reports its
// median as the benchmark's time per step.
func torchBench(b *testing.B, args ...string) {
	py := testenv.Python(b, "torch", "torchvision")
	// The script repeats the step itself; it runs once whatever b.N is
	// (ns/op is then meaningless: read torch_s/step).
	var out bytes.Buffer
	cmd := exec.Command(py, append([]string{"../../testdata/gen/pretrain/bench_step.py"}, args...)...)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	b.Log(out.String())
	// The script's median is the number to compare; the wall time above
	// includes Python's start-up and model construction.
	if i := bytes.Index(out.Bytes(), []byte(`"median_s": `)); i >= 0 {
		rest := out.Bytes()[i+len(`"median_s": `):]
		if j := bytes.IndexByte(rest, ','); j > 0 {
			if v, err := strconv.ParseFloat(string(rest[:j]), 64); err == nil {
				b.ReportMetric(v, "torch_s/step")
			}
		}
	}
}

// BenchmarkTorchStepTiny is BenchmarkStepTiny in torch 1.13 (1 thread, the repository's convention for torch comparisons).
func BenchmarkTorchStepTiny(b *testing.B) { torchBench(b, "tiny", "train", "16", "5", "1") }

// BenchmarkTorchForwardFull is BenchmarkForwardFull in torch 1.13 (1 thread, the repository's convention for torch comparisons).
func BenchmarkTorchForwardFull(b *testing.B) { torchBench(b, "full", "forward", "2", "3", "1") }
