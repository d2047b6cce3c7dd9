package ops

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
)

// Conv3D is PyTorch's Conv3d (groups=1, no dilation) with zero padding.
//
//	x      [B, C, T, H, W]      channels-first, as a video clip is stored
//	kernel [O, C, kt, kh, kw]   PyTorch's weight layout
//	bias   [O] or nil
//	output [B, T', H', W', O]   channels-last: ready to flatten into tokens
//
// The composition pads x, gathers the kt·kh·kw strided slices of the
// channels-last input side by side (im2col) and multiplies the patch matrix
// [B·T'·H'·W', kt·kh·kw·C] by the reordered kernel.
func Conv3D(x, kernel, bias *graph.Node, w Window, impl Impl) *graph.Node {
	xs, ks := x.Shape(), kernel.Shape()
	if xs.Rank() != 5 || ks.Rank() != 5 || ks.Dimensions[1] != xs.Dimensions[1] {
		panic(fmt.Sprintf("ops.Conv3D: want x [B,C,T,H,W] and kernel [O,C,kt,kh,kw], got x %s kernel %s", xs, ks))
	}
	if [3]int(ks.Dimensions[2:]) != w.Kernel {
		panic(fmt.Sprintf("ops.Conv3D: kernel %s does not match window %v", ks, w.Kernel))
	}
	w.check("Conv3D", xs.Dimensions[2], xs.Dimensions[3], xs.Dimensions[4])
	var y *graph.Node
	if impl.generic(x.Graph()) {
		y = conv3DGeneric(x, kernel, w)
	} else {
		y = conv3DComposed(x, kernel, w)
	}
	if bias != nil {
		y = graph.Add(y, graph.ExpandLeftToRank(bias, 5))
	}
	return y
}

func conv3DGeneric(x, kernel *graph.Node, w Window) *graph.Node {
	axes := compute.ConvolveAxesConfig{
		InputBatch: 0, InputChannels: 1, InputSpatial: []int{2, 3, 4},
		KernelOutputChannels: 0, KernelInputChannels: 1, KernelSpatial: []int{2, 3, 4},
		OutputBatch: 0, OutputChannels: 1, OutputSpatial: []int{2, 3, 4},
	}
	pads := [][2]int{{w.Padding[0], w.Padding[0]}, {w.Padding[1], w.Padding[1]}, {w.Padding[2], w.Padding[2]}}
	// GoMLX's ConvGeneral gradient assumes the output axes mirror the input
	// axes, so convolve channels-first and transpose afterwards.
	y := graph.ConvGeneral(x, kernel, axes, w.Stride[:], pads, nil, nil, 1, 1)
	return graph.TransposeAllAxes(y, 0, 2, 3, 4, 1)
}

func conv3DComposed(x, kernel *graph.Node, w Window) *graph.Node {
	d := x.Shape().Dimensions
	b, c := d[0], d[1]
	o := kernel.Shape().Dimensions[0]
	out := w.OutDims(d[2], d[3], d[4])
	xl := graph.TransposeAllAxes(x, 0, 2, 3, 4, 1) // [B,T,H,W,C]
	xl = padChannelsLast(xl, w.Padding, graph.ScalarZero(x.Graph(), x.DType()))
	k := w.Kernel[0] * w.Kernel[1] * w.Kernel[2]
	cols := make([]*graph.Node, 0, k)
	taps(xl, w, out, func(_, _, _ int, s *graph.Node) {
		cols = append(cols, graph.ExpandAxes(s, 4)) // [B,T',H',W',1,C]
	})
	patches := graph.Concatenate(cols, 4) // [B,T',H',W',K,C]
	patches = graph.Reshape(patches, b*out[0]*out[1]*out[2], k*c)
	// Kernel [O,C,kt,kh,kw] → [O,kt,kh,kw,C] → [O, K·C], matching the patch order.
	kr := graph.Reshape(graph.TransposeAllAxes(kernel, 0, 2, 3, 4, 1), o, k*c)
	y := graph.DotGeneral(patches, []int{1}, nil, kr, []int{1}, nil) // [P, O]
	return graph.Reshape(y, b, out[0], out[1], out[2], o)
}
