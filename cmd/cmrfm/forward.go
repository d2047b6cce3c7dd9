package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cmrfm/cmrfm/model/bert"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/ops"
)

// forwardOptions are the flags of "cmrfm forward". Shared flags come first;
// each architecture family adds its own inputs below and one case in
// runForward.
type forwardOptions struct {
	arch, weights, output, backend string

	// BERT (--arch bert-base, bert-tiny).
	inputIDs, attentionMask, tokenTypeIDs string
	hiddenStates                          bool
	pooling                               string

	// MViT (--arch mvit-b-16x4, mvit-b-16x4-torchvision, mvit-tiny).
	input, attentionOut, attentionFormat, init string
	authorsBugCompatible                       bool
}

// forwardArchs lists every --arch value "cmrfm forward" accepts.
func forwardArchs() []string {
	return slices.Concat(bert.Archs(), mvit.Archs())
}

func newForwardCmd(a *app) *cobra.Command {
	var o forwardOptions
	cmd := &cobra.Command{
		Use:   "forward --arch ARCH --weights W [inputs] --output OUT",
		Short: "Run one encoder forward pass on arrays from .npy files",
		Long: `forward runs an encoder once on inputs stored as NumPy arrays and writes its
outputs, for checking weights and numerics against another implementation.

Architectures: ` + strings.Join(forwardArchs(), ", ") + `.

BERT (bert-base = BERT-base uncased / PubMedBERT; bert-tiny = the test model):
  --weights takes a Hugging Face model.safetensors or pytorch_model.bin
  (BertModel, BertForPreTraining/MaskedLM, TensorFlow-era gamma/beta names),
  or a Lightning checkpoint holding a text tower (the authors' layout);
  --input-ids [B, L] int32/int64, optional --attention-mask [B, L] (1 real,
  0 padding) and --token-type-ids [B, L].
  Outputs: last_hidden_state [B, L, H] and pooler_output [B, H]; with
  --hidden-states also hidden_states.00 (embeddings) … .NN; with --pooling
  cls|mean|max|pooler also embedding [B, H].

MViT (mvit-b-16x4 = the authors' pytorchvideo encoder; mvit-b-16x4-torchvision =
torchvision's mvit_v1_b numerics; mvit-tiny = the test model):
  --weights takes a cmrfm checkpoint, torchvision mvit_v1_b, pytorchvideo
  MVIT_B_16x4.pyth or the authors' Lightning checkpoint (model.video_encoder.*;
  --authors-bug-compatible with --init KINETICS reproduces their loader);
  --input clips .npy float32 [N, 3, 16, 224, 224], normalised.
  Output: features [N, 768] (.npy); with --attention-out DIR, per clip
  DIR/clip_NNNN.h5 holding input_video [3,16,224,224] and layer_00 … layer_15
  [heads, Nq, Nk] (the authors' export layout), or with --attention-format npy
  DIR/clip_NNNN/<name>.npy.

--output (BERT): a .npz or .safetensors file holds every output by name; with a
.npy name the last hidden state goes there and each other output to
<name>.<output>.npy beside it.

--backend selects the GoMLX backend ("go" by default, or $GOMLX_BACKEND).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runForward(a, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.arch, "arch", "", "architecture: "+strings.Join(forwardArchs(), ", "))
	f.StringVar(&o.weights, "weights", "", "weights file (.safetensors, .bin/.pt/.ckpt, .npz)")
	f.StringVar(&o.output, "output", "", "output file (.npz, .safetensors or .npy)")
	f.StringVar(&o.backend, "backend", "", `GoMLX backend config (default $GOMLX_BACKEND, else "go")`)
	f.StringVar(&o.inputIDs, "input-ids", "", "BERT: token ids .npy [B, L]")
	f.StringVar(&o.attentionMask, "attention-mask", "", "BERT: attention mask .npy [B, L] (optional)")
	f.StringVar(&o.tokenTypeIDs, "token-type-ids", "", "BERT: token type ids .npy [B, L] (optional)")
	f.BoolVar(&o.hiddenStates, "hidden-states", false, "BERT: also write every layer's hidden states")
	f.StringVar(&o.pooling, "pooling", "", "BERT: also write a sentence embedding: cls, mean, max or pooler")
	f.StringVar(&o.input, "input", "", "MViT: clips .npy float32 [N, 3, 16, 224, 224]")
	f.StringVar(&o.attentionOut, "attention-out", "", "MViT: directory for every block's attention maps")
	f.StringVar(&o.attentionFormat, "attention-format", "h5", "MViT: h5 (clip_NNNN.h5, the authors' layout) or npy (clip_NNNN/*.npy)")
	f.StringVar(&o.init, "init", "", "MViT: Kinetics-400 weights under an authors' checkpoint (with --authors-bug-compatible)")
	f.BoolVar(&o.authorsBugCompatible, "authors-bug-compatible", false, "MViT: load the authors' checkpoint as their code does")
	for _, name := range []string{"arch", "weights", "output"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runForward(a *app, o forwardOptions) error {
	inferenceMemoryLimit(a.log, o.weights, o.init)
	backend, err := ops.NewInferenceBackend(o.backend)
	if err != nil {
		return err
	}
	switch {
	case slices.Contains(bert.Archs(), o.arch):
		return runForwardBert(a, o, backend)
	case slices.Contains(mvit.Archs(), o.arch):
		return runForwardMViT(a, o, backend)
	}
	return usagef("--arch %q: want one of %s", o.arch, strings.Join(forwardArchs(), ", "))
}
