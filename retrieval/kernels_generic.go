//go:build !(goexperiment.simd && amd64)

package retrieval

// kernelName names the kernels in use (benchmarks and docs).
func kernelName() string { return "scalar" }

// dotF32 is Σ a[i]·b[i] in float32; see the SIMD build for the vector
// version (the two may differ in the last bits: their summation orders
// differ).
func dotF32(a, b []float32) float32 { return dotF32Scalar(a, b) }

// dotI8 is Σ a[i]·q[i] exactly in int32.
func dotI8(a []int8, q []int16) int32 { return dotI8Scalar(a, q) }
