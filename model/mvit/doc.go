// Package mvit is the Multiscale Vision Transformer (MViT v1) video encoder
// in GoMLX, with the semantics of pytorchvideo 0.1.3 (the authors'
// arch/mvit.py) and torchvision 0.14's mvit_v1_b: a Conv3D patch embedding,
// separate spatial/temporal/class positional embeddings, blocks of
// multi-head pooling attention (depthwise Conv3D pooling of Q, K and V,
// each followed by LayerNorm, with the CLS token bypassing the pooling), a
// max-pooled skip connection where queries are pooled, an MLP, a final
// LayerNorm and the CLS token as output.
//
// [MViTB16x4] is the configuration of the paper (36.3 M parameters without
// the Kinetics head); [Tiny] is a four-block model of the same structure for
// tests. [Encode] builds the graph (forward and, through GoMLX's autodiff,
// backward) and returns every block's attention maps; [Encoder] runs it on
// tensors. Weights load from torchvision, pytorchvideo and the authors'
// Lightning checkpoints ([ToCanonical], [FromAuthorsCheckpoint]).
//
// Parameter names inside cmrfm are pytorchvideo 0.1.3's (for example
// "blocks.3.attn.pool_q.weight"); see [Config.Specs].
package mvit
