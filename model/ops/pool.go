package ops

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors/images"
)

// DepthwiseConv3D is PyTorch's Conv3d with groups = channels (one kernel per
// channel, no bias) on a channels-last input:
//
//	x      [N, T, H, W, C]
//	kernel [C, 1, kt, kh, kw]   PyTorch's weight layout
//	output [N, T', H', W', C]
//
// The composition (see depthwiseBySelection) uses only batched matrix
// multiplications and transposes, the Go backend's fast operations.
func DepthwiseConv3D(x, kernel *graph.Node, w Window, impl Impl) *graph.Node {
	xs, ks := x.Shape(), kernel.Shape()
	ch := xs.Dimensions[4]
	if xs.Rank() != 5 || ks.Rank() != 5 || ks.Dimensions[0] != ch || ks.Dimensions[1] != 1 {
		panic(fmt.Sprintf("ops.DepthwiseConv3D: want x [N,T,H,W,C] and kernel [C,1,kt,kh,kw], got x %s kernel %s", xs, ks))
	}
	if [3]int(ks.Dimensions[2:]) != w.Kernel {
		panic(fmt.Sprintf("ops.DepthwiseConv3D: kernel %s does not match window %v", ks, w.Kernel))
	}
	w.check("DepthwiseConv3D", xs.Dimensions[1], xs.Dimensions[2], xs.Dimensions[3])
	if impl.generic(x.Graph()) {
		axes := compute.ConvolveAxesConfig{
			InputBatch: 0, InputChannels: 4, InputSpatial: []int{1, 2, 3},
			KernelOutputChannels: 0, KernelInputChannels: 1, KernelSpatial: []int{2, 3, 4},
			OutputBatch: 0, OutputChannels: 4, OutputSpatial: []int{1, 2, 3},
		}
		pads := [][2]int{{w.Padding[0], w.Padding[0]}, {w.Padding[1], w.Padding[1]}, {w.Padding[2], w.Padding[2]}}
		return graph.ConvGeneral(x, kernel, axes, w.Stride[:], pads, nil, nil, ch, 1)
	}
	y := depthwiseBySelection(graph.TransposeAllAxes(x, 4, 0, 1, 2, 3), kernel, w) // [C, T', H', W', N]
	return graph.TransposeAllAxes(y, 4, 1, 2, 3, 0)
}

// DepthwiseConv3DHeads pools multi-head features the way MViT's attention
// pooling does, from a channels-first input: x [heads·hd, N, T, H, W] holds
// head-major channels (as a projection computed as W·xᵀ comes out), the
// per-channel kernel [hd, 1, kt, kh, kw] is shared by all heads, and the
// result comes out as [N·heads, T'·H'·W', hd], ready for batched attention.
func DepthwiseConv3DHeads(x, kernel *graph.Node, heads int, w Window, impl Impl) *graph.Node {
	xs, ks := x.Shape(), kernel.Shape()
	if xs.Rank() != 5 || ks.Rank() != 5 || heads < 1 || xs.Dimensions[0] != heads*ks.Dimensions[0] || ks.Dimensions[1] != 1 {
		panic(fmt.Sprintf("ops.DepthwiseConv3DHeads: x %s is not [%d heads × %d, N, T, H, W] or kernel %s is not [hd,1,k,k,k]",
			xs, heads, ks.Dimensions[0], ks))
	}
	if [3]int(ks.Dimensions[2:]) != w.Kernel {
		panic(fmt.Sprintf("ops.DepthwiseConv3DHeads: kernel %s does not match window %v", ks, w.Kernel))
	}
	w.check("DepthwiseConv3DHeads", xs.Dimensions[2], xs.Dimensions[3], xs.Dimensions[4])
	n, hd := xs.Dimensions[1], ks.Dimensions[0]
	out := w.OutDims(xs.Dimensions[2], xs.Dimensions[3], xs.Dimensions[4])
	m := out[0] * out[1] * out[2]
	tiled := kernel
	if heads > 1 {
		copies := make([]*graph.Node, heads)
		for i := range copies {
			copies[i] = kernel
		}
		tiled = graph.Concatenate(copies, 0)
	}
	if impl.generic(x.Graph()) {
		y := DepthwiseConv3D(graph.TransposeAllAxes(x, 1, 2, 3, 4, 0), tiled, w, impl) // [N, T', H', W', C]
		y = graph.Reshape(y, n, m, heads, hd)
		return graph.Reshape(graph.TransposeAllAxes(y, 0, 2, 1, 3), n*heads, m, hd)
	}
	y := depthwiseBySelection(x, tiled, w) // [heads·hd, T', H', W', N]
	y = graph.Reshape(y, heads, hd, m, n)
	return graph.Reshape(graph.TransposeAllAxes(y, 3, 0, 2, 1), n*heads, m, hd)
}

// MaxPool3D is PyTorch's MaxPool3d (padding counts as −∞, no dilation) on a
// channels-last input [N, T, H, W, C], giving [N, T', H', W', C].
//
// The composition takes the max over the kernel's strided slices. Padding
// uses the dtype's lowest finite value (so Max's gradient never sees ∞−∞),
// and the taps are folded from last to first with Max(tap, acc), whose
// gradient goes to the left operand on ties: as in PyTorch, the first
// maximal element of a window receives the gradient. Every window must hold
// at least one real element (padding < kernel), as PyTorch requires.
func MaxPool3D(x *graph.Node, w Window, impl Impl) *graph.Node {
	xs := x.Shape()
	if xs.Rank() != 5 {
		panic(fmt.Sprintf("ops.MaxPool3D: want x [N,T,H,W,C], got %s", xs))
	}
	w.check("MaxPool3D", xs.Dimensions[1], xs.Dimensions[2], xs.Dimensions[3])
	for i := range 3 {
		if 2*w.Padding[i] > w.Kernel[i] {
			panic(fmt.Sprintf("ops.MaxPool3D: padding %v must be at most half the kernel %v", w.Padding, w.Kernel))
		}
	}
	if impl.generic(x.Graph()) {
		pads := [][2]int{{w.Padding[0], w.Padding[0]}, {w.Padding[1], w.Padding[1]}, {w.Padding[2], w.Padding[2]}}
		return graph.MaxPool(x).ChannelsAxis(images.ChannelsLast).
			WindowPerAxis(w.Kernel[:]...).StridePerAxis(w.Stride[:]...).PaddingPerDim(pads).Done()
	}
	out := w.OutDims(xs.Dimensions[1], xs.Dimensions[2], xs.Dimensions[3])
	xp := padChannelsLast(x, w.Padding, graph.Scalar(x.Graph(), x.DType(), lowest(x.DType())))
	var slices []*graph.Node
	taps(xp, w, out, func(_, _, _ int, s *graph.Node) { slices = append(slices, s) })
	acc := slices[len(slices)-1]
	for i := len(slices) - 2; i >= 0; i-- {
		acc = graph.Max(slices[i], acc)
	}
	return acc
}

// lowest is the most negative finite value of a floating-point dtype.
func lowest(dt dtypes.DType) float64 {
	switch dt {
	case dtypes.Float64:
		return -math.MaxFloat64
	case dtypes.Float16:
		return -65504
	case dtypes.BFloat16:
		return -3.38e38
	}
	return -math.MaxFloat32
}
