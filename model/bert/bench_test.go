package bert

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/internal/testenv"
	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/tensors"
)

// benchBatch is the benchmark batch: 8 sequences of 128 tokens,
// every second one padded over its last 32 positions (as bench_torch.py).
func benchBatch(cfg Config, batch, seq int) Inputs {
	ids := make([]int64, batch*seq)
	types := make([]int64, batch*seq)
	mask := make([]int64, batch*seq)
	for b := range batch {
		n := seq
		if b%2 == 1 {
			n = seq - seq/4
		}
		for l := range n {
			i := b*seq + l
			ids[i] = int64(5 + (i*7919)%(cfg.VocabSize-5))
			mask[i] = 1
			if l >= n/2 {
				types[i] = 1
			}
		}
		ids[b*seq] = 2
	}
	return Inputs{
		IDs:        tensors.FromFlatDataAndDimensions(ids, batch, seq),
		TokenTypes: tensors.FromFlatDataAndDimensions(types, batch, seq),
		Mask:       tensors.FromFlatDataAndDimensions(mask, batch, seq),
	}
}

// randomWeights fills every parameter with a cheap deterministic pattern
// (timing does not depend on the values).
func randomWeights(cfg Config) *weights.Set {
	s := weights.NewSet()
	seed := uint32(1)
	for _, sp := range cfg.Specs() {
		vals := make([]float32, weights.NumElements(sp.Shape))
		for i := range vals {
			seed = seed*1664525 + 1013904223
			vals[i] = (float32(seed>>8)/float32(1<<24) - 0.5) * 0.05
		}
		s.Add(weights.FromFloat32(sp.Name, sp.Shape, vals))
	}
	return s
}

func benchForward(b *testing.B, cfg Config, batch, seq int) {
	be, err := ops.NewInferenceBackend("") // the backend inference uses
	if err != nil {
		b.Fatal(err)
	}
	enc, err := NewEncoder(be, cfg, randomWeights(cfg))
	if err != nil {
		b.Fatal(err)
	}
	in := benchBatch(cfg, batch, seq)
	if _, err := enc.Forward(in, false); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := gomlxtest.CPUSeconds()
	for b.Loop() {
		if _, err := enc.Forward(in, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((gomlxtest.CPUSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(2*float64(cfg.MultiplyAdds(batch, seq))/1e9*float64(b.N)/b.Elapsed().Seconds(), "GFLOP/s")
}

// BenchmarkForwardBertBase is the speed check: bert-base forward
// on 8 × 128 tokens with the default (pure-Go) backend.
func BenchmarkForwardBertBase(b *testing.B) { benchForward(b, BertBase(), 8, 128) }

// BenchmarkForwardTiny times the test model (graph overheads dominate).
func BenchmarkForwardTiny(b *testing.B) { benchForward(b, Tiny(), 3, 11) }

// BenchmarkTorchForwardBertBase runs bench/model/bert/bench_torch.py in
// the same run: PyTorch (Debian, 1 thread, OpenBLAS) on the same shape.
// One iteration times 5 repeats; the metric torch-s/op is their median.
func BenchmarkTorchForwardBertBase(b *testing.B) {
	py := testenv.Python(b, "torch", "numpy")
	script := filepath.Join(testenv.RepoRoot(b), "bench", "model", "bert", "bench_torch.py")
	var res struct {
		Median float64 `json:"median_s"`
	}
	for b.Loop() {
		cmd := exec.Command(py, script, "8", "128", strconv.Itoa(5))
		cmd.Env = append(cmd.Environ(), "OPENBLAS_NUM_THREADS=1")
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%s: %v", script, err)
		}
		if err := json.Unmarshal(out, &res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(res.Median, "torch-s/op")
	b.ReportMetric(2*float64(BertBase().MultiplyAdds(8, 128))/1e9/res.Median, "torch-GFLOP/s")
}
