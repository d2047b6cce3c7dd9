package mvit

import (
	"fmt"
	"strings"

	"github.com/cmrfm/cmrfm/model/weights"
)

// ResolveOptions controls how [Resolve] treats the authors' checkpoints.
type ResolveOptions struct {
	// Init is the encoder (any supported layout) the authors' model started
	// from — the Kinetics-400 MVIT_B_16x4.pyth. Needed with BugCompatible.
	Init *weights.Set
	// BugCompatible reproduces the authors' loader, which leaves the spatial
	// and temporal positional embeddings at their Init values
	// (docs/reference.md §3.8). See [FromAuthorsCheckpoint].
	BugCompatible bool
}

// Resolved is an encoder weight set in canonical names plus what else the
// source held.
type Resolved struct {
	Encoder    *weights.Set
	Projection *weights.Set // video_proj.{weight,bias}, empty if absent
	Layout     string       // what the source was
	Notes      []string     // human-readable remarks (dropped head, tensors kept from init, …)
}

// IsAuthorsCheckpoint reports whether s uses the authors' Lightning layout.
func IsAuthorsCheckpoint(s *weights.Set) bool {
	for n := range s.Tensors {
		if strings.HasPrefix(n, "model.video_encoder.") {
			return true
		}
	}
	return false
}

// Resolve turns any supported weight file — the authors' Lightning
// checkpoint, torchvision's mvit_v1_b, pytorchvideo's MViT (0.1.3 or newer
// names), or a cmrfm checkpoint — into canonical encoder weights for cfg,
// checked tensor by tensor. A Kinetics head is dropped when cfg has none.
func Resolve(cfg Config, s *weights.Set, opt ResolveOptions) (*Resolved, error) {
	r := &Resolved{Projection: weights.NewSet()}
	if IsAuthorsCheckpoint(s) {
		var init *weights.Set
		if opt.Init != nil {
			res, err := Resolve(cfg, opt.Init, ResolveOptions{})
			if err != nil {
				return nil, fmt.Errorf("mvit: initial (Kinetics) weights: %w", err)
			}
			init = res.Encoder
		}
		a, err := FromAuthorsCheckpoint(cfg, s, init, opt.BugCompatible)
		if err != nil {
			return nil, err
		}
		r.Encoder, r.Projection, r.Layout = a.Encoder, a.Projection, "authors' Lightning checkpoint (model.video_encoder.*)"
		if opt.BugCompatible {
			r.Layout += ", bug-compatible loader"
		}
		if len(a.FromInit) > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("kept from the initial weights: %s", strings.Join(a.FromInit, ", ")))
		}
		if a.Ignored > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("ignored %d tensors outside the video branch", a.Ignored))
		}
		return r, nil
	}
	proj, rest := weights.NewSet(), weights.NewSet()
	rest.Metadata, rest.Format = s.Metadata, s.Format
	for _, n := range s.Names() {
		if strings.HasPrefix(n, "video_proj.") {
			proj.Add(s.Tensors[n])
		} else {
			rest.Add(s.Tensors[n])
		}
	}
	r.Projection = proj
	r.Layout = string(DetectLayout(rest))
	if s.Metadata[weights.MetaFormat] == weights.FormatV1 {
		arch := s.Metadata[weights.MetaArch]
		r.Layout = "cmrfm checkpoint (" + arch + ")"
		if arch != cfg.Name {
			r.Notes = append(r.Notes, fmt.Sprintf("checkpoint converted for %s, used as %s", arch, cfg.Name))
		}
	}
	enc, err := ToCanonical(rest)
	if err != nil {
		return nil, err
	}
	if cfg.NumClasses == 0 {
		if _, ok := enc.Tensors["head.proj.weight"]; ok {
			enc = DropHead(enc)
			r.Notes = append(r.Notes, "dropped the classification head (head.proj)")
		}
	}
	if err := weights.Check(cfg.Specs(), enc); err != nil {
		return nil, fmt.Errorf("mvit %s: %w", cfg.Name, err)
	}
	r.Encoder = enc
	return r, nil
}

// Merged returns the encoder and the projection in one set, the content of
// a cmrfm MViT checkpoint.
func (r *Resolved) Merged() *weights.Set {
	out := weights.NewSet()
	for _, n := range r.Encoder.Names() {
		out.Add(r.Encoder.Tensors[n])
	}
	for _, n := range r.Projection.Names() {
		out.Add(r.Projection.Tensors[n])
	}
	return out
}
