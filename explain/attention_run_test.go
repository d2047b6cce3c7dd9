package explain

import (
	"context"
	"encoding/json"
	"image/gif"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/ingest"
	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/internal/testenv"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/cmrfm/cmrfm/phantom"
	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/pretrain"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

var (
	storeOnce sync.Once
	storeDir  string
	storeErr  error
)

// phantomStore is a 3-study phantom store built the way a user builds
// one (phantom DICOM → ingest), shared by the tests of this package.
func phantomStore(t *testing.T) (root string, idx *store.Index) {
	t.Helper()
	storeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "explain-store-")
		if err != nil {
			storeErr = err
			return
		}
		storeDir = dir
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		if _, err := phantom.Generate(ctx, phantom.Options{Studies: 3, Out: filepath.Join(dir, "phantom"), Seed: 5,
			Workers: 2, Matrix: 48, Frames: 12, MultiFrame: true, Log: log}); err != nil {
			storeErr = err
			return
		}
		sum, err := ingest.Run(ctx, ingest.Config{Inputs: []string{filepath.Join(dir, "phantom", "dicom")}, Out: filepath.Join(dir, "store"),
			Site: "test", Workers: 2, Frames: "original", Channels: 1, Salt: "00112233445566778899aabbccddeeff",
			Labels: filepath.Join(dir, "phantom", "labels.csv")}, log, nil)
		if err == nil && sum.OK != 3 {
			err = os.ErrInvalid
		}
		storeErr = err
	})
	if storeErr != nil {
		t.Fatalf("phantom store: %v", storeErr)
	}
	root = filepath.Join(storeDir, "store")
	f, err := os.Open(filepath.Join(root, "index.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if idx, err = store.ReadIndex(f); err != nil {
		t.Fatal(err)
	}
	return root, idx
}

func TestMain(m *testing.M) {
	code := m.Run()
	if storeDir != "" {
		os.RemoveAll(storeDir)
	}
	os.Exit(code)
}

// tinyWeights is mvit-tiny with torchvision's perturbed weights (the
// fixture model/mvit's tests check against torchvision).
func tinyWeights(t *testing.T) string {
	return filepath.Join(testenv.RepoRoot(t), "model", "mvit", "testdata", "tiny_tv_weights.safetensors")
}

