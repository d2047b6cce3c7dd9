package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/internal/hdf5"
	"github.com/cmrfm/cmrfm/internal/testenv"
	"github.com/cmrfm/cmrfm/model/weights"
)

// mvitFixtures are model/mvit's torch fixtures (testdata/gen/model/mvit/gen_tiny.py).
const mvitFixtures = "../../model/mvit/testdata/"

func TestWeightsInspectJSON(t *testing.T) {
	out, code := runCmd(t, "weights", "inspect", "--json", mvitFixtures+"tiny_pv_cmr.ckpt")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var rep struct {
		Format     string            `json:"format"`
		Parameters int               `json:"parameters"`
		Metadata   map[string]string `json:"metadata"`
		Tensors    []struct {
			Name  string `json:"name"`
			Shape []int  `json:"shape"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Format != "torch" || rep.Metadata["global_step"] != "124200" || len(rep.Tensors) != 110 {
		t.Errorf("inspect: format %s, metadata %v, %d tensors", rep.Format, rep.Metadata, len(rep.Tensors))
	}
}

// TestWeightsConvertAndForward converts torchvision weights into a cmrfm
// checkpoint, runs "cmrfm forward" on the golden clips and compares the
// features and attention maps with torchvision's.
func TestWeightsConvertAndForward(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "tiny.safetensors")
	if out, code := runCmd(t, "weights", "convert", mvitFixtures+"tiny_tv_weights.safetensors", "--arch", "mvit-tiny", "--out", ck); code != 0 {
		t.Fatalf("convert: exit %d: %s", code, out)
	}
	conv, err := weights.Load(ck)
	if err != nil {
		t.Fatal(err)
	}
	if conv.Metadata[weights.MetaArch] != "mvit-tiny" || conv.Metadata[weights.MetaSource] != "tiny_tv_weights.safetensors" {
		t.Errorf("checkpoint metadata %v", conv.Metadata)
	}
	if _, ok := conv.Tensors["head.proj.weight"]; ok {
		t.Error("the classification head should be dropped for a head-less architecture")
	}
	golden, err := weights.Load(mvitFixtures + "tiny_golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "clips.npy")
	if err := fsutil.WriteFileAtomic(in, func(w io.Writer) error { return weights.WriteNPY(w, golden.Tensors["input"]) }); err != nil {
		t.Fatal(err)
	}
	feats, attn := filepath.Join(dir, "features.npy"), filepath.Join(dir, "attn")
	if out, code := runCmd(t, "forward", "--arch", "mvit-tiny", "--weights", ck, "--input", in, "--output", feats, "--attention-out", attn); code != 0 {
		t.Fatalf("forward: exit %d: %s", code, out)
	}
	got, err := weights.Load(feats)
	if err != nil {
		t.Fatal(err)
	}
	gomlxtest.AssertClose(t, "features", goldenF32(t, got, "features"), goldenF32(t, golden, "features"), 1e-5, 0)
	// Attention maps of clip 1, block 3: [heads, Nq, Nk] = golden[1], from
	// the HDF5 export (our reader, then h5py) and from the .npy export.
	all := goldenF32(t, golden, "attn.block03") // [2, 4, 9, 33]
	want := all[len(all)/2:]
	f, err := hdf5.Open(filepath.Join(attn, "clip_0001.h5"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.Dataset("layer_03")
	if err != nil {
		t.Fatal(err)
	}
	h5vals, err := ds.ReadFloat32()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ds.Dims) != "[4 9 33]" {
		t.Errorf("layer_03 dims %v, want [4 9 33]", ds.Dims)
	}
	gomlxtest.AssertClose(t, "attention clip 1 block 3 (h5)", h5vals, want, 1e-5, 0)
	py := testenv.Python(t, "h5py", "numpy")
	script := `import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
print(sorted(f.keys())[0], sorted(f.keys())[-1], f['input_video'].shape, f['layer_03'].shape, f['layer_03'].dtype, float(np.asarray(f['layer_03']).sum()))`
	pyOut, err := exec.Command(py, "-c", script, filepath.Join(attn, "clip_0001.h5")).CombinedOutput()
	if err != nil {
		t.Fatalf("h5py cannot read the export: %v\n%s", err, pyOut)
	}
	// Each of the 4×9 attention rows sums to 1.
	if s := strings.TrimSpace(string(pyOut)); !strings.HasPrefix(s, "input_video layer_03 (3, 4, 32, 32) (4, 9, 33) float32 36.0") {
		t.Errorf("h5py sees %q", s)
	}
	attnNPY := filepath.Join(dir, "attn_npy")
	if out, code := runCmd(t, "forward", "--arch", "mvit-tiny", "--weights", ck, "--input", in, "--output", feats,
		"--attention-out", attnNPY, "--attention-format", "npy"); code != 0 {
		t.Fatalf("forward: exit %d: %s", code, out)
	}
	a, err := weights.Load(filepath.Join(attnNPY, "clip_0001", "layer_03.npy"))
	if err != nil {
		t.Fatal(err)
	}
	gomlxtest.AssertClose(t, "attention clip 1 block 3 (npy)", goldenF32(t, a, "layer_03"), want, 1e-5, 0)

	// The same weights through the torchvision file directly, and a wrong
	// architecture, which must name the mismatching tensors.
	out, code := runCmd(t, "forward", "--arch", "mvit-b-16x4", "--weights", ck, "--input", in, "--output", feats)
	if code == 0 || !strings.Contains(out, "mis-shaped") {
		t.Errorf("wrong --arch: exit %d, output %s", code, out)
	}
}

func TestForwardRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.npy")
	tt := weights.FromFloat32("x", []int{1, 3, 2, 32, 32}, make([]float32, 3*2*32*32))
	if err := fsutil.WriteFileAtomic(bad, func(w io.Writer) error { return weights.WriteNPY(w, tt) }); err != nil {
		t.Fatal(err)
	}
	out, code := runCmd(t, "forward", "--arch", "mvit-tiny", "--weights", mvitFixtures+"tiny_tv_weights.safetensors", "--input", bad, "--output", filepath.Join(dir, "y.npy"))
	if code == 0 || !strings.Contains(out, fmt.Sprint([]int{1, 3, 2, 32, 32})) {
		t.Errorf("bad clip shape: exit %d, output %s", code, out)
	}
}
