package data

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/cmrfm/cmrfm/model/weights"
)

// Fixture from testdata/gen/train/data/gen_transforms.py (torch 1.13, torchvision 0.14).
const transformsGolden = "testdata/transforms_golden.safetensors"

func loadGolden(t *testing.T, path string) *weights.Set {
	t.Helper()
	s, err := weights.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func goldenF32(t *testing.T, s *weights.Set, name string) ([]float32, []int) {
	t.Helper()
	tt, ok := s.Tensors[name]
	if !ok {
		t.Fatalf("golden has no tensor %q", name)
	}
	v, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v, tt.Shape
}

// tchwToClip turns a (T, C, H, W) tensor into a Clip.
func tchwToClip(v []float32, shape []int) *Clip {
	T, C, H, W := shape[0], shape[1], shape[2], shape[3]
	c := &Clip{C: C, T: T, H: H, W: W, Data: make([]float32, len(v))}
	for t := range T {
		for ch := range C {
			copy(c.Plane(ch, t), v[((t*C+ch)*H)*W:((t*C+ch)*H+H)*W])
		}
	}
	return c
}

func clipToTCHW(c *Clip) []float32 {
	c = c.Expand()
	out := make([]float32, len(c.Data))
	for t := range c.T {
		for ch := range c.C {
			copy(out[((t*c.C+ch)*c.H)*c.W:], c.Plane(ch, t))
		}
	}
	return out
}

type diffStats struct {
	maxAbs float64
	at     int
	bad    int
}

func compare(got, want []float32, tol float64) diffStats {
	var d diffStats
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		a := math.Abs(g - w)
		if math.IsNaN(g) != math.IsNaN(w) {
			a = math.Inf(1)
		}
		if a > d.maxAbs {
			d.maxAbs, d.at = a, i
		}
		if a > tol {
			d.bad++
		}
	}
	return d
}

