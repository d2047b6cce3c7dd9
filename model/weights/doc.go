// Package weights reads and writes named tensors in the formats published
// model weights come in — safetensors, PyTorch's zip pickles (.pt, .pth,
// .ckpt, .pyth) and NumPy's .npy/.npz — and checks a tensor set against what
// a model expects. It knows nothing about any architecture: a model package
// renames keys into its own layout ([Set.Rename]) and validates the result
// ([Check]).
//
// cmrfm's own checkpoints are safetensors files whose metadata carries
// "cmrfm.sha256", the SHA-256 of the tensor data; [Load] verifies it.
package weights
