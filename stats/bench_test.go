package stats

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// benchCSVEnv names a CSV (columns y, s1, s2) that replaces the synthetic
// 100,000-case data set of BenchmarkDeLong, so that the benchmark runs on
// exactly the data pROC is timed on (bench/stats/bench_proc.sh).
const benchCSVEnv = "CMRFM_STATS_BENCH_CSV"

// benchData returns n labelled pairs of correlated scores with 30 %
// prevalence, rounded to 6 decimals (ties, as in real probabilities).
func benchData(b *testing.B, n int) (y []bool, s1, s2 []float64) {
	if path := os.Getenv(benchCSVEnv); path != "" && n == 100000 {
		return readBenchCSV(b, path)
	}
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	y = make([]bool, n)
	s1 = make([]float64, n)
	s2 = make([]float64, n)
	for i := range y {
		y[i] = rng.Float64() < 0.3
		shift := 0.0
		if y[i] {
			shift = 1
		}
		z := rng.NormFloat64()
		s1[i] = math.Round((z+shift)*1e6) / 1e6
		s2[i] = math.Round((0.7*z+0.7*rng.NormFloat64()+0.8*shift)*1e6) / 1e6
	}
	return y, s1, s2
}

func readBenchCSV(b *testing.B, path string) (y []bool, s1, s2 []float64) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	if _, err := r.Read(); err != nil { // header y,s1,s2
		b.Fatal(err)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		v := make([]float64, 3)
		for k := range v {
			if v[k], err = strconv.ParseFloat(rec[k], 64); err != nil {
				b.Fatalf("%s: %v", path, err)
			}
		}
		y = append(y, v[0] == 1)
		s1 = append(s1, v[1])
		s2 = append(s2, v[2])
	}
	return y, s1, s2
}

// BenchmarkDeLong times what the paper's table needs per target: two ROC
// curves (automatic direction), the AUC and DeLong 95 % CI of each, and the
// paired DeLong test.
func BenchmarkDeLong(b *testing.B) {
	for _, n := range []int{100, 1000, 10000, 100000} {
		y, s1, s2 := benchData(b, n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var test Test
			var lo1, hi1 float64
			var r1 *ROC
			for b.Loop() {
				var err error
				r1, err = NewROC(s1, y, Auto)
				if err != nil {
					b.Fatal(err)
				}
				r2, err := NewROC(s2, y, Auto)
				if err != nil {
					b.Fatal(err)
				}
				lo1, hi1 = r1.CI(0.95)
				r2.CI(0.95)
				if test, err = Compare(r1, r2, PairAuto, 0.95); err != nil {
					b.Fatal(err)
				}
			}
			if n == 100000 {
				b.Logf("AUC1 %.15g [%.15g, %.15g]; paired Z %.15g, p %.15g", r1.AUC(), lo1, hi1, test.Statistic, test.P)
			}
		})
	}
}

// BenchmarkBootstrapCI times 2000 stratified resamples (pROC's default).
func BenchmarkBootstrapCI(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		y, s1, _ := benchData(b, n)
		r, _ := NewROC(s1, y, Auto)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				r.BootstrapCI(0.95, Bootstrap{Seed: 1})
			}
		})
	}
}
