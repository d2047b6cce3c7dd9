package mvit

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/tensors"
)

// keyList is testdata/mvit_v1_b_keys.json: the names and shapes of
// torchvision's mvit_v1_b state dict and of the same model in pytorchvideo
// 0.1.3 names (from gen_tiny.py's independent Python renaming).
type keyList struct {
	Torchvision       map[string][]int `json:"torchvision"`
	PyTorchVideo      map[string][]int `json:"pytorchvideo"`
	ParamsWithHead    int              `json:"params_with_head"`
	ParamsWithoutHead int              `json:"params_without_head"`
}

func loadKeyList(t *testing.T) keyList {
	t.Helper()
	b, err := os.ReadFile("testdata/mvit_v1_b_keys.json")
	if err != nil {
		t.Fatal(err)
	}
	var k keyList
	if err := json.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	return k
}

func zeroSet(shapes map[string][]int) *weights.Set {
	s := weights.NewSet()
	for name, shape := range shapes {
		s.Add(weights.FromFloat32(name, shape, make([]float32, weights.NumElements(shape))))
	}
	return s
}

// TestMViTB16x4Preset checks the preset against torchvision's mvit_v1_b and
// the pytorchvideo names: every tensor, every shape, the parameter counts.
func TestMViTB16x4Preset(t *testing.T) {
	k := loadKeyList(t)
	cfg := MViTB16x4()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := cfg.NumParameters(); n != k.ParamsWithoutHead || n != 36_303_072 {
		t.Errorf("MViT-B 16x4 has %d parameters, torchvision says %d (docs/reference.md §3.1: 36,303,072)", n, k.ParamsWithoutHead)
	}
	if n := MViTB16x4Torchvision(400).NumParameters(); n != k.ParamsWithHead {
		t.Errorf("with the K400 head: %d parameters, want %d", n, k.ParamsWithHead)
	}
	if err := weights.Check(MViTB16x4Torchvision(400).Specs(), zeroSet(k.PyTorchVideo)); err != nil {
		t.Errorf("pytorchvideo names: %v", err)
	}
	conv, err := ToCanonical(zeroSet(k.Torchvision))
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.Check(MViTB16x4Torchvision(400).Specs(), conv); err != nil {
		t.Errorf("torchvision names after ToCanonical: %v", err)
	}
	// The paper's 65 attention maps: heads summed over blocks.
	heads := 0
	for _, b := range cfg.Blocks {
		heads += b.Heads
	}
	if heads != 65 {
		t.Errorf("%d heads, want 65", heads)
	}
	// Attention shapes of docs/reference.md §3.1's table.
	want := [][3]int{{1, 25089, 393}, {2, 6273, 1569}, {2, 6273, 393}, {4, 1569, 1569}, {4, 1569, 393}, {4, 1569, 393},
		{4, 1569, 393}, {4, 1569, 393}, {4, 1569, 393}, {4, 1569, 393}, {4, 1569, 393}, {4, 1569, 393}, {4, 1569, 393},
		{4, 1569, 393}, {8, 393, 1569}, {8, 393, 393}}
	for i, s := range cfg.Shapes() {
		h, nq, nk := s.AttentionDims(cfg.Blocks[i])
		if [3]int{h, nq, nk} != want[i] {
			t.Errorf("block %d attention [%d %d %d], want %v", i, h, nq, nk, want[i])
		}
	}
}

// TestPyTorchVideoNewNames: pytorchvideo ≥ 0.1.5 moved the pooling modules
// under attn._attention_pool_{q,k,v}; both spellings load.
func TestPyTorchVideoNewNames(t *testing.T) {
	k := loadKeyList(t)
	renamed := weights.NewSet()
	for name, shape := range k.PyTorchVideo {
		n := name
		for _, w := range []string{"q", "k", "v"} {
			n = strings.Replace(n, "attn.pool_"+w+".weight", "attn._attention_pool_"+w+".pool.weight", 1)
			n = strings.Replace(n, "attn.norm_"+w+".", "attn._attention_pool_"+w+".norm.", 1)
		}
		renamed.Add(weights.FromFloat32(n, shape, make([]float32, weights.NumElements(shape))))
	}
	if DetectLayout(renamed) != LayoutPyTorchVideoNew {
		t.Fatalf("layout %s", DetectLayout(renamed))
	}
	conv, err := ToCanonical(renamed)
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.Check(MViTB16x4Torchvision(400).Specs(), conv); err != nil {
		t.Error(err)
	}
}

