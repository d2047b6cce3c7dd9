package bert

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cmrfm/cmrfm/model/weights"
)

// anchor is the tensor whose name locates a BERT inside a state dict.
const anchor = "embeddings.word_embeddings.weight"

// Canonical is what [ToCanonical] found in a state dict.
type Canonical struct {
	// Set holds the BERT tensors under Hugging Face BertModel names.
	Set *weights.Set
	// Prefix is what preceded the BertModel names in the file ("" for a
	// BertModel state dict, "bert." for BertForPreTraining/MaskedLM files,
	// "model.text_encoder." in the authors' Lightning layout, …).
	Prefix string
	// Renamed lists TensorFlow-era names rewritten (LayerNorm gamma/beta →
	// weight/bias), as "old → new".
	Renamed []string
	// Dropped lists tensors outside the BERT (pre-training heads cls.*,
	// other towers of a larger model) and non-parameter buffers
	// (embeddings.position_ids), which are not loaded.
	Dropped []string
}

// Prefixes returns every prefix under which a BERT (an
// "embeddings.word_embeddings.weight" tensor) appears in s, sorted.
func Prefixes(s *weights.Set) []string {
	var out []string
	for _, n := range s.Names() {
		if p, ok := strings.CutSuffix(n, anchor); ok && (p == "" || strings.HasSuffix(p, ".")) {
			out = append(out, p)
		}
	}
	return out
}

// ToCanonical extracts a BERT from a state dict and renames it to Hugging
// Face BertModel names. It accepts:
//
//   - HF BertModel files (model.safetensors, pytorch_model.bin), and
//     BertForPreTraining / BertForMaskedLM ones, whose "bert." prefix is
//     removed and whose cls.* heads are dropped;
//   - TensorFlow-converted files with LayerNorm.gamma / LayerNorm.beta;
//   - a leading "module." (DataParallel) or any other prefix, such as a
//     text tower inside a two-tower checkpoint.
//
// prefix selects the BERT explicitly; "" with auto = true detects it, which
// fails when the file holds no BERT or several. Tensors the model does not
// expect are kept, so [LoadInto]'s check names them.
func ToCanonical(s *weights.Set, prefix string, auto bool) (*Canonical, error) {
	if auto {
		ps := Prefixes(s)
		switch len(ps) {
		case 0:
			return nil, fmt.Errorf("bert: no %q tensor in the file, so no BERT in it (%d tensors, e.g. %s)", anchor, len(s.Tensors), sample(s.Names()))
		case 1:
			prefix = ps[0]
		default:
			return nil, fmt.Errorf("bert: the file holds %d BERTs (prefixes %q); choose one", len(ps), ps)
		}
	}
	c := &Canonical{Set: weights.NewSet(), Prefix: prefix}
	c.Set.Metadata, c.Set.Format = s.Metadata, s.Format
	for _, name := range s.Names() {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			c.Dropped = append(c.Dropped, name)
			continue
		}
		if rest == "embeddings.position_ids" { // a buffer (arange) in HF ≤ 4.30 files
			c.Dropped = append(c.Dropped, name)
			continue
		}
		newName := rest
		if m, ok := strings.CutSuffix(rest, "LayerNorm.gamma"); ok {
			newName = m + "LayerNorm.weight"
		} else if m, ok := strings.CutSuffix(rest, "LayerNorm.beta"); ok {
			newName = m + "LayerNorm.bias"
		}
		if newName != rest {
			c.Renamed = append(c.Renamed, rest+" → "+newName)
		}
		if _, dup := c.Set.Tensors[newName]; dup {
			return nil, fmt.Errorf("bert: %s appears twice (old and new LayerNorm names?)", newName)
		}
		t := *s.Tensors[name]
		t.Name = newName
		c.Set.Add(&t)
	}
	if len(c.Set.Tensors) == 0 {
		return nil, fmt.Errorf("bert: no tensor starts with prefix %q", prefix)
	}
	return c, nil
}

// HasPooler reports whether the set holds the pooler (pooler.dense.*).
// Hugging Face saves BertForMaskedLM without it (add_pooling_layer=False).
func (c *Canonical) HasPooler() bool {
	_, w := c.Set.Tensors["pooler.dense.weight"]
	_, b := c.Set.Tensors["pooler.dense.bias"]
	return w || b
}

func sample(names []string) string {
	if len(names) > 3 {
		return strings.Join(names[:3], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

// AuthorsLoad is what [FromAuthorsCheckpoint] extracted from a checkpoint
// in the authors' Lightning layout.
type AuthorsLoad struct {
	// Encoder is the text tower under HF BertModel names.
	Encoder *Canonical
	// Projection holds text_proj.{weight,bias} (Linear 768→512) when the
	// checkpoint has them next to the text tower, else it is empty.
	Projection *weights.Set
}

// FromAuthorsCheckpoint extracts the text tower from a Lightning checkpoint
// of the authors' contrastive model (docs/reference.md §3.8: state_dict keys
// model.video_encoder.*, model.video_proj.*, and the text branch). The text
// branch's key names are not public (the pre-training code is unreleased):
// the BERT is located by its embeddings.word_embeddings.weight tensor, so
// model.text_encoder.<HF name>, model.text_encoder.bert.<HF name> and other
// spellings all work; the projection is the text_proj.{weight,bias} pair
// under the same parent as the encoder (e.g. model.text_proj.weight), if
// present.
func FromAuthorsCheckpoint(ckpt *weights.Set) (*AuthorsLoad, error) {
	enc, err := ToCanonical(ckpt, "", true)
	if err != nil {
		return nil, fmt.Errorf("bert: authors' checkpoint: %w", err)
	}
	res := &AuthorsLoad{Encoder: enc, Projection: weights.NewSet()}
	// The parent of "model.text_encoder." is "model.".
	parent := strings.TrimSuffix(enc.Prefix, ".")
	if i := strings.LastIndex(parent, "."); i >= 0 {
		parent = parent[:i+1]
	} else {
		parent = ""
	}
	for _, n := range []string{"text_proj.weight", "text_proj.bias"} {
		if t, ok := ckpt.Tensors[parent+n]; ok {
			c := *t
			c.Name = n
			res.Projection.Add(&c)
		}
	}
	enc.Dropped = slices.DeleteFunc(enc.Dropped, func(n string) bool {
		return n == parent+"text_proj.weight" || n == parent+"text_proj.bias"
	})
	return res, nil
}
