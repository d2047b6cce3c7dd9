//go:build goexperiment.simd && amd64

package umap

import "simd/archsimd"

// haveFMA reports whether the AVX2+FMA kernel may run.
var haveFMA = archsimd.X86.AVX2() && archsimd.X86.FMA()

// dots4x2 computes the 8 dot products of rows a0…a3 with rows b0, b1
// with 8-lane FMA (AVX2), falling back to the generic loop without it.
func dots4x2(a0, a1, a2, a3, b0, b1 []float32, dst *[4][2]float32) {
	if !haveFMA {
		dots4x2Generic(a0, a1, a2, a3, b0, b1, dst)
		return
	}
	d := len(a0)
	var z archsimd.Float32x8
	s00, s01, s10, s11, s20, s21, s30, s31 := z, z, z, z, z, z, z, z
	k := 0
	for ; k+8 <= d; k += 8 {
		y0 := archsimd.LoadFloat32x8Array((*[8]float32)(b0[k : k+8]))
		y1 := archsimd.LoadFloat32x8Array((*[8]float32)(b1[k : k+8]))
		x := archsimd.LoadFloat32x8Array((*[8]float32)(a0[k : k+8]))
		s00 = x.MulAdd(y0, s00)
		s01 = x.MulAdd(y1, s01)
		x = archsimd.LoadFloat32x8Array((*[8]float32)(a1[k : k+8]))
		s10 = x.MulAdd(y0, s10)
		s11 = x.MulAdd(y1, s11)
		x = archsimd.LoadFloat32x8Array((*[8]float32)(a2[k : k+8]))
		s20 = x.MulAdd(y0, s20)
		s21 = x.MulAdd(y1, s21)
		x = archsimd.LoadFloat32x8Array((*[8]float32)(a3[k : k+8]))
		s30 = x.MulAdd(y0, s30)
		s31 = x.MulAdd(y1, s31)
	}
	sum := func(v archsimd.Float32x8) float32 {
		var t [8]float32
		v.StoreArray(&t)
		return ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]))
	}
	var tail [4][2]float32
	if k < d {
		dots4x2Generic(a0[k:], a1[k:], a2[k:], a3[k:], b0[k:], b1[k:], &tail)
	}
	dst[0][0], dst[0][1] = sum(s00)+tail[0][0], sum(s01)+tail[0][1]
	dst[1][0], dst[1][1] = sum(s10)+tail[1][0], sum(s11)+tail[1][1]
	dst[2][0], dst[2][1] = sum(s20)+tail[2][0], sum(s21)+tail[2][1]
	dst[3][0], dst[3][1] = sum(s30)+tail[3][0], sum(s31)+tail[3][1]
}
