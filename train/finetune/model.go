package finetune

import (
	"fmt"

	"github.com/cmrfm/cmrfm/model/heads"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/train"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph building reads best unqualified
	"github.com/gomlx/gomlx/ml/model"
)

// Scope names, chosen so that variable paths read like the authors'
// Lightning keys (model.video_encoder.*, model.video_proj.*,
// classifier_head.*; docs/reference.md §3.3) and match cmrfm's pretraining
// checkpoints (/model/video_encoder, /model/video_proj).
const (
	ScopeModel        = "model"
	ScopeVideoEncoder = "video_encoder"
	ScopeVideoProj    = "video_proj"
	ScopeHead         = "classifier_head"
)

// Variable path prefixes of the three parts.
const (
	PrefixEncoder = "/" + ScopeModel + "/" + ScopeVideoEncoder + "/"
	PrefixProj    = "/" + ScopeModel + "/" + ScopeVideoProj + "/"
	PrefixHead    = "/" + ScopeHead + "/"
)

// NetConfig is the downstream network: MViT → Linear(768→512) + L2 →
// gated-attention MIL head.
type NetConfig struct {
	Video    mvit.Config
	EmbedDim int
	Head     heads.Config
	Mode     Mode
	// HuberDelta is the regression loss's δ in percentage points (1).
	HuberDelta float64
	// ReferenceOptimizer leaves the MIL head out of the optimiser (the
	// authors' bug, docs/reference.md §3.4).
	ReferenceOptimizer bool
}

// Validate checks the configuration.
func (n NetConfig) Validate() error {
	if err := n.Video.Validate(); err != nil {
		return fmt.Errorf("finetune: encoder: %w", err)
	}
	if n.Video.NumClasses != 0 {
		return fmt.Errorf("finetune: encoder %s has a classification head; use a head-less preset", n.Video.Name)
	}
	if n.Head.InDim != n.EmbedDim {
		return fmt.Errorf("finetune: head input %d ≠ embedding width %d", n.Head.InDim, n.EmbedDim)
	}
	if !(n.HuberDelta > 0) {
		return fmt.Errorf("finetune: Huber delta %g: want > 0", n.HuberDelta)
	}
	if _, err := ParseMode(string(n.Mode)); err != nil {
		return err
	}
	if len(n.TrainablePrefixes()) == 0 {
		return fmt.Errorf("finetune: mode %s with the reference optimiser trains nothing (the head is never optimised and the rest is frozen)", n.Mode)
	}
	return n.Head.Validate()
}

// TrainablePrefixes lists the variable prefixes the optimiser updates:
// linear → head; finetune → projection + head; transfer → everything. The
// reference optimiser drops the head.
func (n NetConfig) TrainablePrefixes() []string {
	var p []string
	switch n.Mode {
	case ModeTransfer:
		p = []string{PrefixEncoder, PrefixProj}
	case ModeFinetune:
		p = []string{PrefixProj}
	}
	if !n.ReferenceOptimizer {
		p = append(p, PrefixHead)
	}
	return p
}

// Net is the network's scopes in a store.
type Net struct {
	Cfg                 NetConfig
	Store               *model.Store
	Encoder, Proj, Head *model.Scope
}

// NewNet returns the network's scopes under store's root.
func NewNet(store *model.Store, cfg NetConfig) *Net {
	root := store.RootScope()
	m := root.In(ScopeModel)
	return &Net{Cfg: cfg, Store: store, Encoder: m.In(ScopeVideoEncoder), Proj: m.In(ScopeVideoProj), Head: root.In(ScopeHead)}
}

// Output holds the nodes of a forward pass over a batch of B bags with N
// instance slots.
type Output struct {
	*heads.Output
	// Features [K, D] are the encoder outputs of the K clips;
	// Embeddings [K, EmbedDim] their L2-normalised projections.
	Features, Embeddings *Node
	// Study [B, EmbedDim] is the attention-weighted mean of a bag's clip
	// embeddings: the 512-d study embedding.
	Study *Node
}

// Forward builds the network on clips [K, C, T, H, W] (normalised),
// gather [B, N] int32 (the clip row of each instance) and mask [B, N]
// (1 for real instances). Frozen parts are cut from the gradient, so a
// frozen encoder costs no backward pass.
func (n *Net) Forward(clips, gather, mask *Node) *Output {
	f := mvit.Encode(n.Encoder, n.Cfg.Video, clips).Features
	if n.Cfg.Mode != ModeTransfer {
		f = StopGradient(f)
	}
	return n.FromFeatures(f, gather, mask)
}

// FromFeatures builds the projection and head on encoder features
// [K, D] (tests feed fixed embeddings here).
func (n *Net) FromFeatures(features, gather, mask *Node) *Output {
	emb := heads.Project(n.Proj, features, n.Cfg.EmbedDim)
	if n.Cfg.Mode == ModeLinear {
		emb = StopGradient(emb)
	}
	h := Gather(emb, ExpandAxes(gather, -1)) // [B, N, E]
	out := heads.MIL(n.Head, n.Cfg.Head, h, mask)
	study := Einsum("bn,bne->be", out.Attention, h)
	return &Output{Output: out, Features: features, Embeddings: emb, Study: study}
}

// Loss is the task's loss of out against targets [B, Classes]: Huber
// (HuberDelta, 1 in the paper) on the predictions in percent for regression, BCE with logits and
// posWeight [Classes] for classification, averaged over the labels present
// (labelMask [B, Classes], 0 where a label is missing).
func (n *Net) Loss(out *Output, targets, labelMask, posWeight *Node) *Node {
	if n.Cfg.Head.Task == heads.Regression {
		return heads.Huber(out.Prediction, targets, labelMask, n.Cfg.HuberDelta)
	}
	return heads.BCEWithLogits(out.Logits, targets, posWeight, labelMask)
}

// Trainable returns the variables of g the optimiser updates, sorted by
// path (train.Trainable).
func (n *Net) Trainable(g *Graph) []*model.Variable {
	return train.Trainable(n.Store, g, n.Cfg.TrainablePrefixes()...)
}
