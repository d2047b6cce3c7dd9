package explain

import (
	"math"
	"testing"

	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/model/weights"
)

// Fixture of testdata/gen/explain/gen_attention.py (torch 1.13, matplotlib
// 3.6.3): random attention on mvit-tiny's geometry, rendered as the
// authors' visualize_attentions.py renders it, and a dense rollout.
const attentionGolden = "testdata/attention_golden.safetensors"

func golden(t *testing.T) *weights.Set {
	t.Helper()
	s, err := weights.Load(attentionGolden)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tensorF32(t *testing.T, s *weights.Set, name string) ([]float32, []int) {
	t.Helper()
	x, ok := s.Tensors[name]
	if !ok {
		t.Fatalf("golden has no %s", name)
	}
	v, err := x.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v, x.Shape
}

func tensorBytes(t *testing.T, s *weights.Set, name string) []byte {
	t.Helper()
	x, ok := s.Tensors[name]
	if !ok || x.DType != weights.U8 {
		t.Fatalf("golden has no uint8 %s", name)
	}
	return x.Data
}

func tinyLayout(t *testing.T) Layout {
	t.Helper()
	l, err := LayoutOf(mvit.Tiny(0))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func goldenBlocks(t *testing.T, s *weights.Set, l Layout) []BlockAttention {
	t.Helper()
	var out []BlockAttention
	for i := range l.Blocks {
		v, sh := tensorF32(t, s, "layer_0"+string(rune('0'+i)))
		out = append(out, BlockAttention{Heads: sh[0], Nq: sh[1], Nk: sh[2], Data: v})
	}
	return out
}

// The MViT-B 16×4 layout is the authors' (REFERENCE-SPEC §3.1 table, from
// pytorchvideo's own code): 65 heads, these attention shapes.
func TestLayoutMViTB(t *testing.T) {
	l, err := LayoutOf(mvit.MViTB16x4())
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]int{{1, 25089, 393}, {2, 6273, 1569}, {2, 6273, 393}, {4, 1569, 1569}}
	for range 10 {
		want = append(want, [3]int{4, 1569, 393})
	}
	want = append(want, [3]int{8, 393, 1569}, [3]int{8, 393, 393})
	if l.Heads() != 65 || len(l.Blocks) != 16 || l.Patch != (mvit.Grid{8, 56, 56}) {
		t.Fatalf("%d heads, %d blocks, patch grid %v", l.Heads(), len(l.Blocks), l.Patch)
	}
	for i, b := range l.Blocks {
		got := [3]int{b.Heads, b.Q.Tokens() + 1, b.KV.Tokens() + 1}
		if got != want[i] {
			t.Errorf("block %d: attention %v, want %v", i, got, want[i])
		}
	}
	sides := map[int]bool{}
	for _, b := range l.Blocks {
		if b.Q[0] != 8 || b.Q[1] != b.Q[2] {
			t.Errorf("query grid %v is not 8×s×s", b.Q)
		}
		sides[b.Q[1]] = true
	}
	if len(sides) != 4 || !sides[56] || !sides[28] || !sides[14] || !sides[7] {
		t.Errorf("query grid sides %v, want 56, 28, 14, 7", sides)
	}
}

func TestRolloutMatchesDense(t *testing.T) {
	s := golden(t)
	l := tinyLayout(t)
	got, err := Rollout(l, goldenBlocks(t, s, l))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tensorF32(t, s, "rollout") // float64 in the file
	if len(got) != len(want) || len(got) != l.Patch.Tokens() {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	sum := 0.0
	for i := range got {
		sum += float64(got[i])
		if math.Abs(float64(got[i]-want[i])) > 1e-6*float64(max(want[i], 1e-3)) {
			t.Errorf("token %d: %g, dense numpy %g", i, got[i], want[i])
		}
	}
	if !(sum > 0 && sum < 1) {
		t.Errorf("patch tokens hold %g of the rollout, want a share in (0, 1)", sum)
	}
	// A wrong architecture is an error, not a silent misreading.
	if _, err := Rollout(tinyLayout(t), goldenBlocks(t, s, l)[:3]); err == nil {
		t.Error("3 blocks for 4: no error")
	}
}

func TestUpsampleNearestMatchesTorch(t *testing.T) {
	s := golden(t)
	odd, _ := tensorF32(t, s, "odd_map")
	want, _ := tensorF32(t, s, "odd_up")
	got := UpsampleNearest(odd, mvit.Grid{3, 5, 7}, mvit.Grid{4, 16, 16})
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d: %g, torch %g", i, got[i], want[i])
		}
	}
}

