package bert

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/internal/testenv"
)

// Full-size reference files written by testdata/gen/model/bert/gen_full.py.
const (
	fullWeights = "bert_base_weights.safetensors"
	fullGolden  = "bert_base_golden.safetensors"
)

// FullReferenceDir is where gen_full.py writes by default and where
// TestBertBaseMatchesTorch looks: $CMRFM_CACHE/bert-reference, else
// ~/.cache/cmrfm/bert-reference.
func fullReferenceDir() string {
	if d := os.Getenv("CMRFM_CACHE"); d != "" {
		return filepath.Join(d, "bert-reference")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "cmrfm", "bert-reference")
}

// fullReference returns a directory holding the full-size reference: the
// cache when gen_full.py has filled it; otherwise, in CI, a temporary
// directory that gen_full.py fills now (Debian torch required; ~15 s,
// 450 MB); otherwise the test is skipped with instructions.
func fullReference(t *testing.T) string {
	t.Helper()
	dir := fullReferenceDir()
	if _, err := os.Stat(filepath.Join(dir, fullGolden)); err == nil {
		return dir
	}
	script := filepath.Join(testenv.RepoRoot(t), "testdata", "gen", "model", "bert", "gen_full.py")
	if !testenv.InCI() {
		t.Skipf("SKIPPED — the full-size BERT reference is not in %s; make it with\n\tOPENBLAS_NUM_THREADS=1 /usr/bin/python3 %s\n(CI generates it on the fly)", dir, script)
	}
	py := testenv.Python(t, "torch", "numpy")
	dir = t.TempDir()
	cmd := exec.Command(py, script, dir)
	cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return dir
}

// TestBertBaseMatchesTorch runs the full-size bert-base (perturbed random
// weights, batch 2 × 128 with padding) against the torch reference: the
// last hidden state and the pooler output must agree to 1e-4, and every
// layer's difference is logged.
func TestBertBaseMatchesTorch(t *testing.T) {
	if testing.Short() && !testenv.InCI() {
		t.Skip("SKIPPED in -short mode: full-size bert-base")
	}
	dir := fullReference(t)
	golden := mustLoad(t, filepath.Join(dir, fullGolden))
	c, err := ToCanonical(mustLoad(t, filepath.Join(dir, fullWeights)), "", true)
	if err != nil {
		t.Fatal(err)
	}
	cfg := BertBase()
	enc, err := NewEncoder(gomlxtest.Backend(t), cfg, c.Set)
	if err != nil {
		t.Fatal(err)
	}
	res, err := enc.Forward(goldenInputs(t, golden), true)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range res.Hidden {
		name := fmt.Sprintf("hidden_states.%02d", i)
		want := f32(t, golden, name)
		d := gomlxtest.Compare(tensorsF32(h), want)
		t.Logf("%s: max|Δ| %.3g, mean|Δ| %.3g (max|value| %.3g)", name, d.MaxAbs, d.MeanAbs, maxAbs(want))
	}
	check(t, golden, "last_hidden_state", res.Last, 1e-4)
	check(t, golden, "pooler_output", res.Pooled, 1e-4)
}
