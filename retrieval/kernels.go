package retrieval

// dotF32Scalar is the portable float32 dot product (four accumulators).
func dotF32Scalar(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dotI8Scalar is the portable exact int8·int16 dot product.
func dotI8Scalar(a []int8, q []int16) int32 {
	n := len(a)
	q = q[:n]
	var s0, s1 int32
	i := 0
	for ; i+2 <= n; i += 2 {
		s0 += int32(a[i]) * int32(q[i])
		s1 += int32(a[i+1]) * int32(q[i+1])
	}
	for ; i < n; i++ {
		s0 += int32(a[i]) * int32(q[i])
	}
	return s0 + s1
}
