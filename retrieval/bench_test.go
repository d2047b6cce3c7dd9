package retrieval

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSet caches the benchmark sets: n unit-ish vectors of width d drawn
// around 1,024 cluster centres (spread 0.5), so that neighbours are closer
// than in an isotropic cloud, as real embeddings are.
var benchSets sync.Map

func benchIndex(b *testing.B, n, d int) *Index {
	key := fmt.Sprint(n, d)
	if x, ok := benchSets.Load(key); ok {
		return x.(*Index)
	}
	rng := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	const nc = 1024
	centres := make([]float32, nc*d)
	for i := range centres {
		centres[i] = float32(rng.NormFloat64())
	}
	v := make([]float32, n*d)
	for i := range n {
		c := rng.IntN(nc)
		for j := range d {
			v[i*d+j] = centres[c*d+j] + 0.5*float32(rng.NormFloat64())
		}
	}
	x, err := NewIndex(v, n, d)
	if err != nil {
		b.Fatal(err)
	}
	benchSets.Store(key, x)
	return x
}

// BenchmarkSearch times one query (top 10) over 100,000 and 1,000,000
// studies of 512-d embeddings (the paper's width) and 64-d (the CPU
// presets'), for the exact int8-scan search (the one cmrfm search uses)
// and brute-force float32, each on every CPU. Queries are indexed vectors
// perturbed by noise. Run by bench/retrieval/search.sh
// (docs/benchmarks.md, "Search").
func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		for _, d := range []int{512, 64} {
			for _, method := range []string{"int8-exact", "float32-brute"} {
				b.Run(fmt.Sprintf("n=%d/d=%d/%s", n, d, method), func(b *testing.B) {
					x := benchIndex(b, n, d)
					rng := rand.New(rand.NewPCG(9, 9))
					qs := make([][]float32, 64)
					for i := range qs {
						q := append([]float32(nil), x.Vector(rng.IntN(n))...)
						for j := range q {
							q[j] += 0.05 * float32(rng.NormFloat64())
						}
						qs[i] = q
					}
					cands := 0
					cpu0 := cpuTime()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						q := qs[i%len(qs)]
						if method == "int8-exact" {
							_, st, err := x.SearchWithStats(q, 10)
							if err != nil {
								b.Fatal(err)
							}
							cands += st.Candidates
						} else if _, err := x.BruteForce(q, 10); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
					// CPU time (all threads) per query: what a quiet machine's wall time
					// would be on one core; less sensitive to other jobs than wall time.
					b.ReportMetric((cpuTime()-cpu0).Seconds()*1000/float64(b.N), "cpu-ms/query")
					if method == "int8-exact" {
						b.ReportMetric(float64(cands)/float64(b.N), "rescored/query")
					}
					b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "threads")
				})
			}
		}
	}
}

// BenchmarkOpenSearcher times what a one-shot `cmrfm search` pays before
// its query: reading an embeddings file of 100,000 studies × 512 (and as
// many reports) and coding both indexes.
func BenchmarkOpenSearcher(b *testing.B) {
	const n, d = 100_000, 512
	x := benchIndex(b, n, d)
	f := &File{Checkpoint: "x", CheckpointSHA256: "x", Config: "x", Dim: d, Settings: Settings{Pooling: PoolViews}}
	for i := range n {
		k := fmt.Sprintf("site_%07d-%07d.h5", i, i)
		f.Studies, f.Splits, f.Reports = append(f.Studies, k), append(f.Splits, "test"), append(f.Reports, k)
		f.ReportStudy = append(f.ReportStudy, int32(i))
	}
	f.StudyEmb = x.vecs
	f.ReportEmb = x.vecs
	p := b.TempDir() + "/emb.h5"
	if err := f.Write(p); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := NewSearcher(SearchOptions{Embeddings: p}); err != nil {
			b.Fatal(err)
		}
	}
}
