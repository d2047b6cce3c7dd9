package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
)

// bertFixtures are model/bert's torch fixtures (testdata/gen/model/bert/gen_tiny.py).
const bertFixtures = "../../model/bert/testdata/"

// writeGoldenInputs writes the golden batch's ids, mask and token types as
// .npy files and returns their paths.
func writeGoldenInputs(t *testing.T, golden *weights.Set, dir string) (ids, mask, types string) {
	t.Helper()
	paths := map[string]string{}
	for _, n := range []string{"input_ids", "attention_mask", "token_type_ids"} {
		p := filepath.Join(dir, n+".npy")
		tt := golden.Tensors[n]
		if err := fsutil.WriteFileAtomic(p, func(w io.Writer) error { return weights.WriteNPY(w, tt) }); err != nil {
			t.Fatal(err)
		}
		paths[n] = p
	}
	return paths["input_ids"], paths["attention_mask"], paths["token_type_ids"]
}

func goldenF32(t *testing.T, s *weights.Set, name string) []float32 {
	t.Helper()
	tt, ok := s.Tensors[name]
	if !ok {
		t.Fatalf("no tensor %q (have %v)", name, s.Names())
	}
	v, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestForwardBertMatchesTorch: "cmrfm forward --arch bert-tiny" on the
// torch fixture's padded batch, from a pytorch_model.bin and from the
// authors' Lightning layout, reproduces torch's outputs.
func TestForwardBertMatchesTorch(t *testing.T) {
	golden, err := weights.Load(bertFixtures + "tiny_golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ids, mask, types := writeGoldenInputs(t, golden, dir)
	for _, w := range []string{"tiny_weights.safetensors", "tiny_pretraining.bin", "tiny_authors.ckpt"} {
		out := filepath.Join(dir, strings.ReplaceAll(w, ".", "_")+".npz")
		code, stdout, stderr := runCLI(t, "forward", "--arch", "bert-tiny", "--weights", bertFixtures+w,
			"--input-ids", ids, "--attention-mask", mask, "--token-type-ids", types,
			"--hidden-states", "--pooling", "mean", "--output", out)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", w, code, stdout, stderr)
		}
		got, err := weights.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		gomlxtest.AssertClose(t, w+" last_hidden_state", goldenF32(t, got, "last_hidden_state"), goldenF32(t, golden, "hidden_states.02"), 1e-5, 0)
		gomlxtest.AssertClose(t, w+" pooler_output", goldenF32(t, got, "pooler_output"), goldenF32(t, golden, "pooler_output"), 1e-5, 0)
		gomlxtest.AssertClose(t, w+" hidden_states.01", goldenF32(t, got, "hidden_states.01"), goldenF32(t, golden, "hidden_states.01"), 1e-5, 0)
		gomlxtest.AssertClose(t, w+" embedding", goldenF32(t, got, "embedding"), goldenF32(t, golden, "pool.mean"), 1e-5, 0)
	}

	// A .npy output: the last hidden state there, the pooler output beside it.
	out := filepath.Join(dir, "y.npy")
	code, stdout, stderr := runCLI(t, "forward", "--arch", "bert-tiny", "--weights", bertFixtures+"tiny_weights.safetensors",
		"--input-ids", ids, "--attention-mask", mask, "--token-type-ids", types, "--output", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if want := out + "\n" + filepath.Join(dir, "y.pooler_output.npy") + "\n"; stdout != want && !strings.Contains(stdout, "y.pooler_output.npy") {
		t.Errorf("stdout %q, want the two files", stdout)
	}
	for file, name := range map[string]string{"y.npy": "hidden_states.02", "y.pooler_output.npy": "pooler_output"} {
		s, err := weights.Load(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		gomlxtest.AssertClose(t, file, goldenF32(t, s, s.Names()[0]), goldenF32(t, golden, name), 1e-5, 0)
	}
}

// TestForwardBertErrors: bad invocations exit non-zero with a reason.
func TestForwardBertErrors(t *testing.T) {
	golden, err := weights.Load(bertFixtures + "tiny_golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ids, _, _ := writeGoldenInputs(t, golden, dir)
	out := filepath.Join(dir, "y.npz")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--arch", "bert-huge", "--weights", "x", "--output", out}, `--arch "bert-huge"`},
		{[]string{"--arch", "bert-tiny", "--weights", bertFixtures + "tiny_weights.safetensors", "--output", out}, "needs --input-ids"},
		{[]string{"--arch", "bert-base", "--weights", bertFixtures + "tiny_weights.safetensors", "--input-ids", ids, "--output", out}, "mis-shaped"},
		{[]string{"--arch", "bert-tiny", "--weights", bertFixtures + "tiny_authors_golden.safetensors", "--input-ids", ids, "--output", out}, "no BERT"},
		{[]string{"--arch", "bert-tiny", "--weights", bertFixtures + "tiny_weights.safetensors", "--input-ids", ids, "--output", filepath.Join(dir, "y.txt")}, "want a .npy, .npz or .safetensors"},
		{[]string{"--arch", "bert-tiny", "--weights", bertFixtures + "tiny_weights.safetensors", "--input-ids", ids, "--pooling", "sum", "--output", out}, "unknown pooling"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, append([]string{"forward"}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("forward %v: exit %d, stderr %q, want it to contain %q", c.args, code, stderr, c.want)
		}
	}
}
