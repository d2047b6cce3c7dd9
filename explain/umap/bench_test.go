package umap

import (
	"math/rand/v2"
	"syscall"
	"testing"
)

// clusters is n points in d dimensions around k Gaussian centres (unit
// variance centres, spread 0.6): an embedding-like benchmark set.
func clusters(n, d, k int, seed uint64) (Data, []string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	c := make([]float64, k*d)
	for i := range c {
		c[i] = rng.NormFloat64()
	}
	x := Data{N: n, D: d, X: make([]float32, n*d)}
	labels := make([]string, n)
	for i := range n {
		l := rng.IntN(k)
		labels[i] = string(rune('a' + l))
		for j := range d {
			x.X[i*d+j] = float32(c[l*d+j] + 0.6*rng.NormFloat64())
		}
	}
	return x, labels
}

// BenchmarkFit10000x512 is the docs/benchmarks.md case: 10,000 points of
// 512 dimensions (bench/explain-umap.sh times uwot beside it).
func BenchmarkFit10000x512(b *testing.B) {
	x, _ := clusters(10000, 512, 10, 1)
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := Fit(b.Context(), x, Options{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	// CPU seconds per op (all threads): robust to other load on a shared machine.
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
}

func BenchmarkExactKNN10000x512(b *testing.B) {
	x, _ := clusters(10000, 512, 10, 1)
	for b.Loop() {
		if _, err := ExactKNN(x, 15, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
