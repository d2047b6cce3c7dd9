package ops

import (
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// selectionMatrix returns S [batch, k·o, n] (repeated over batch) with
// S[(j,i), x] = 1 where x = i·stride + j − pad lies inside [0, n).
func selectionMatrix(batch, n, k, stride, pad, o int) *tensors.Tensor {
	one := make([]float32, k*o*n)
	for j := range k {
		for i := range o {
			x := i*stride + j - pad
			if x >= 0 && x < n {
				one[(j*o+i)*n+x] = 1
			}
		}
	}
	all := make([]float32, batch*len(one))
	for b := range batch {
		copy(all[b*len(one):], one)
	}
	return tensors.FromFlatDataAndDimensions(all, batch, k*o, n)
}

// depthwiseBySelection computes a depthwise Conv3D on x [N,T,H,W,C] with
// batched matrix multiplications only. Per channel c (the batch axis):
//
//  1. W taps: a 0/1 selection matrix S_W[(kw,w'), w] = [w = w'·s − p + kw]
//     gathers the kw-th tap of every output column (zero padding is a zero
//     row), giving [C, kw·W', N·T·H];
//  2. H taps likewise, batched over (c, kw): [C·kw, kh·H', W'·N·T];
//  3. T taps with the weights folded in: per (c, kw, kh) the banded matrix
//     L[t', t] = Σ_kt w[c,kt,kh,kw]·S_T[(kt,t'), t], giving
//     [C·kw·kh, T', H'·W'·N];
//  4. the kw·kh partial sums are added by a mat-vec with ones.
//
// The Go backend's Slice and broadcasting Mul cost ~3 ns per element and
// would be needed kt·kh·kw times per output; its DotGeneral is SIMD and
// multi-threaded, so this does ~2× less CPU work despite the extra FLOPs.
//
// It takes and returns channels-first tensors: x [C, N, T, H, W] →
// [C, T', H', W', N].
func depthwiseBySelection(x, kernel *graph.Node, w Window) *graph.Node {
	g := x.Graph()
	d := x.Shape().Dimensions
	C, n, T, H, W := d[0], d[1], d[2], d[3], d[4]
	out := w.OutDims(T, H, W)
	kt, kh, kw := w.Kernel[0], w.Kernel[1], w.Kernel[2]
	z := graph.Reshape(x, C, n*T*H, W)
	// Step W: S_W [C, kw·W', W] (lhs, "transposed" layout with z as rhs [C, M, K]).
	sw := graph.ConstTensor(g, selectionMatrix(C, W, kw, w.Stride[2], w.Padding[2], out[2]))
	z = graph.DotGeneral(sw, []int{2}, []int{0}, z, []int{2}, []int{0}) // [C, kw·W', N·T·H]
	// Step H: batch (C,kw); z [(C·kw), W'·N·T, H].
	z = graph.Reshape(z, C*kw, out[2]*n*T, H)
	sh := graph.ConstTensor(g, selectionMatrix(C*kw, H, kh, w.Stride[1], w.Padding[1], out[1]))
	z = graph.DotGeneral(sh, []int{2}, []int{0}, z, []int{2}, []int{0}) // [C·kw, kh·H', W'·N·T]
	// Step T, weighted: batch (C,kw,kh); the kernel's kt taps are folded into
	// the T selection: L[(c,kw,kh), t', t] = Σ_kt w[c,kt,kh,kw]·S_T[(kt,t'), t].
	z = graph.Reshape(z, C*kw*kh, out[1]*out[2]*n, T)
	kr := graph.Reshape(graph.TransposeAllAxes(graph.Reshape(kernel, C, kt, kh, kw), 0, 3, 2, 1), C*kw*kh, kt)
	st := graph.ConstTensor(g, selectionMatrix(1, T, kt, w.Stride[0], w.Padding[0], out[0])) // [1, kt·T', T]
	st = graph.Reshape(st, kt, out[0]*T)
	l := graph.Reshape(graph.DotGeneral(kr, []int{1}, nil, st, []int{0}, nil), C*kw*kh, out[0], T)
	z = graph.DotGeneral(l, []int{2}, []int{0}, z, []int{2}, []int{0}) // [C·kw·kh, T', H'·W'·N]
	// Sum the (kw,kh) taps: [C, kw·kh, M] → [C, M].
	m := out[0] * out[1] * out[2] * n
	ones := graph.Ones(g, shapes.Make(x.DType(), C, 1, kw*kh))
	y := graph.DotGeneral(ones, []int{2}, []int{0}, graph.Reshape(z, C, kw*kh, m), []int{1}, []int{0}) // [C, 1, M]
	return graph.Reshape(y, C, out[0], out[1], out[2], n)
}
