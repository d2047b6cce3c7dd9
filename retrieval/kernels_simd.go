//go:build goexperiment.simd && amd64

package retrieval

import "simd/archsimd"

// haveAVX2 selects the vector kernels at run time (AVX2 with FMA); other
// CPUs use the scalar ones.
var haveAVX2 = archsimd.X86.AVX2() && archsimd.X86.FMA()

// kernelName names the kernels in use (benchmarks and docs).
func kernelName() string {
	if haveAVX2 {
		return "avx2"
	}
	return "scalar"
}

// dotF32 is Σ a[i]·b[i] in float32 (len(a) == len(b)): the exact score of
// the index and the brute-force search. Eight lanes × four accumulators
// with fused multiply-adds, then a scalar tail; the summation order is
// fixed, so the same vectors always give the same bits.
func dotF32(a, b []float32) float32 {
	if !haveAVX2 {
		return dotF32Scalar(a, b)
	}
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 archsimd.Float32x8
	i := 0
	for ; i+32 <= n; i += 32 {
		s0 = archsimd.LoadFloat32x8(a[i:]).MulAdd(archsimd.LoadFloat32x8(b[i:]), s0)
		s1 = archsimd.LoadFloat32x8(a[i+8:]).MulAdd(archsimd.LoadFloat32x8(b[i+8:]), s1)
		s2 = archsimd.LoadFloat32x8(a[i+16:]).MulAdd(archsimd.LoadFloat32x8(b[i+16:]), s2)
		s3 = archsimd.LoadFloat32x8(a[i+24:]).MulAdd(archsimd.LoadFloat32x8(b[i+24:]), s3)
	}
	for ; i+8 <= n; i += 8 {
		s0 = archsimd.LoadFloat32x8(a[i:]).MulAdd(archsimd.LoadFloat32x8(b[i:]), s0)
	}
	var lanes [8]float32
	s0.Add(s1).Add(s2.Add(s3)).Store(lanes[:])
	s := ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
	for ; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}

// dotI8 is Σ a[i]·q[i] exactly in int32, for int8 codes a and the query's
// codes widened to int16 (len(q) == len(a), a multiple of 32).
func dotI8(a []int8, q []int16) int32 {
	if !haveAVX2 {
		return dotI8Scalar(a, q)
	}
	n := len(a)
	q = q[:n]
	var s0, s1 archsimd.Int32x8
	for i := 0; i+32 <= n; i += 32 {
		x0 := archsimd.LoadInt8x16(a[i:]).ExtendToInt16()
		x1 := archsimd.LoadInt8x16(a[i+16:]).ExtendToInt16()
		s0 = s0.Add(x0.DotProductPairs(archsimd.LoadInt16x16(q[i:])))
		s1 = s1.Add(x1.DotProductPairs(archsimd.LoadInt16x16(q[i+16:])))
	}
	var lanes [8]int32
	s0.Add(s1).Store(lanes[:])
	return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7]
}
