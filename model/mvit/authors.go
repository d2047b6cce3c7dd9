package mvit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cmrfm/cmrfm/model/weights"
)

// AuthorsLoad is what [FromAuthorsCheckpoint] extracted from a checkpoint in
// the authors' layout (docs/reference.md §3.8).
type AuthorsLoad struct {
	// Encoder holds the video encoder in canonical names.
	Encoder *weights.Set
	// Projection holds video_proj.{weight,bias} (Linear 768→512), or is
	// empty when the checkpoint has none.
	Projection *weights.Set
	// FromInit lists encoder tensors that kept their initial (Kinetics)
	// values because the checkpoint did not supply them under the loader's
	// key handling.
	FromInit []string
	// Ignored counts checkpoint tensors outside the video branch (text
	// encoder, text projection, …).
	Ignored int
}

// pyStrip is Python's str.strip(chars): it removes any of the characters in
// chars from both ends of s.
func pyStrip(s, chars string) string {
	return strings.Trim(s, chars)
}

// FromAuthorsCheckpoint extracts the video encoder and projection from a
// state dict in the authors' Lightning layout: model.video_encoder.<pytorch-
// video name> and model.video_proj.{weight,bias}.
//
// The authors' loader (model_factory.py load_contrastive_pretrained_weights)
// renames keys with k.strip('model.'), which strips any of the characters
// m, o, d, e, l and '.' from both ends: ...pos_embed_spatial and
// ...pos_embed_temporal become ...spatia and ...tempora, match nothing, and
// keep the values the model was initialised with (Kinetics-400). With
// bugCompatible that behaviour is reproduced — init must then hold the
// Kinetics encoder (canonical names) — and the published fine-tuning
// results are reproduced. Without it the literal prefix "model." is removed
// and every encoder tensor comes from the checkpoint; init, if given, only
// fills tensors the checkpoint lacks (reported in FromInit).
func FromAuthorsCheckpoint(cfg Config, ckpt, init *weights.Set, bugCompatible bool) (*AuthorsLoad, error) {
	modelDict := map[string]bool{"video_proj.weight": true, "video_proj.bias": true}
	for _, s := range cfg.Specs() {
		if !strings.HasPrefix(s.Name, "head.") {
			modelDict["video_encoder."+s.Name] = true
		}
	}
	loaded := map[string]*weights.Tensor{}
	res := &AuthorsLoad{Encoder: weights.NewSet(), Projection: weights.NewSet()}
	for _, name := range ckpt.Names() {
		var k string
		if bugCompatible {
			k = pyStrip(name, "model.")
		} else {
			k = strings.TrimPrefix(name, "model.")
		}
		if !modelDict[k] {
			if !strings.HasPrefix(k, "video_encoder.") && !strings.HasPrefix(k, "video_proj.") {
				res.Ignored++
			}
			continue
		}
		loaded[k] = ckpt.Tensors[name]
	}
	if len(loaded) == 0 {
		return nil, fmt.Errorf("mvit: checkpoint has no model.video_encoder.* or model.video_proj.* tensors (is it in the authors' layout?)")
	}
	if init != nil {
		for _, n := range init.Names() {
			if !strings.HasPrefix(n, "head.") {
				t := *init.Tensors[n]
				res.Encoder.Add(&t)
			}
		}
	}
	for k, t := range loaded {
		c := *t
		if name, ok := strings.CutPrefix(k, "video_encoder."); ok {
			c.Name = name
			res.Encoder.Add(&c)
		} else {
			c.Name = k // video_proj.weight / video_proj.bias
			res.Projection.Add(&c)
		}
	}
	for k := range modelDict {
		if name, ok := strings.CutPrefix(k, "video_encoder."); ok {
			if _, got := loaded[k]; !got {
				if _, fromInit := res.Encoder.Tensors[name]; fromInit {
					res.FromInit = append(res.FromInit, name)
				}
			}
		}
	}
	slices.Sort(res.FromInit)
	want := cfg.Specs()
	want = slices.DeleteFunc(want, func(s weights.Spec) bool { return strings.HasPrefix(s.Name, "head.") })
	if err := weights.Check(want, res.Encoder); err != nil {
		if bugCompatible && init == nil {
			return nil, fmt.Errorf("mvit: the bug-compatible authors' loader leaves pos_embed_spatial and pos_embed_temporal at their Kinetics-400 values: give the Kinetics weights as init: %w", err)
		}
		return nil, fmt.Errorf("mvit: authors' checkpoint: %w", err)
	}
	return res, nil
}
