//go:build interop

// Full-size check, compiled only with -tags interop (CI does not run it):
//
//	testdata/gen/model/mvit/interop.sh      # makes the files with Debian's torch
//	GOEXPERIMENT=simd go test -tags interop -run FullSize ./model/mvit/
//
// It reads $CMRFM_MVIT_FULL (default /tmp/cmrfm-mvit-full).

package mvit

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/gomlx/gomlx/core/tensors"
)

func TestFullSizeMatchesTorchvision(t *testing.T) {
	dir := os.Getenv("CMRFM_MVIT_FULL")
	if dir == "" {
		dir = "/tmp/cmrfm-mvit-full"
	}
	for _, f := range []string{"mvit_v1_b.safetensors", "input.npy", "golden.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("%v: run testdata/gen/model/mvit/interop.sh first", err)
		}
	}
	cfg := MViTB16x4Torchvision(0)
	r, err := Resolve(cfg, mustLoad(t, filepath.Join(dir, "mvit_v1_b.safetensors")), ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(gomlxtest.Backend(t), cfg, r.Encoder)
	if err != nil {
		t.Fatal(err)
	}
	in := mustLoad(t, filepath.Join(dir, "input.npy"))
	x, err := in.Tensors["input"].Float32()
	if err != nil {
		t.Fatal(err)
	}
	res, err := enc.Forward(tensors.FromFlatDataAndDimensions(x, 1, 3, 16, 224, 224), true)
	if err != nil {
		t.Fatal(err)
	}
	golden := mustLoad(t, filepath.Join(dir, "golden.safetensors"))
	gomlxtest.AssertClose(t, "features", tensors.MustCopyFlatData[float32](res.Features), f32(t, golden, "features"), 1e-4, 0)
	for i, a := range res.Attention {
		name := fmt.Sprintf("attn.block%02d", i)
		gomlxtest.AssertClose(t, name, tensors.MustCopyFlatData[float32](a), f32(t, golden, name), 1e-4, 0)
	}
}