func maxAbs(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// opTolerance is the allowed |Go − torch| for one operation's output, as a
// multiple of float32's unit roundoff (2⁻²⁴) times the largest input
// magnitude. Element-wise operations (same float32 operations in the same
// order as torch's separate kernels) must match bit for bit; operations
// whose sums torch orders differently (mean, 3×3 convolution, the affine
// grid's matrix product and bilinear taps) may differ by a few roundings.
var opTolerance = map[Op]float64{
	OpAutoContrast: 0, OpEqualize: 0, OpPosterize: 0, OpSolarize: 0,
	OpAdjustBrightness: 0, OpAdjustSaturation: 0,
	OpAdjustContrast: 4, OpAdjustSharpness: 8,
	OpRotate: 64, OpShearX: 64, OpShearY: 64, OpTranslateX: 64, OpTranslateY: 64,
}

const unitRoundoff = 1.0 / (1 << 24)

// TestAugMixOpsMatchTorchvision checks each of the 13 operations, at fixed
// arguments, on a [0,1] clip and on a raw-intensity clip (where clamp(0,1)
// and the uint8 wrap of x·255 dominate) against torchvision 0.14.
func TestAugMixOpsMatchTorchvision(t *testing.T) {
	g := loadGolden(t, transformsGolden)
	for _, rng := range []string{"unit", "raw"} {
		in, shape := goldenF32(t, g, "op.in."+rng)
		x := tchwToClip(in, shape)
		scale := max(1, maxAbs(in))
		for op := range numOps {
			for k := 0; ; k++ {
				name := fmt.Sprintf("op.%s.%s.%d", rng, op, k)
				if _, ok := g.Tensors[name]; !ok {
					if k == 0 {
						t.Errorf("golden lacks %s", name)
					}
					break
				}
				arg, err := strconv.ParseFloat(g.Metadata[fmt.Sprintf("arg.%s.%d", op, k)], 64)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := goldenF32(t, g, name)
				got := clipToTCHW(ApplyOp(x, OpStep{Op: op, Arg: arg}, 0.5))
				tol := opTolerance[op] * unitRoundoff * scale
				d := compare(got, want, tol)
				t.Logf("%s(%g): max|Δ| %.3g at %d (tolerance %.3g)", name, arg, d.maxAbs, d.at, tol)
				if d.bad > 0 {
					t.Errorf("%s(%g): %d of %d values differ by more than %.3g (max %.3g at %d: got %g want %g)",
						name, arg, d.bad, len(want), tol, d.maxAbs, d.at, got[d.at], want[d.at])
				}
			}
		}
	}
}

// TestSharedChannelsBitIdentical checks that storing identical channels
// once gives exactly the values of processing them separately, for every
// operation and for whole chains.
func TestSharedChannelsBitIdentical(t *testing.T) {
	g := loadGolden(t, transformsGolden)
	for _, rng := range []string{"unit", "raw"} {
		in, shape := goldenF32(t, g, "op.in."+rng)
		x := tchwToClip(in, shape)
		// Channel 0 repeated three times, stored both ways.
		full := &Clip{C: 3, T: x.T, H: x.H, W: x.W, Data: make([]float32, len(x.Data))}
		shared := &Clip{C: 3, T: x.T, H: x.H, W: x.W, Shared: true, Data: make([]float32, len(x.Data)/3)}
		for t2 := range x.T {
			for ch := range 3 {
				copy(full.Plane(ch, t2), x.Plane(0, t2))
			}
			copy(shared.Plane(0, t2), x.Plane(0, t2))
		}
		for op := range numOps {
			s := OpStep{Op: op, Arg: 0.37}
			if op == OpPosterize {
				s.Arg = 3
			}
			a, b := clipToTCHW(ApplyOp(full, s, 0.5)), clipToTCHW(ApplyOp(shared, s, 0.5))
			if d := compare(a, b, 0); d.bad > 0 {
				t.Errorf("%s %s: shared channels differ from separate ones at %d values", rng, op, d.bad)
			}
		}
		tr := TrainTransform()
		tr.MinSize, tr.MaxSize, tr.Crop = 14, 18, 12
		p := tr.Draw(x.H, x.W, NewRNG(1, 0, 0))
		if d := compare(tr.ApplyParams(full, p).Data, tr.ApplyParams(shared, p).Data, 0); d.bad > 0 {
			t.Errorf("%s train chain: shared channels differ at %d values", rng, d.bad)
		}
	}
}

type goldenPlan struct {
	Weights []float32 `json:"weights"`
	M       float64   `json:"m"`
	Chains  [][][2]any
}

func parsePlan(t *testing.T, s string) AugMixPlan {
	t.Helper()
	var raw struct {
		Weights []float64 `json:"weights"`
		M       float64   `json:"m"`
		Chains  [][][]any `json:"chains"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		t.Fatal(err)
	}
	var p AugMixPlan
	for _, w := range raw.Weights {
		p.Weights = append(p.Weights, float32(w)) // torch.tensor(weights, float32)
	}
	p.M = float32(raw.M)
	if float64(p.M) != raw.M {
		// Python multiplies by the double m; a plan's M must be a float32 value to be representable.
		t.Logf("plan m %v is not a float32 value; Go uses %v", raw.M, p.M)
	}
	for _, ch := range raw.Chains {
		var steps []OpStep
		for _, st := range ch {
			op, err := ParseOp(st[0].(string))
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, OpStep{Op: op, Arg: st[1].(float64)})
		}
		p.Chains = append(p.Chains, steps)
	}
	return p
}

// TestAugMixMixMatchesTorch checks the chain composition and the
// Dirichlet/Beta mixing for a fixed plan.
func TestAugMixMixMatchesTorch(t *testing.T) {
	g := loadGolden(t, transformsGolden)
	plan := parsePlan(t, g.Metadata["plan"])
	for _, rng := range []string{"unit", "raw"} {
		in, shape := goldenF32(t, g, "op.in."+rng)
		want, _ := goldenF32(t, g, "mix."+rng)
		got := clipToTCHW(ApplyAugMix(tchwToClip(in, shape), plan, 0.5))
		tol := 64 * unitRoundoff * max(1, maxAbs(in))
		d := compare(got, want, tol)
		t.Logf("mix.%s: max|Δ| %.3g (tolerance %.3g)", rng, d.maxAbs, tol)
		if d.bad > 0 {
			t.Errorf("mix.%s: %d values off by more than %.3g (max %.3g at %d: got %g want %g)", rng, d.bad, tol, d.maxAbs, d.at, got[d.at], want[d.at])
		}
	}
}

// synthVideo rebuilds gen_transforms.py's synth(): 3 identical channels, 2
// frames of 360×360 with values (37y + 11x + 101t + ⌊xy/97⌋) mod 256.
func synthClip(shared bool) *Clip {
	c := &Clip{C: 3, T: 2, H: 360, W: 360, Shared: shared}
	c.Data = make([]float32, c.Planes()*c.T*360*360)
	for ch := range c.Planes() {
		for t := range 2 {
			p := c.Plane(ch, t)
			for y := range 360 {
				for x := range 360 {
					p[y*360+x] = float32((y*37 + x*11 + t*101 + (x*y)/97) % 256)
				}
			}
		}
	}
	return c
}

func rowsOf(t *testing.T, g *weights.Set, c *Clip) []float32 {
	t.Helper()
	var rows []int
	if err := json.Unmarshal([]byte(g.Metadata["rows"]), &rows); err != nil {
		t.Fatal(err)
	}
	c = c.Expand()
	var out []float32
	for ch := range c.C {
		for tt := range c.T {
			p := c.Plane(ch, tt)
			for _, r := range rows {
				out = append(out, p[r*c.W:(r+1)*c.W]...)
			}
		}
	}
	return out
}

// TestChainsMatchTorch checks the full val chain and the train chain at
// fixed parameters on 360×360 frames (the store's size) against torch.
func TestChainsMatchTorch(t *testing.T) {
	g := loadGolden(t, transformsGolden)
	for _, shared := range []bool{false, true} {
		ev := EvalTransform()
		x := synthClip(shared)
		p := ev.Draw(x.H, x.W, nil)
		if p.Size != 264 || p.Top != 20 || p.Left != 20 || p.Flip {
			t.Errorf("eval params %+v, want size 264 at (20, 20)", p)
		}
		got := rowsOf(t, g, ev.ApplyParams(x, p))
		want, _ := goldenF32(t, g, "chain.val.rows")
		// Values are (x − 0.45)/0.225/255 ≤ 4.45: a few roundings of that.
		tol := 8 * unitRoundoff * 4.45
		d := compare(got, want, tol)
		t.Logf("val chain (shared=%v): max|Δ| %.3g (tolerance %.3g)", shared, d.maxAbs, tol)
		if d.bad > 0 {
			t.Errorf("val chain: %d of %d values off (max %.3g: got %g want %g)", d.bad, len(want), d.maxAbs, got[d.at], want[d.at])
		}

		tr := TrainTransform()
		plan := parsePlan(t, g.Metadata["train_plan"])
		tp := Params{AugMix: &plan, Size: 301, Top: 37, Left: 60, Flip: true}
		got = rowsOf(t, g, tr.ApplyParams(x, tp))
		want, _ = goldenF32(t, g, "chain.train.rows")
		tol = 64 * unitRoundoff * 4.45
		d = compare(got, want, tol)
		t.Logf("train chain (shared=%v): max|Δ| %.3g (tolerance %.3g)", shared, d.maxAbs, tol)
		if d.bad > 0 {
			t.Errorf("train chain: %d of %d values off (max %.3g: got %g want %g)", d.bad, len(want), d.maxAbs, got[d.at], want[d.at])
		}
	}
}

// TestTemporalIndicesMatchTorch compares uniform_temporal_subsample's
// indices for clips of 1 to 300 frames.
func TestTemporalIndicesMatchTorch(t *testing.T) {
	g := loadGolden(t, transformsGolden)
	want, shape := goldenF32(t, g, "temporal_idx")
	if shape[0] != 300 || shape[1] != 16 {
		t.Fatalf("temporal_idx shape %v", shape)
	}
	for T := 1; T <= 300; T++ {
		got := TemporalIndices(T, 16)
		for i, v := range got {
			if float32(v) != want[(T-1)*16+i] {
				t.Errorf("T=%d: indices %v, torch %v", T, got, want[(T-1)*16:T*16])
				break
			}
		}
	}
}
