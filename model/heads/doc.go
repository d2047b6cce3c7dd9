// Package heads holds the GoMLX graphs that sit on top of the video
// encoder: the projection to the 512-d embedding and the multi-instance
// gated-attention head that pools a study's clip embeddings into one study
// prediction (docs/reference.md §3.2–3.5), plus its losses.
//
//	h    = normalize(Linear_768→512(encoder features))          Project
//	x    = Dropout(ReLU(Linear_256→256(Dropout(ReLU(Linear_512→256(h))))))
//	x    = LayerNorm_256(x)                     (classification only)
//	A    = Linear_128→1(tanh(Linear_a(x)) ⊙ sigmoid(Linear_b(x)))
//	α    = softmax over the bag's real instances of A (padding masked)
//	M    = Σ_k α_k x_k
//	out  = Linear_256→C(Dropout(M)); ×100 (regression) or sigmoid
//
// Bags are padded to a static size with a mask (XLA needs static shapes);
// masked instances get exactly zero attention, so padding never changes an
// output. Variable names follow the authors' Lightning checkpoint keys
// (Specs, with LightningPrefix) so their fine-tuned weights load.
package heads
