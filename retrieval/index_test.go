package retrieval

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomSet returns n vectors of width d: "gauss" (isotropic), "clusters"
// (8 tight clusters: many rows within the int8 bound of each other),
// "dups" (every vector four times: exact ties) or "constant" (one vector:
// a collapsed model).
func randomSet(kind string, n, d int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	v := make([]float32, n*d)
	centres := make([]float32, 8*d)
	for i := range centres {
		centres[i] = float32(rng.NormFloat64())
	}
	for i := range n {
		for j := range d {
			switch kind {
			case "gauss":
				v[i*d+j] = float32(rng.NormFloat64())
			case "clusters":
				v[i*d+j] = centres[(i%8)*d+j] + 0.01*float32(rng.NormFloat64())
			case "dups":
				v[i*d+j] = float32(rand.New(rand.NewPCG(seed, uint64(i/4*d+j))).NormFloat64())
			case "constant":
				v[i*d+j] = centres[j]
			}
		}
	}
	return v
}

// TestSearchEqualsBruteForce: the int8-scan-with-bounds search returns
// exactly the brute-force float32 top k (rows, scores to the bit, order)
// on isotropic, clustered, duplicated and constant sets, for widths that
// are and are not multiples of the kernel stride, k from 1 to more than
// the set, one and several workers.
func TestSearchEqualsBruteForce(t *testing.T) {
	for _, kind := range []string{"gauss", "clusters", "dups", "constant"} {
		for _, d := range []int{512, 64, 37} {
			for _, n := range []int{5, 3000, 20000} {
				x, err := NewIndex(randomSet(kind, n, d, uint64(n+d)), n, d)
				if err != nil {
					t.Fatal(err)
				}
				x.Workers = 3
				rng := rand.New(rand.NewPCG(1, uint64(d)))
				for qi := range 4 {
					q := make([]float32, d)
					if qi == 3 && n > 5 {
						copy(q, x.Vector(17)) // a query equal to an indexed row
					} else {
						for j := range q {
							q[j] = float32(rng.NormFloat64())
						}
					}
					for _, k := range []int{1, 10, n + 3} {
						want, err := x.BruteForce(q, k)
						if err != nil {
							t.Fatal(err)
						}
						got, st, err := x.SearchWithStats(q, k)
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(got, want) {
							t.Fatalf("%s n=%d d=%d k=%d query %d: search %v\nbrute force %v", kind, n, d, k, qi, head(got), head(want))
						}
						if len(got) != min(k, n) || st.Candidates < len(got) {
							t.Fatalf("%s: %d hits, %d candidates", kind, len(got), st.Candidates)
						}
					}
				}
			}
		}
	}
}

func head(h []Hit) []Hit { return h[:min(len(h), 12)] }

// TestSearchScores: scores are cosines (vectors normalised, float64
// reference within float32 rounding), equal scores come out in row order,
// a zero vector scores 0, and bad input is an error.
func TestSearchScores(t *testing.T) {
	v := []float32{3, 4, 0, 0, 0, 0, 6, 8, -1, 0}
	x, err := NewIndex(v, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.Search([]float32{0.6, 0.8}, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []Hit{{0, 1}, {3, 1}, {1, 0}, {2, 0}, {4, -0.6}}
	for i := range want {
		if got[i].Row != want[i].Row || math.Abs(float64(got[i].Score-want[i].Score)) > 1e-6 {
			t.Fatalf("hits %v, want %v", got, want)
		}
	}
	if _, err := x.Search([]float32{1}, 1); err == nil {
		t.Fatal("query width mismatch accepted")
	}
	if _, err := NewIndex([]float32{1, float32(math.NaN())}, 1, 2); err == nil {
		t.Fatal("NaN accepted")
	}
	if h, _ := x.Search([]float32{1, 0}, 0); len(h) != 0 {
		t.Fatal("k = 0 gave hits")
	}
}

// TestDotKernels checks the float32 and int8 dot products against
// float64 / exact integer references at every length up to 200.
func TestDotKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for n := range 200 {
		a, b := make([]float32, n), make([]float32, n)
		ref, abs := 0.0, 0.0
		for i := range n {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			ref += float64(a[i]) * float64(b[i])
			abs += math.Abs(float64(a[i]) * float64(b[i]))
		}
		if got := dotF32(a, b); math.Abs(float64(got)-ref) > float64(n+8)*math.Ldexp(1, -23)*abs+1e-30 {
			t.Fatalf("dotF32 n=%d: %g, float64 %g", n, got, ref)
		}
		m := (n + 31) / 32 * 32
		c, q := make([]int8, m), make([]int16, m)
		var exact int64
		for i := range n {
			c[i] = int8(rng.IntN(255) - 127)
			q[i] = int16(rng.IntN(65535) - 32767)
			exact += int64(c[i]) * int64(q[i])
		}
		if n <= 512 {
			if got := dotI8(c, q); int64(got) != exact {
				t.Fatalf("dotI8 n=%d: %d, want %d", n, got, exact)
			}
		}
		if dotI8Scalar(c, q) != dotI8(c, q) {
			t.Fatalf("scalar and vector int8 kernels differ at n=%d", n)
		}
	}
	t.Logf("kernels: %s", kernelName())
}
