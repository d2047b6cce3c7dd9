//go:build !(goexperiment.simd && amd64)

package umap

// dots4x2 is the generic kernel (build with GOEXPERIMENT=simd on amd64 for
// the AVX2 one).
func dots4x2(a0, a1, a2, a3, b0, b1 []float32, dst *[4][2]float32) {
	dots4x2Generic(a0, a1, a2, a3, b0, b1, dst)
}
