package mvit

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cmrfm/cmrfm/model/weights"
)

// Layout names a parameter naming scheme.
type Layout string

// Naming schemes [ToCanonical] understands.
const (
	// LayoutPyTorchVideo: pytorchvideo 0.1.3, the authors' arch/mvit.py and
	// MVIT_B_16x4.pyth's "model_state" — cmrfm's canonical names.
	LayoutPyTorchVideo Layout = "pytorchvideo"
	// LayoutPyTorchVideoNew: pytorchvideo ≥ 0.1.5, which moved the pooling
	// into attn._attention_pool_{q,k,v}.{pool,norm}.
	LayoutPyTorchVideoNew Layout = "pytorchvideo-0.1.5"
	// LayoutTorchvision: torchvision's mvit_v1_b (conv_proj, pos_encoding,
	// fused attn.qkv, mlp.0/mlp.3, …).
	LayoutTorchvision Layout = "torchvision"
)

// DetectLayout guesses the naming scheme of a state dict.
func DetectLayout(s *weights.Set) Layout {
	for name := range s.Tensors {
		switch {
		case strings.HasPrefix(name, "conv_proj.") || strings.HasPrefix(name, "pos_encoding."):
			return LayoutTorchvision
		case strings.Contains(name, "._attention_pool_"):
			return LayoutPyTorchVideoNew
		}
	}
	return LayoutPyTorchVideo
}

var (
	reTVBlock   = regexp.MustCompile(`^blocks\.(\d+)\.(.+)$`)
	reNewPool   = regexp.MustCompile(`^(blocks\.\d+\.attn)\._attention_pool_([qkv])\.(pool|norm)\.(weight|bias)$`)
	reTVPool    = regexp.MustCompile(`^attn\.pool_([qkv])\.(pool\.weight|norm_act\.0\.(weight|bias))$`)
	reTVLinears = map[string]string{"attn.project.0.": "attn.proj.", "mlp.0.": "mlp.fc1.", "mlp.3.": "mlp.fc2.", "project.": "proj."}
)

// ToCanonical renames a state dict into pytorchvideo 0.1.3 names (cmrfm's
// canonical layout), splitting torchvision's fused qkv and reshaping its
// positional tensors. A leading "module." (DataParallel) is removed. Names
// it does not recognise are kept unchanged, so [weights.Check] reports them.
func ToCanonical(s *weights.Set) (*weights.Set, error) {
	if hasPrefixAll(s, "module.") {
		s = s.WithPrefix("module.")
	}
	switch DetectLayout(s) {
	case LayoutTorchvision:
		return fromTorchvision(s)
	case LayoutPyTorchVideoNew:
		out := weights.NewSet()
		out.Metadata, out.Format = s.Metadata, s.Format
		for _, name := range s.Names() {
			t := *s.Tensors[name]
			if m := reNewPool.FindStringSubmatch(name); m != nil {
				n := m[1] + ".pool_" + m[2] + ".weight"
				if m[3] == "norm" {
					n = m[1] + ".norm_" + m[2] + "." + m[4]
				}
				t.Name = n
			}
			if prev, dup := out.Tensors[t.Name]; dup && string(prev.Data) != string(t.Data) {
				return nil, fmt.Errorf("mvit: %s appears under its old and new pytorchvideo names with different values", t.Name)
			}
			out.Add(&t)
		}
		return out, nil
	}
	return s, nil
}

func hasPrefixAll(s *weights.Set, p string) bool {
	if len(s.Tensors) == 0 {
		return false
	}
	for n := range s.Tensors {
		if !strings.HasPrefix(n, p) {
			return false
		}
	}
	return true
}

func fromTorchvision(s *weights.Set) (*weights.Set, error) {
	out := weights.NewSet()
	out.Metadata, out.Format = s.Metadata, s.Format
	put := func(name string, t *weights.Tensor, shape ...int) {
		c := *t
		c.Name = name
		if shape != nil {
			c.Shape = shape
		}
		out.Add(&c)
	}
	for _, name := range s.Names() {
		t := s.Tensors[name]
		dim := func(i int) int {
			if i < len(t.Shape) {
				return t.Shape[i]
			}
			return -1
		}
		switch {
		case name == "conv_proj.weight" || name == "conv_proj.bias":
			put("patch_embed.patch_model."+name[len("conv_proj."):], t)
		case name == "pos_encoding.class_token":
			put("cls_positional_encoding.cls_token", t, 1, 1, dim(0))
		case name == "pos_encoding.class_pos":
			put("cls_positional_encoding.pos_embed_class", t, 1, 1, dim(0))
		case name == "pos_encoding.spatial_pos":
			put("cls_positional_encoding.pos_embed_spatial", t, 1, dim(0), dim(1))
		case name == "pos_encoding.temporal_pos":
			put("cls_positional_encoding.pos_embed_temporal", t, 1, dim(0), dim(1))
		case strings.HasPrefix(name, "norm."):
			put("norm_embed."+name[len("norm."):], t)
		case strings.HasPrefix(name, "head.1."):
			put("head.proj."+name[len("head.1."):], t)
		default:
			m := reTVBlock.FindStringSubmatch(name)
			if m == nil {
				put(name, t)
				continue
			}
			pre, rest := "blocks."+m[1]+".", m[2]
			if rest == "attn.qkv.weight" || rest == "attn.qkv.bias" {
				parts, err := splitRows(t, 3)
				if err != nil {
					return nil, fmt.Errorf("mvit: %s: %w", name, err)
				}
				kind := rest[len("attn.qkv."):]
				for i, qkv := range []string{"q", "k", "v"} {
					put(pre+"attn."+qkv+"."+kind, parts[i])
				}
				continue
			}
			if pm := reTVPool.FindStringSubmatch(rest); pm != nil {
				if pm[3] == "" {
					put(pre+"attn.pool_"+pm[1]+".weight", t)
				} else {
					put(pre+"attn.norm_"+pm[1]+"."+pm[3], t)
				}
				continue
			}
			renamed := false
			for from, to := range reTVLinears {
				if strings.HasPrefix(rest, from) {
					put(pre+to+rest[len(from):], t)
					renamed = true
					break
				}
			}
			if !renamed {
				put(name, t)
			}
		}
	}
	return out, nil
}

// splitRows splits a tensor into n equal parts along its first axis.
func splitRows(t *weights.Tensor, n int) ([]*weights.Tensor, error) {
	if len(t.Shape) == 0 || t.Shape[0]%n != 0 {
		return nil, fmt.Errorf("cannot split shape %v into %d along the first axis", t.Shape, n)
	}
	rows := t.Shape[0] / n
	per := len(t.Data) / n
	out := make([]*weights.Tensor, n)
	for i := range n {
		shape := append([]int{rows}, t.Shape[1:]...)
		out[i] = &weights.Tensor{Name: t.Name, DType: t.DType, Shape: shape, Data: t.Data[i*per : (i+1)*per]}
	}
	return out, nil
}

// DropHead removes the classification head (head.proj.*) from a canonical set.
func DropHead(s *weights.Set) *weights.Set {
	out, _ := s.Rename(func(n string) (string, bool) { return n, !strings.HasPrefix(n, "head.") })
	return out
}
