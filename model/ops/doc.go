// Package ops holds graph compositions that make cmrfm's video models fast
// and trainable on GoMLX's pure-Go backend, where the generic operations are
// slow or lack a gradient:
//
//   - [Conv3D]: a dense 3-D convolution written as im2col (strided slices)
//     plus one matrix multiplication — the backend's ConvGeneral runs two
//     orders of magnitude slower than its matmul.
//   - [DepthwiseConv3D]: a per-channel 3-D convolution written as shifted,
//     strided slices multiplied by the kernel taps and summed.
//   - [MaxPool3D]: a 3-D max pool written as strided slices reduced with Max;
//     the backend's ReduceWindow max has no gradient.
//
// Each op takes an [Impl]: [Auto] picks the composition on the Go backend and
// GoMLX's generic operation on XLA (whose convolutions and pools are fast and
// differentiable there); [Composed] and [Generic] force one path. Tests check
// that both paths agree in values and gradients.
//
// Layouts follow the models that use them: inputs of [Conv3D] are PyTorch's
// channels-first [B, C, T, H, W] (a raw video clip), while the pooling ops
// work channels-last on [N, T, H, W, C] (tokens reshaped to a grid), so no
// transposes are needed around them. Kernels keep PyTorch's layout, so
// published weights are used as they are.
package ops
