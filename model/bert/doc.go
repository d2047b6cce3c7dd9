// Package bert is the BERT text encoder of the paper's contrastive model
// (PubMedBERT: BERT-base uncased, 30,522-token vocabulary; docs/reference.md
// §3.7) in GoMLX, with the semantics of Hugging Face transformers'
// modeling_bert (BertModel, eager attention):
//
//	h₀ = LayerNorm(word[ids] + token_type[tt] + position[0..L-1])   eps 1e-12
//	hᵢ = LN₂(a + W₂·gelu(W₁·a + b₁) + b₂),  a = LN₁(hᵢ₋₁ + Wₒ·Attn(hᵢ₋₁) + bₒ)
//	Attn: softmax(q·kᵀ/√d_head + (1 − mask)·float32_min) · v, per head
//	pooled = tanh(W_p·h_N[:, 0] + b_p)
//
// GELU is the exact erf form; the attention mask is additive exactly as
// modeling_bert's extended mask; dropout (0.1 in bert-base) acts only while
// training.
//
// [BertBase] is the paper's configuration (12 layers × 768, 12 heads, FFN
// 3072, 109,482,240 parameters with the pooler); [Tiny] is a small model of
// the same structure used by the tests. [Encode] builds the graph (forward
// and, through GoMLX's autodiff, backward) and returns every layer's hidden
// state; [Pool] gives the CLS, mean and max sentence embeddings over the
// mask. [Config.Freeze] freezes the embeddings and the first k layers the
// way the paper freezes layers 1–6: their variables are not trainable (no
// gradient, no optimiser state) and no gradient flows below them.
//
// Weights are Hugging Face BertModel state-dict names ("encoder.layer.0.
// attention.self.query.weight", see [Config.Specs]); [ToCanonical] accepts
// the variants found in published files (a "bert." prefix, TensorFlow-era
// LayerNorm gamma/beta, pre-training heads, DataParallel's "module.") and
// [FromAuthorsCheckpoint] extracts the text tower from a Lightning
// checkpoint in the authors' layout. Inside the GoMLX store the dense
// weights are kept transposed, as [in, out] "kernel" variables (the layout
// the pure-Go backend of GoMLX v0.28.2 multiplied fastest; on v0.28.16 both
// layouts run at the same speed, and [in, out] stays because it is the
// layout of saved pretraining checkpoints); [LoadInto] and [SaveFrom]
// convert.
package bert