// Every head of every block, both scalings, against matplotlib's colour
// indices: bit-identical.
func TestHeadMapsMatchReferenceRendering(t *testing.T) {
	s := golden(t)
	l := tinyLayout(t)
	clip, _ := tensorF32(t, s, "input_video")
	display := mvit.Grid{4, 16, 16}
	n := display.Tokens()
	per := display[1] * display[2]
	for _, scale := range []Scale{ScaleFrame, ScaleVideo} {
		rd, err := NewRenderer(display, clip[n:2*n], RenderOptions{Scale: scale, Size: 16})
		if err != nil {
			t.Fatal(err)
		}
		heads := 0
		for li, b := range goldenBlocks(t, s, l) {
			for h, m := range CLSMaps(b) {
				v, err := rd.MapVideo(m, l.Blocks[li].Q)
				if err != nil {
					t.Fatal(err)
				}
				name := "heat_" + scale.String() + "_0" + string(rune('0'+li)) + "_0" + string(rune('0'+h))
				want := tensorBytes(t, s, name)
				if len(v.Paletted)*per != len(want) || len(v.Paletted[0].Pix) != per {
					t.Fatalf("%s: %d frames of %d pixels, golden %d values", name, len(v.Paletted), len(v.Paletted[0].Pix), len(want))
				}
				for f, p := range v.Paletted {
					for i, px := range p.Pix {
						if w := want[f*per+i]; px != w {
							t.Fatalf("%s frame %d pixel %d: index %d, matplotlib %d", name, f, i, px, w)
						}
					}
				}
				heads++
			}
		}
		if heads != 9 {
			t.Errorf("%d heads, want 9", heads)
		}
	}
	// RGB of one head and of the input video.
	rd, _ := NewRenderer(display, clip[n:2*n], RenderOptions{Size: 16})
	m := CLSMaps(goldenBlocks(t, s, l)[0])[0]
	v, _ := rd.MapVideo(m, l.Blocks[0].Q)
	compareRGB(t, "head 0/0", v, tensorBytes(t, s, "heat_rgb_00_00"))
	compareRGB(t, "input video", rd.InputVideo(), tensorBytes(t, s, "input_rgb"))
	// A constant frame goes to index 0, as in matplotlib.
	cm, _ := tensorF32(t, s, "const_map")
	v, _ = rd.MapVideo(cm, mvit.Grid{2, 8, 8})
	want := tensorBytes(t, s, "const_indices")
	for f, p := range v.Paletted {
		for i, px := range p.Pix {
			if px != want[f*per+i] {
				t.Fatalf("constant map frame %d pixel %d: %d, matplotlib %d", f, i, px, want[f*per+i])
			}
		}
	}
}

func compareRGB(t *testing.T, what string, v *Video, want []byte) {
	t.Helper()
	k := 0
	for _, f := range v.Frames {
		for i := 0; i < len(f.Pix); i += 4 {
			for c := range 3 {
				if f.Pix[i+c] != want[k] {
					t.Fatalf("%s: byte %d: %d, matplotlib %d", what, k, f.Pix[i+c], want[k])
				}
				k++
			}
		}
	}
	if k != len(want) {
		t.Fatalf("%s: %d bytes, want %d", what, k, len(want))
	}
}
