package bert

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Fixtures from testdata/gen/model/bert/gen_tiny.py (Debian torch 1.13, HF
// modeling_bert semantics, every parameter perturbed).
const (
	tinyWeights     = "testdata/tiny_weights.safetensors"
	tinyGolden      = "testdata/tiny_golden.safetensors"
	tinyPretraining = "testdata/tiny_pretraining.bin"
	tinyAuthors     = "testdata/tiny_authors.ckpt"
	tinyAuthorsGold = "testdata/tiny_authors_golden.safetensors"
)

func mustLoad(t testing.TB, path string) *weights.Set {
	t.Helper()
	s, err := weights.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func f32(t testing.TB, set *weights.Set, name string) []float32 {
	t.Helper()
	tt, ok := set.Tensors[name]
	if !ok {
		t.Fatalf("golden has no tensor %q", name)
	}
	v, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// int64Tensor converts a golden integer tensor to a GoMLX int64 tensor.
func int64Tensor(t testing.TB, set *weights.Set, name string) *tensors.Tensor {
	t.Helper()
	v := f32(t, set, name)
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return tensors.FromFlatDataAndDimensions(out, set.Tensors[name].Shape...)
}

func tinyCanonical(t testing.TB) *weights.Set {
	t.Helper()
	c, err := ToCanonical(mustLoad(t, tinyWeights), "", true)
	if err != nil {
		t.Fatal(err)
	}
	return c.Set
}

func goldenInputs(t testing.TB, golden *weights.Set) Inputs {
	return Inputs{
		IDs:        int64Tensor(t, golden, "input_ids"),
		TokenTypes: int64Tensor(t, golden, "token_type_ids"),
		Mask:       int64Tensor(t, golden, "attention_mask"),
	}
}

func check(t *testing.T, golden *weights.Set, name string, got *tensors.Tensor, atol float64) {
	t.Helper()
	gomlxtest.AssertClose(t, name, tensors.MustCopyFlatData[float32](got), f32(t, golden, name), atol, 0)
}

// TestTinyMatchesTorch compares every layer's hidden states (padded
// positions included), the pooler output and the three poolings with the
// torch reference on a padded batch.
func TestTinyMatchesTorch(t *testing.T) {
	cfg := Tiny()
	golden := mustLoad(t, tinyGolden)
	store := model.NewStore()
	scope := store.RootScope().In("bert")
	if err := LoadInto(scope, cfg, tinyCanonical(t)); err != nil {
		t.Fatal(err)
	}
	in := goldenInputs(t, golden)
	outs, err := model.CallOnceN(gomlxtest.Backend(t), store, func(_ *model.Scope, ids, tt, mask *graph.Node) []*graph.Node {
		o := Encode(scope, cfg, ids, tt, mask)
		res := []*graph.Node{o.Pooled, o.Pool(PoolCLS), o.Pool(PoolMean), o.Pool(PoolMax), o.Pool(PoolPooler)}
		return append(res, o.Hidden...)
	}, in.IDs, in.TokenTypes, in.Mask)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Layers + 1 {
		check(t, golden, fmt.Sprintf("hidden_states.%02d", i), outs[5+i], 1e-5)
	}
	check(t, golden, "pooler_output", outs[0], 1e-5)
	check(t, golden, "pool.cls", outs[1], 1e-5)
	check(t, golden, "pool.mean", outs[2], 1e-5)
	check(t, golden, "pool.max", outs[3], 1e-5)
	check(t, golden, "pooler_output", outs[4], 1e-5)
}

// TestEncoderForward runs the public Encoder on the golden batch with int64
// and int32 inputs, and checks that omitted token types and mask mean "all
// type 0" and "no padding".
func TestEncoderForward(t *testing.T) {
	golden := mustLoad(t, tinyGolden)
	enc, err := NewEncoder(gomlxtest.Backend(t), Tiny(), tinyCanonical(t))
	if err != nil {
		t.Fatal(err)
	}
	in := goldenInputs(t, golden)
	res, err := enc.Forward(in, true)
	if err != nil {
		t.Fatal(err)
	}
	check(t, golden, "hidden_states.02", res.Last, 1e-5)
	check(t, golden, "pooler_output", res.Pooled, 1e-5)
	if len(res.Hidden) != 3 {
		t.Fatalf("got %d hidden states, want 3", len(res.Hidden))
	}
	check(t, golden, "hidden_states.01", res.Hidden[1], 1e-5)

	to32 := func(x *tensors.Tensor) *tensors.Tensor {
		v := tensors.MustCopyFlatData[int64](x)
		out := make([]int32, len(v))
		for i, e := range v {
			out[i] = int32(e)
		}
		return tensors.FromFlatDataAndDimensions(out, x.Shape().Dimensions...)
	}
	res32, err := enc.Forward(Inputs{IDs: to32(in.IDs), TokenTypes: to32(in.TokenTypes), Mask: to32(in.Mask)}, false)
	if err != nil {
		t.Fatal(err)
	}
	check(t, golden, "hidden_states.02", res32.Last, 1e-5)

	// A boolean mask means the same as the integer one.
	m64 := tensors.MustCopyFlatData[int64](in.Mask)
	mb := make([]bool, len(m64))
	for i, v := range m64 {
		mb[i] = v == 1
	}
	resBool, err := enc.Forward(Inputs{IDs: in.IDs, TokenTypes: in.TokenTypes, Mask: tensors.FromFlatDataAndDimensions(mb, in.Mask.Shape().Dimensions...)}, false)
	if err != nil {
		t.Fatal(err)
	}
	check(t, golden, "hidden_states.02", resBool.Last, 1e-5)

	dims := in.IDs.Shape().Dimensions
	ones := make([]float32, dims[0]*dims[1])
	for i := range ones {
		ones[i] = 1
	}
	explicit, err := enc.Forward(Inputs{IDs: in.IDs, TokenTypes: tensors.FromShape(in.IDs.Shape()),
		Mask: tensors.FromFlatDataAndDimensions(ones, dims...)}, false)
	if err != nil {
		t.Fatal(err)
	}
	implicit, err := enc.Forward(Inputs{IDs: in.IDs}, false)
	if err != nil {
		t.Fatal(err)
	}
	gomlxtest.AssertClose(t, "implicit vs explicit defaults", tensors.MustCopyFlatData[float32](implicit.Last),
		tensors.MustCopyFlatData[float32](explicit.Last), 0, 0)
	// And the defaults really differ from the golden (padded, two types) run.
	if d := gomlxtest.Compare(tensors.MustCopyFlatData[float32](implicit.Last), f32(t, golden, "hidden_states.02")); d.MaxAbs < 1e-3 {
		t.Errorf("ignoring mask and token types changed the output by only %g", d.MaxAbs)
	}
}

// TestMaskIsolatesPadding: with the mask, the real tokens' outputs do not
// depend on what the padded positions hold.
func TestMaskIsolatesPadding(t *testing.T) {
	golden := mustLoad(t, tinyGolden)
	enc, err := NewEncoder(gomlxtest.Backend(t), Tiny(), tinyCanonical(t))
	if err != nil {
		t.Fatal(err)
	}
	in := goldenInputs(t, golden)
	ids := tensors.MustCopyFlatData[int64](in.IDs)
	mask := tensors.MustCopyFlatData[int64](in.Mask)
	for i := range ids {
		if mask[i] == 0 {
			ids[i] = int64(7 + i%50)
		}
	}
	res, err := enc.Forward(Inputs{IDs: tensors.FromFlatDataAndDimensions(ids, in.IDs.Shape().Dimensions...),
		TokenTypes: in.TokenTypes, Mask: in.Mask}, false)
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float32](res.Last)
	want := f32(t, golden, "hidden_states.02")
	h := Tiny().Hidden
	var real, realWant []float32
	for i, m := range mask {
		if m == 1 {
			real = append(real, got[i*h:(i+1)*h]...)
			realWant = append(realWant, want[i*h:(i+1)*h]...)
		}
	}
	gomlxtest.AssertClose(t, "real tokens with changed padding", real, realWant, 1e-5, 0)
	check(t, golden, "pooler_output", res.Pooled, 1e-5)
}

// TestSaveFromRoundTrip: loading and saving back gives the same tensors,
// bit for bit, in HF layout.
func TestSaveFromRoundTrip(t *testing.T) {
	cfg := Tiny()
	set := tinyCanonical(t)
	store := model.NewStore()
	scope := store.RootScope().In("bert")
	if err := LoadInto(scope, cfg, set); err != nil {
		t.Fatal(err)
	}
	back, err := SaveFrom(scope, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := weights.Check(cfg.Specs(), back); err != nil {
		t.Fatal(err)
	}
	for _, s := range cfg.Specs() {
		a, b := f32(t, set, s.Name), f32(t, back, s.Name)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: saved %g, loaded %g", s.Name, i, b[i], a[i])
			}
		}
	}
}

// TestPretrainingBinLoads reads an old-style HF BertForPreTraining
// pytorch_model.bin (zip pickle): "bert." prefix, gamma/beta LayerNorms,
// the position_ids buffer and cls.* heads.
func TestPretrainingBinLoads(t *testing.T) {
	raw := mustLoad(t, tinyPretraining)
	c, err := ToCanonical(raw, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Prefix != "bert." {
		t.Errorf("prefix %q, want bert.", c.Prefix)
	}
	if want := 2 + 4*Tiny().Layers; len(c.Renamed) != want {
		t.Errorf("renamed %d gamma/beta tensors, want %d: %v", len(c.Renamed), want, c.Renamed)
	}
	var cls, pos int
	for _, d := range c.Dropped {
		switch {
		case strings.HasPrefix(d, "cls."):
			cls++
		case d == "bert.embeddings.position_ids":
			pos++
		default:
			t.Errorf("unexpectedly dropped %s", d)
		}
	}
	if cls != 8 || pos != 1 {
		t.Errorf("dropped %d cls.* heads and %d position_ids, want 8 and 1", cls, pos)
	}
	want := tinyCanonical(t)
	if err := weights.Check(Tiny().Specs(), c.Set); err != nil {
		t.Fatal(err)
	}
	for _, s := range Tiny().Specs() {
		gomlxtest.AssertClose(t, s.Name, f32(t, c.Set, s.Name), f32(t, want, s.Name), 0, 0)
	}
}

// TestAuthorsCheckpoint extracts the text tower and projection from a
// Lightning checkpoint in the authors' two-tower layout.
func TestAuthorsCheckpoint(t *testing.T) {
	res, err := FromAuthorsCheckpoint(mustLoad(t, tinyAuthors))
	if err != nil {
		t.Fatal(err)
	}
	if res.Encoder.Prefix != "model.text_encoder." {
		t.Errorf("prefix %q", res.Encoder.Prefix)
	}
	if len(res.Encoder.Dropped) != 3 { // the video tower stand-ins
		t.Errorf("dropped %v, want the 3 video tensors", res.Encoder.Dropped)
	}
	gold := mustLoad(t, tinyAuthorsGold)
	for _, n := range []string{"text_proj.weight", "text_proj.bias"} {
		if _, ok := res.Projection.Tensors[n]; !ok {
			t.Fatalf("projection lacks %s", n)
		}
		gomlxtest.AssertClose(t, n, f32(t, res.Projection, n), f32(t, gold, n), 0, 0)
	}
	golden := mustLoad(t, tinyGolden)
	enc, err := NewEncoder(gomlxtest.Backend(t), Tiny(), res.Encoder.Set)
	if err != nil {
		t.Fatal(err)
	}
	out, err := enc.Forward(goldenInputs(t, golden), false)
	if err != nil {
		t.Fatal(err)
	}
	check(t, golden, "pooler_output", out.Pooled, 1e-5)
}

// TestLoadErrors: a wrong weight set is rejected with every problem named.
func TestLoadErrors(t *testing.T) {
	set := tinyCanonical(t)
	bad := weights.NewSet()
	for n, tt := range set.Tensors {
		switch n {
		case "encoder.layer.1.output.dense.bias": // missing
		case "encoder.layer.0.attention.self.key.weight": // mis-shaped (transposed FFN-like)
			c := *tt
			c.Shape = []int{16, 64}
			bad.Add(&c)
		default:
			bad.Add(tt)
		}
	}
	bad.Add(weights.FromFloat32("encoder.layer.2.output.dense.bias", []int{2}, []float32{1, 2}))
	store := model.NewStore()
	err := LoadInto(store.RootScope(), Tiny(), bad)
	var mm *weights.MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("want a *weights.MismatchError, got %v", err)
	}
	for _, want := range []string{"encoder.layer.1.output.dense.bias", "encoder.layer.0.attention.self.key.weight: got [16 64] want [32 32]", "encoder.layer.2.output.dense.bias"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if len(mm.Missing) != 1 || len(mm.Misshaped) != 1 || len(mm.Unexpected) != 1 {
		t.Errorf("missing %v, mis-shaped %v, unexpected %v", mm.Missing, mm.Misshaped, mm.Unexpected)
	}
	// bert-base weights for the tiny config: every tensor is mis-shaped.
	if _, err := NewEncoder(gomlxtest.Backend(t), BertBase(), set); err == nil || !strings.Contains(err.Error(), "mis-shaped") {
		t.Errorf("tiny weights into bert-base: %v", err)
	}
	if _, err := ToCanonical(weights.NewSet(), "", true); err == nil {
		t.Error("an empty set has no BERT but ToCanonical accepted it")
	}
	two := weights.NewSet()
	two.Add(weights.FromFloat32("a."+anchor, []int{1}, []float32{0}))
	two.Add(weights.FromFloat32("b."+anchor, []int{1}, []float32{0}))
	if _, err := ToCanonical(two, "", true); err == nil || !strings.Contains(err.Error(), "2 BERTs") {
		t.Errorf("two BERTs: %v", err)
	}
}

// TestCheckInputs: bad batches are errors, never panics.
func TestCheckInputs(t *testing.T) {
	enc, err := NewEncoder(gomlxtest.Backend(t), Tiny(), tinyCanonical(t))
	if err != nil {
		t.Fatal(err)
	}
	ids := func(v ...int64) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(v, 1, len(v)) }
	long := make([]int64, Tiny().MaxPositions+1)
	cases := []struct {
		name string
		in   Inputs
		want string
	}{
		{"nil ids", Inputs{}, "no input ids"},
		{"rank 1", Inputs{IDs: tensors.FromValue([]int64{1, 2})}, "want [batch, seq]"},
		{"float ids", Inputs{IDs: tensors.FromFlatDataAndDimensions([]float32{1, 2}, 1, 2)}, "want int32 or int64"},
		{"id too large", Inputs{IDs: ids(2, 99)}, "input ids[0, 1] = 99 is outside [0, 99)"},
		{"negative id", Inputs{IDs: ids(-1, 3)}, "outside"},
		{"too long", Inputs{IDs: tensors.FromFlatDataAndDimensions(long, 1, len(long))}, "exceeds max_position_embeddings"},
		{"token type 2", Inputs{IDs: ids(2, 3), TokenTypes: ids(0, 2)}, "token type ids[0, 1] = 2"},
		{"mask shape", Inputs{IDs: ids(2, 3), Mask: ids(1)}, "attention mask has shape"},
		{"mask value", Inputs{IDs: ids(2, 3), Mask: tensors.FromFlatDataAndDimensions([]float32{1, 0.5}, 1, 2)}, "want 0 or 1"},
	}
	for _, c := range cases {
		_, err := enc.Forward(c.in, false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestBertBaseShape: bert-base has 109,482,240 parameters with the pooler
// (bert-base-uncased; also what ../shared/reference/20-bert-torch.sh counts
// from its torch model).
func TestBertBaseShape(t *testing.T) {
	if n := BertBase().NumParameters(); n != 109482240 {
		t.Errorf("bert-base has %d parameters, want 109482240", n)
	}
	if _, err := ByName("bert-large"); err == nil {
		t.Error("unknown arch accepted")
	}
	for _, a := range Archs() {
		c, err := ByName(a)
		if err != nil || c.Validate() != nil {
			t.Errorf("%s: %v %v", a, err, c.Validate())
		}
	}
}

func tensorsF32(x *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](x) }

// TestNoPooler: a file without the pooler (HF BertForMaskedLM) loads with
// NoPooler, gives the same hidden states and no pooled output; without
// NoPooler the error says what to do.
func TestNoPooler(t *testing.T) {
	set, err := tinyCanonical(t).Rename(func(n string) (string, bool) { return n, !strings.HasPrefix(n, "pooler.") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewEncoder(gomlxtest.Backend(t), Tiny(), set); err == nil || !strings.Contains(err.Error(), "set Config.NoPooler") {
		t.Errorf("missing pooler: %v", err)
	}
	cfg := Tiny()
	cfg.NoPooler = true
	enc, err := NewEncoder(gomlxtest.Backend(t), cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	golden := mustLoad(t, tinyGolden)
	res, err := enc.Forward(goldenInputs(t, golden), false)
	if err != nil {
		t.Fatal(err)
	}
	check(t, golden, "hidden_states.02", res.Last, 1e-5)
	if res.Pooled != nil {
		t.Error("pooled output from a model without a pooler")
	}
	if _, err := enc.Pool(res, nil, PoolPooler); err == nil {
		t.Error("pooler pooling accepted without a pooler")
	}
	if c, err := Convert(Tiny(), set); err != nil || c.HasPooler() {
		t.Errorf("Convert without pooler: %v", err)
	}
}
