package finetune

import (
	"slices"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Weight files of model/mvit's tests: the tiny MViT in torchvision and
// pytorchvideo (Kinetics-style, with a 5-class head) layouts, and a
// Lightning checkpoint in the authors' layout (video encoder, video_proj
// 32→8, a text tower, optimiser state), all written by torch.
const (
	mvitTestdata = "../../model/mvit/testdata/"
	tinyTV       = mvitTestdata + "tiny_tv_weights.safetensors"
	tinyK400     = mvitTestdata + "tiny_pv_k400.pyth"
	tinyAuthors  = mvitTestdata + "tiny_pv_cmr.ckpt"
)

func initNet(t *testing.T, embed int) *Net {
	t.Helper()
	c := TinyConfig(RegressionConfig())
	c.Model.EmbedDim, c.Model.Hidden, c.Model.AttnDim = embed, 8, 4
	nc, err := c.Net()
	if err != nil {
		t.Fatal(err)
	}
	return NewNet(model.NewStore(), nc)
}

// storeValue returns a variable's values and shape.
func storeValue(t *testing.T, n *Net, path string) ([]float32, []int) {
	t.Helper()
	for v := range n.Store.IterVariables() {
		if v.Path() == path {
			val, err := v.Value()
			if err != nil {
				t.Fatal(err)
			}
			return tensors.MustCopyFlatData[float32](val), val.Shape().Dimensions
		}
	}
	t.Fatalf("no variable %s", path)
	return nil, nil
}

func fileValue(t *testing.T, path, name string) ([]float32, []int) {
	t.Helper()
	s, err := weights.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tt, ok := s.Tensors[name]
	if !ok {
		t.Fatalf("%s has no %s", path, name)
	}
	v, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v, tt.Shape
}

// sameValues compares a store variable with a file tensor, allowing a
// transposed 2-D layout (Linear weights).
func sameValues(t *testing.T, what string, got []float32, gs []int, want []float32, ws []int) {
	t.Helper()
	if slices.Equal(gs, ws) {
		if !slices.Equal(got, want) {
			t.Errorf("%s: values differ from the file's", what)
		}
		return
	}
	if len(gs) == 2 && len(ws) == 2 && gs[0] == ws[1] && gs[1] == ws[0] {
		for i := range ws[0] {
			for j := range ws[1] {
				if got[j*gs[1]+i] != want[i*ws[1]+j] {
					t.Errorf("%s: values differ from the file's (transposed)", what)
					return
				}
			}
		}
		return
	}
	t.Errorf("%s: shape %v, file %v", what, gs, ws)
}

// TestLoadInitial loads every supported kind of starting weights into the
// fine-tuning network and checks what the report says and that the
// variables hold the file's values: torchvision and pytorchvideo
// (Kinetics) MViT files fill the encoder only; the authors' Lightning
// checkpoint fills the encoder and the projection; with
// authors_bug_compatible the positional embeddings stay at the Kinetics
// values, as the authors' loader leaves them. A file that is no weight
// file, or whose shapes do not fit, is an error naming it.
func TestLoadInitial(t *testing.T) {
	encPatch := PrefixEncoder + "patch_embed/patch_model/weight"
	for _, c := range []struct{ file, layout, patch string }{
		{tinyTV, "torchvision", "conv_proj.weight"},
		{tinyK400, "pytorchvideo", "patch_embed.patch_model.weight"},
	} {
		n := initNet(t, 64)
		rep, err := LoadInitial(n, InitConfig{Weights: c.file}, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if !strings.Contains(rep.Source, c.layout) || !rep.Encoder || rep.Projection || rep.Head {
			t.Errorf("%s: report %+v", c.file, rep)
		}
		g, gs := storeValue(t, n, encPatch)
		w, ws := fileValue(t, c.file, c.patch)
		sameValues(t, c.file+" patch embedding", g, gs, w, ws)
	}

	n := initNet(t, 8)
	rep, err := LoadInitial(n, InitConfig{Weights: tinyAuthors}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Source, "authors") || !rep.Encoder || !rep.Projection || rep.Head {
		t.Errorf("authors' checkpoint: report %+v", rep)
	}
	g, gs := storeValue(t, n, PrefixProj+"weight")
	w, ws := fileValue(t, tinyAuthors, "model.video_proj.weight")
	sameValues(t, "projection", g, gs, w, ws)
	pos := PrefixEncoder + "cls_positional_encoding/pos_embed_spatial"
	g, gs = storeValue(t, n, pos)
	w, ws = fileValue(t, tinyAuthors, "model.video_encoder.cls_positional_encoding.pos_embed_spatial")
	sameValues(t, "positional embedding (fixed loader)", g, gs, w, ws)

	n = initNet(t, 8)
	rep, err = LoadInitial(n, InitConfig{Weights: tinyAuthors, Kinetics: tinyK400, AuthorsBugCompatible: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Notes) == 0 {
		t.Error("bug-compatible load: no note about the positional embeddings kept from Kinetics")
	}
	g, gs = storeValue(t, n, pos)
	w, ws = fileValue(t, tinyK400, "cls_positional_encoding.pos_embed_spatial")
	sameValues(t, "positional embedding (bug-compatible loader: Kinetics values)", g, gs, w, ws)

	// The projection of the authors' checkpoint is 32→8: a 64-d network
	// cannot take it.
	if _, err := LoadInitial(initNet(t, 64), InitConfig{Weights: tinyAuthors}, nil); err == nil || !strings.Contains(err.Error(), tinyAuthors) {
		t.Errorf("64-d projection from a 32→8 file: %v", err)
	}
	if _, err := LoadInitial(initNet(t, 64), InitConfig{Weights: stepGolden}, nil); err == nil || !strings.Contains(err.Error(), stepGolden) {
		t.Errorf("a file of other tensors: %v", err)
	}
	if rep, err := LoadInitial(initNet(t, 64), InitConfig{}, nil); err != nil || rep.Source != InitRandom || rep.Encoder {
		t.Errorf("no weights: %+v, %v", rep, err)
	}
}