func tinyModel(t *testing.T) *Model {
	t.Helper()
	m, err := LoadModel(ModelOptions{Weights: tinyWeights(t), Arch: mvit.ArchTiny, Backend: gomlxtest.Backend(t)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readManifest(t *testing.T, path string) AttentionSummary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s AttentionSummary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// The whole stage on a phantom study with mvit-tiny, GIF output (no
// external tool): 9 heads + input + rollout + 4 grids + contact sheet per
// clip, each GIF with the model's 4 frames at 7× (224 px).
func TestAttentionGIF(t *testing.T) {
	root, idx := phantomStore(t)
	out := t.TempDir()
	key := idx.Rows[0].Filename()
	s, err := Attention(t.Context(), AttentionOptions{Model: tinyModel(t), Store: root, Studies: []string{key}, MaxClips: 2,
		Out: out, Format: FormatGIF, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failures) != 0 || len(s.Clips) != 2 || s.Heads != 9 || s.Format != FormatGIF {
		t.Fatalf("summary %+v", s)
	}
	man := readManifest(t, filepath.Join(out, AttentionManifest))
	if len(man.Clips) != 2 || man.Clips[0].Study != key || man.Arch != mvit.ArchTiny {
		t.Fatalf("manifest %+v", man)
	}
	for _, c := range man.Clips {
		f := c.Files
		if f.Count() != 16 || len(f.Heads) != 4 || len(f.Heads[3]) != 4 || f.Heads[1][1] != "layer_01_head_01.gif" {
			t.Fatalf("clip %s files %+v", c.Name, f)
		}
		if !strings.HasPrefix(c.Name, "clip_0") || c.End-c.Start < 4 {
			t.Errorf("clip record %+v", c)
		}
		if f.Dir != filepath.Join(key, c.Name) {
			t.Errorf("clip folder %q, want %q relative to the output", f.Dir, filepath.Join(key, c.Name))
		}
		for _, name := range append([]string{f.Input, f.Rollout, f.Heads[0][0], f.Grids[3]}, f.Heads[3]...) {
			g := decodeGIF(t, s.Path(c, name))
			if len(g.Image) != 4 {
				t.Errorf("%s: %d frames, want 4", name, len(g.Image))
			}
			if b := g.Image[0].Bounds(); name != f.Grids[3] && (b.Dx() != 224 || b.Dy() != 224) {
				t.Errorf("%s: %v, want 224×224", name, b)
			}
		}
		if st, err := os.Stat(s.Path(c, f.ContactSheet)); err != nil || st.Size() < 1000 {
			t.Errorf("contact sheet: %v", err)
		}
	}
}

func decodeGIF(t *testing.T, path string) *gif.GIF {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return g
}

// MP4 through ffmpeg: H.264, yuv420p, every frame, read back by ffprobe.
func TestAttentionMP4(t *testing.T) {
	ff := testenv.Tool(t, "ffmpeg")
	probe := testenv.Tool(t, "ffprobe")
	_ = ff
	root, idx := phantomStore(t)
	out := t.TempDir()
	s, err := Attention(t.Context(), AttentionOptions{Model: tinyModel(t), Store: root, Studies: []string{idx.Rows[1].Filename()},
		MaxClips: 1, Out: out, Render: RenderOptions{Overlay: true, Scale: ScaleVideo}, FPS: 8, NoGrids: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Format != FormatMP4 || len(s.Clips) != 1 {
		t.Fatalf("summary %+v", s)
	}
	f := s.Clips[0].Files
	if f.Count() != 12 || len(f.Grids) != 0 {
		t.Fatalf("files %+v", f)
	}
	for _, name := range []string{f.Input, f.Rollout, f.Heads[2][1]} {
		cmd := exec.Command(probe, "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
			"stream=codec_name,width,height,pix_fmt,nb_read_frames,r_frame_rate", "-of", "csv=p=0", s.Path(s.Clips[0], name))
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ffprobe %s: %v %s", name, err, b)
		}
		if got := strings.TrimSpace(string(b)); got != "h264,224,224,yuv420p,8/1,4" {
			t.Errorf("%s: ffprobe says %q, want h264,224,224,yuv420p,8/1,4", name, got)
		}
	}
}

// --format h5 writes the authors' export layout, which h5py reads with the
// shapes of the architecture; reading it back and rendering gives the same
// videos as rendering directly.
func TestAttentionH5RoundTrip(t *testing.T) {
	root, idx := phantomStore(t)
	m := tinyModel(t)
	key := idx.Rows[2].Filename()
	h5dir, vdir := t.TempDir(), t.TempDir()
	s, err := Attention(t.Context(), AttentionOptions{Model: m, Store: root, Studies: []string{key}, MaxClips: 1, Out: h5dir, Format: FormatH5})
	if err != nil {
		t.Fatal(err)
	}
	p := s.Path(s.Clips[0], "")
	if filepath.Dir(p) != filepath.Join(h5dir, key) || !strings.HasSuffix(p, ".h5") {
		t.Fatalf("h5 at %s", p)
	}
	py := testenv.Python(t, "h5py", "numpy")
	script := `import h5py, sys, numpy as np
f = h5py.File(sys.argv[1], "r")
print(sorted(f.keys()))
for k in sorted(f.keys()):
    a = f[k][()]
    print(k, a.dtype, list(a.shape), "%.6f" % (a[:, 1:, :].sum(-1).mean() if k != "input_video" else 0))`
	b, err := exec.Command(py, "-c", script, p).CombinedOutput()
	if err != nil {
		t.Fatalf("h5py: %v\n%s", err, b)
	}
	want := "['input_video', 'layer_00', 'layer_01', 'layer_02', 'layer_03']\n" +
		"input_video float32 [3, 4, 32, 32] 0.000000\n" +
		"layer_00 float32 [1, 129, 9] 1.000000\nlayer_01 float32 [2, 33, 33] 1.000000\n" +
		"layer_02 float32 [2, 33, 33] 1.000000\nlayer_03 float32 [4, 9, 33] 1.000000\n"
	if string(b) != want {
		t.Errorf("h5py reads\n%s\nwant\n%s", b, want)
	}
	ca, err := ReadAttentionH5(p)
	if err != nil {
		t.Fatal(err)
	}
	vw, _ := NewVideoWriter(FormatGIF, 0)
	r := ClipRender{Layout: m.Layout, Writer: vw, NoGrids: true, NoSheet: true}
	files, err := RenderClip(t.Context(), r, ca, filepath.Join(vdir, "from_h5"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Attention(t.Context(), AttentionOptions{Model: m, Store: root, Studies: []string{key}, MaxClips: 1, Out: vdir,
		Format: FormatGIF, NoGrids: true, NoSheet: true})
	if err != nil {
		t.Fatal(err)
	}
	direct := s2.Clips[0].Files
	for _, name := range []string{direct.Input, direct.Rollout, direct.Heads[3][2]} {
		a, _ := os.ReadFile(filepath.Join(files.Dir, name))
		b, _ := os.ReadFile(s2.Path(s2.Clips[0], name))
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("%s differs between the h5 round trip and direct rendering", name)
		}
	}
}

// A pretraining checkpoint carries its architecture and data settings; one
// without a video tower, an unknown study and a bad weights file are clear
// errors naming the file or study.
func TestAttentionCheckpointAndErrors(t *testing.T) {
	root, _ := phantomStore(t)
	dir := t.TempDir()
	set, err := mvit.Resolve(mvit.Tiny(0), mustLoadSet(t, tinyWeights(t)), mvit.ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := pretrain.TinyConfig(pretrain.PaperConfig())
	c.Data.MinSize, c.Data.MaxSize = 40, 40
	c.Data.Views = []string{"4CH", "SAX"}
	yaml, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	st := model.NewStore()
	if err := mvit.LoadInto(pretrain.NewTowers(st).VideoEncoder, mvit.Tiny(0), set.Encoder); err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(dir, "pretrain.safetensors")
	if err := train.SaveCheckpoint(ck, st, train.State{Updates: 7}, pretrain.Kind, yaml); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(ModelOptions{Checkpoint: ck, Backend: gomlxtest.Backend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if m.Layout.Heads() != 9 || m.Transform.MinSize != 40 || m.Transform.Crop != 32 || len(m.Bag.Views) != 2 ||
		!strings.Contains(m.Source, "7 updates") {
		t.Errorf("model from checkpoint: heads %d, transform %+v, views %v, source %q", m.Layout.Heads(), m.Transform, m.Bag.Views, m.Source)
	}
	out := t.TempDir()
	s, err := Attention(t.Context(), AttentionOptions{Model: m, Store: root, Split: "all", Limit: 1, MaxClips: 1, Out: out, Format: FormatGIF,
		NoGrids: true, NoRollout: true})
	if err != nil || len(s.Clips) != 1 {
		t.Fatalf("attention from checkpoint: %v %+v", err, s)
	}
	if v := s.Clips[0].View; v != "4CH" && v != "SAX" {
		t.Errorf("clip of view %s, the checkpoint's views are 4CH and SAX", v)
	}

	// No video tower.
	st2 := model.NewStore()
	if _, err := st2.CreateVariable("/model/text_encoder/x", tensors.FromValue([]float32{1, 2})); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "text_only.safetensors")
	if err := train.SaveCheckpoint(bad, st2, train.State{}, pretrain.Kind, yaml); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(ModelOptions{Checkpoint: bad}); err == nil || !strings.Contains(err.Error(), "has no video tower") || !strings.Contains(err.Error(), bad) {
		t.Errorf("checkpoint without a video tower: %v", err)
	}
	// Weights that are not an MViT.
	wf := filepath.Join(dir, "other.safetensors")
	ws := weights.NewSet()
	ws.Add(weights.FromFloat32("bert.embeddings.word_embeddings.weight", []int{2, 2}, []float32{1, 2, 3, 4}))
	f, _ := os.Create(wf)
	weights.WriteSafetensors(f, ws)
	f.Close()
	if _, err := LoadModel(ModelOptions{Weights: wf, Arch: mvit.ArchTiny}); err == nil || !strings.Contains(err.Error(), "holds no mvit-tiny video tower") {
		t.Errorf("non-MViT weights: %v", err)
	}
	// An unknown study.
	_, err = Attention(t.Context(), AttentionOptions{Model: m, Store: root, Studies: []string{"site_x-nothere.h5"}, Out: out})
	if err == nil || !strings.Contains(err.Error(), `study "site_x-nothere.h5" is not in the store`) {
		t.Errorf("unknown study: %v", err)
	}
	// A pretrained encoder explains any view; a fine-tuned model only its own.
	m.AnyView = false
	_, err = Attention(t.Context(), AttentionOptions{Model: m, Store: root, Split: "all", Views: []cine.View{"2CH"}, Out: out})
	if err == nil || !strings.Contains(err.Error(), "view 2CH is not among the model's views") {
		t.Errorf("view outside the model: %v", err)
	}
}

func mustLoadSet(t *testing.T, path string) *weights.Set {
	t.Helper()
	s, err := weights.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// MViT-B 16×4 (random full-size weights): the 65 head videos of one clip,
// the input and the rollout, 16 grids and the contact sheet.
func TestAttentionMViTB(t *testing.T) {
	cfg := mvit.MViTB16x4()
	rng := rand.New(rand.NewPCG(1, 2))
	set := weights.NewSet()
	for _, s := range cfg.Specs() {
		v := make([]float32, weights.NumElements(s.Shape))
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.02)
		}
		if strings.HasSuffix(s.Name, "norm1.weight") || strings.HasSuffix(s.Name, "norm2.weight") || strings.Contains(s.Name, "attn.norm_") && strings.HasSuffix(s.Name, ".weight") {
			for i := range v {
				v[i] += 1
			}
		}
		set.Add(weights.FromFloat32(s.Name, s.Shape, v))
	}
	enc, err := mvit.NewEncoder(gomlxtest.Backend(t), cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	l, err := LayoutOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clip := make([]float32, 3*16*224*224)
	for i := range clip {
		clip[i] = float32(rng.NormFloat64())
	}
	res, err := enc.Forward(tensors.FromFlatDataAndDimensions(clip, 1, 3, 16, 224, 224), true)
	if err != nil {
		t.Fatal(err)
	}
	ca := ClipAttention{Input: clip, Channels: 3}
	for _, a := range res.Attention {
		d := a.Shape().Dimensions
		ca.Blocks = append(ca.Blocks, BlockAttention{Heads: d[1], Nq: d[2], Nk: d[3], Data: tensors.MustCopyFlatData[float32](a)})
	}
	vw, _ := NewVideoWriter(FormatGIF, 0)
	files, err := RenderClip(t.Context(), ClipRender{Layout: l, Writer: vw, Workers: 2}, ca, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	heads := 0
	for _, h := range files.Heads {
		heads += len(h)
	}
	if heads != 65 || len(files.Grids) != 16 || files.Count() != 65+1+1+16+1 {
		t.Fatalf("%d head videos, %d grids, %d files", heads, len(files.Grids), files.Count())
	}
	g := decodeGIF(t, filepath.Join(files.Dir, files.Heads[15][7]))
	if len(g.Image) != 16 || g.Image[0].Bounds().Dx() != 224 {
		t.Errorf("layer 15 head 7: %d frames of %v", len(g.Image), g.Image[0].Bounds())
	}
	g = decodeGIF(t, filepath.Join(files.Dir, files.Grids[14]))
	if b := g.Image[0].Bounds(); b.Dx() != 4*224+3*2 || b.Dy() != 2*224+2 {
		t.Errorf("layer 14 grid (8 heads as 4×2): %v", b)
	}
}