func TestMismatchedWeightsAreReported(t *testing.T) {
	set := tinyCanonical(t)
	delete(set.Tensors, "blocks.1.attn.pool_q.weight")
	set.Tensors["blocks.0.mlp.fc1.bias"].Shape = []int{7}
	set.Add(weights.FromFloat32("blocks.9.stray", []int{1}, []float32{0}))
	_, err := NewEncoder(gomlxtest.Backend(t), Tiny(5), set)
	if err == nil {
		t.Fatal("loaded inconsistent weights")
	}
	for _, frag := range []string{"missing", "blocks.1.attn.pool_q.weight", "unexpected", "blocks.9.stray", "mis-shaped", "blocks.0.mlp.fc1.bias: got [7] want [32]"} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("error lacks %q:\n%v", frag, err)
		}
	}
}

// pvTiny is the tiny model with pytorchvideo's numerics (pool norms eps 1e-5).
func pvTiny() Config {
	c := Tiny(0)
	c.PoolNormEps = 1e-5
	return c
}

func encodeFeatures(t *testing.T, cfg Config, set *weights.Set) []float32 {
	t.Helper()
	enc, err := NewEncoder(gomlxtest.Backend(t), cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	res, err := enc.Forward(goldenInput(t, mustLoad(t, tinyGolden)), false)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](res.Features)
}

// TestAuthorsCheckpoint loads a Lightning checkpoint in the authors' layout
// (model.video_encoder.*, model.video_proj.*, text keys, optimiser state,
// hyper-parameter objects) with the fixed loader and with the bug-compatible
// one, and compares the features with pytorchvideo-semantics torch runs.
func TestAuthorsCheckpoint(t *testing.T) {
	cfg := pvTiny()
	ckpt := mustLoad(t, "testdata/tiny_pv_cmr.ckpt")
	if ckpt.Metadata["epoch"] != "599" || ckpt.Metadata["torch.state_dict_key"] != "state_dict" {
		t.Errorf("checkpoint metadata %v", ckpt.Metadata)
	}
	k400, err := ToCanonical(mustLoad(t, "testdata/tiny_pv_k400.pyth"))
	if err != nil {
		t.Fatal(err)
	}
	golden := mustLoad(t, "testdata/tiny_pv_golden.safetensors")

	fixed, err := FromAuthorsCheckpoint(cfg, ckpt, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if fixed.Ignored != 2 || len(fixed.FromInit) != 0 {
		t.Errorf("fixed loader: ignored %d (want the 2 text tensors), from init %v", fixed.Ignored, fixed.FromInit)
	}
	for _, n := range []string{"video_proj.weight", "video_proj.bias"} {
		got, want := fixed.Projection.Tensors[n], ckpt.Tensors["model."+n]
		if got == nil || string(got.Data) != string(want.Data) || !slices.Equal(got.Shape, want.Shape) {
			t.Errorf("projection %s not carried over", n)
		}
	}
	gomlxtest.AssertClose(t, "features (fixed loader)", encodeFeatures(t, cfg, fixed.Encoder), f32(t, golden, "features.fixed"), 1e-5, 0)

	quirk, err := FromAuthorsCheckpoint(cfg, ckpt, k400, true)
	if err != nil {
		t.Fatal(err)
	}
	wantInit := []string{"cls_positional_encoding.pos_embed_spatial", "cls_positional_encoding.pos_embed_temporal"}
	if !slices.Equal(quirk.FromInit, wantInit) {
		t.Errorf("bug-compatible loader kept %v from init, want %v", quirk.FromInit, wantInit)
	}
	gomlxtest.AssertClose(t, "features (bug-compatible loader)", encodeFeatures(t, cfg, quirk.Encoder), f32(t, golden, "features.quirk"), 1e-5, 0)

	if _, err := FromAuthorsCheckpoint(cfg, ckpt, nil, true); err == nil || !strings.Contains(err.Error(), "pos_embed_spatial") {
		t.Errorf("bug-compatible loader without Kinetics weights: got %v, want an error naming the positional embeddings", err)
	}
	if _, err := FromAuthorsCheckpoint(cfg, k400, nil, false); err == nil {
		t.Error("a pytorchvideo state dict is not an authors' checkpoint")
	}
}

func TestPyStrip(t *testing.T) {
	// Expected values printed by Python 3.11.2: k.strip('model.') for each key.
	for in, want := range map[string]string{
		"model.video_encoder.cls_positional_encoding.pos_embed_spatial":  "video_encoder.cls_positional_encoding.pos_embed_spatia",
		"model.video_encoder.cls_positional_encoding.pos_embed_temporal": "video_encoder.cls_positional_encoding.pos_embed_tempora",
		"model.video_proj.weight":             "video_proj.weight",
		"model.video_encoder.norm_embed.bias": "video_encoder.norm_embed.bias",
	} {
		if got := pyStrip(in, "model."); got != want {
			t.Errorf("pyStrip(%q) = %q, want %q", in, got, want)
		}
	}
}
