package finetune

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/cmrfm/cmrfm/model/heads"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/weights"
)

// Source names of initial weights, as Init reports them.
const (
	InitRandom     = "random"
	InitCheckpoint = "cmrfm checkpoint"
)

// InitReport says where the starting weights came from.
type InitReport struct {
	// Source is InitRandom, InitCheckpoint or the layout mvit.Resolve
	// detected (Kinetics torchvision/pytorchvideo, the authors' Lightning
	// checkpoint, a cmrfm MViT checkpoint).
	Source string
	// Encoder, Projection and Head report which parts were loaded (the
	// others start from their random initialisation).
	Encoder, Projection, Head bool
	Notes                     []string
}

// variablePrefix reports whether a weight file names tensors by cmrfm
// store variable paths (training and pretraining checkpoints).
func variablePrefix(s *weights.Set) bool {
	for n := range s.Tensors {
		if strings.HasPrefix(n, PrefixEncoder) || strings.HasPrefix(n, PrefixProj) {
			return true
		}
	}
	return false
}

// fromVariables turns the tensors under a variable-path prefix into a set
// keyed by reference names (path separators become dots).
func fromVariables(s *weights.Set, prefix string) *weights.Set {
	out, _ := s.Rename(func(n string) (string, bool) {
		if !strings.HasPrefix(n, prefix) {
			return "", false
		}
		return strings.ReplaceAll(n[len(prefix):], "/", "."), true
	})
	return out
}

// LoadInitial loads the weights Init names into the network's scopes
// (before any graph is built). With no file, everything starts from random
// weights.
func LoadInitial(net *Net, in InitConfig, log *slog.Logger) (*InitReport, error) {
	rep := &InitReport{Source: InitRandom}
	if in.Weights == "" {
		if log != nil {
			log.Warn("no init.weights: the encoder starts from random weights (the paper starts from a pretrained or Kinetics-400 encoder)")
		}
		return rep, nil
	}
	set, err := weights.Load(in.Weights)
	if err != nil {
		return nil, fmt.Errorf("finetune: init.weights: %w", err)
	}
	vc := net.Cfg.Video
	var enc, proj, head *weights.Set
	if variablePrefix(set) {
		rep.Source = InitCheckpoint
		if k := set.Metadata["cmrfm.train.kind"]; k != "" {
			rep.Source += " (" + k + ")"
		}
		enc, proj, head = fromVariables(set, PrefixEncoder), fromVariables(set, PrefixProj), fromVariables(set, PrefixHead)
	} else {
		var kin *weights.Set
		if in.Kinetics != "" {
			if kin, err = weights.Load(in.Kinetics); err != nil {
				return nil, fmt.Errorf("finetune: init.kinetics: %w", err)
			}
		}
		r, err := mvit.Resolve(vc, set, mvit.ResolveOptions{Init: kin, BugCompatible: in.AuthorsBugCompatible})
		if err != nil {
			return nil, fmt.Errorf("finetune: init.weights %s: %w", in.Weights, err)
		}
		rep.Source, rep.Notes = r.Layout, r.Notes
		enc, proj = r.Encoder, r.Projection.WithPrefix("video_proj.")
		if mvit.IsAuthorsCheckpoint(set) {
			head = set.WithPrefix(heads.LightningPrefix)
		}
	}
	if len(enc.Tensors) > 0 {
		if err := mvit.LoadInto(net.Encoder, vc, enc); err != nil {
			return nil, fmt.Errorf("finetune: init.weights %s: encoder: %w", in.Weights, err)
		}
		rep.Encoder = true
	}
	if len(proj.Tensors) > 0 {
		if err := heads.LoadProjection(net.Proj, vc.OutDim(), net.Cfg.EmbedDim, proj); err != nil {
			return nil, fmt.Errorf("finetune: init.weights %s: projection: %w", in.Weights, err)
		}
		rep.Projection = true
	}
	if head != nil && len(head.Tensors) > 0 {
		if err := heads.LoadInto(net.Head, net.Cfg.Head, head); err != nil {
			// A head of another task or size: start it fresh, and say so.
			rep.Notes = append(rep.Notes, fmt.Sprintf("the file's classifier_head does not fit this head (%v); it starts from random weights", err))
		} else {
			rep.Head = true
		}
	}
	if log != nil {
		log.Info("initial weights", "file", in.Weights, "source", rep.Source, "encoder", rep.Encoder, "projection", rep.Projection, "head", rep.Head)
		for _, n := range rep.Notes {
			log.Info(n)
		}
	}
	return rep, nil
}
