package umap

// dots4x2Generic computes the 8 dot products of rows a0…a3 with rows b0,
// b1 (all of length d) in float32, four independent accumulators per
// product. dst is [a][b].
func dots4x2Generic(a0, a1, a2, a3, b0, b1 []float32, dst *[4][2]float32) {
	var s [4][2]float32
	b0, b1 = b0[:len(a0)], b1[:len(a0)]
	a1, a2, a3 = a1[:len(a0)], a2[:len(a0)], a3[:len(a0)]
	for k, x0 := range a0 {
		y0, y1 := b0[k], b1[k]
		x1, x2, x3 := a1[k], a2[k], a3[k]
		s[0][0] += x0 * y0
		s[0][1] += x0 * y1
		s[1][0] += x1 * y0
		s[1][1] += x1 * y1
		s[2][0] += x2 * y0
		s[2][1] += x2 * y1
		s[3][0] += x3 * y0
		s[3][1] += x3 * y1
	}
	*dst = s
}
