package pretrain

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph building reads best unqualified
)

// LossOutput holds the nodes of the contrastive loss.
type LossOutput struct {
	// Loss is the flooded loss L̃ = |L − b| + b, the quantity minimised.
	Loss *Node
	// Raw is L = mean_i[λ·l_i(v→u) + (1−λ)·l_i(u→v)], before flooding.
	Raw *Node
	// VideoToText [B] is l_i(v→u) = −log softmax_k(S_ik)[i] and TextToVideo
	// [B] its transpose counterpart −log softmax_k(S_ki)[i].
	VideoToText, TextToVideo *Node
	// Logits [B, B] is S = s·v·uᵀ (s = exp(logScale) = 1/τ): row i holds
	// clip i against every text of the batch.
	Logits *Node
}

// ContrastiveLoss is the paper's asymmetric bidirectional InfoNCE with
// flooding (docs/reference.md §3.7) on L2-normalised video embeddings v [B, D]
// and text embeddings u [B, D], pair i being (v_i, u_i):
//
//	S_ik    = exp(logScale) · ⟨v_i, u_k⟩                      (exp(logScale) = 1/τ)
//	l_i(v→u) = −log( exp(S_ii) / Σ_k exp(S_ik) )
//	l_i(u→v) = −log( exp(S_ii) / Σ_k exp(S_ki) )
//	L        = (1/B) Σ_i [ λ·l_i(v→u) + (1−λ)·l_i(u→v) ]
//	L̃        = |L − b| + b                                      (flooding; b = 0 disables)
//
// logScale is a scalar node (a constant for a fixed τ, a variable for a
// learnable one). The log-softmaxes subtract the row/column maximum, as
// torch's cross_entropy does. Checked against torch 1.13 with autograd
// (testdata/gen/train/pretrain/gen_loss.py).
func ContrastiveLoss(v, u, logScale *Node, lambda, flood float64) *LossOutput {
	if v.Rank() != 2 || u.Rank() != 2 || !v.Shape().Equal(u.Shape()) {
		panic(fmt.Sprintf("pretrain.ContrastiveLoss: embeddings %s and %s, want equal [B, D]", v.Shape(), u.Shape()))
	}
	if logScale.Rank() != 0 {
		panic(fmt.Sprintf("pretrain.ContrastiveLoss: logScale %s, want a scalar", logScale.Shape()))
	}
	g := v.Graph()
	dt := v.DType()
	n := v.Shape().Dimensions[0]
	logits := Mul(Einsum("id,kd->ik", v, u), Exp(ConvertDType(logScale, dt)))
	diag := ConvertDType(Diagonal(g, n), dt)
	v2u := Neg(ReduceSum(Mul(LogSoftmax(logits, 1), diag), 1))
	u2v := Neg(ReduceSum(Mul(LogSoftmax(logits, 0), diag), 0))
	per := Add(MulScalar(v2u, lambda), MulScalar(u2v, 1-lambda))
	raw := ReduceAllMean(per)
	loss := raw
	if flood != 0 {
		loss = AddScalar(Abs(AddScalar(raw, -flood)), flood)
	}
	return &LossOutput{Loss: loss, Raw: raw, VideoToText: v2u, TextToVideo: u2v, Logits: logits}
}
