package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/model/bert"
	"github.com/cmrfm/cmrfm/model/weights"
)

// TestWeightsBert: inspect names the BERT in each fixture layout, convert
// turns the authors' two-tower checkpoint and an old BertForPreTraining
// .bin into checked cmrfm checkpoints with the same tensors, and a
// mismatched architecture is refused with the tensors named.
func TestWeightsBert(t *testing.T) {
	for file, want := range map[string]string{
		"tiny_weights.safetensors": "BERT (BertModel names): vocabulary 99, width 32, 2 layers, matches bert-tiny",
		"tiny_pretraining.bin":     `BERT under "bert.": vocabulary 99`,
		"tiny_authors.ckpt":        `MViT: authors' Lightning checkpoint; text tower: BERT under "model.text_encoder."`,
	} {
		code, stdout, stderr := runCLI(t, "weights", "inspect", bertFixtures+file)
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("inspect %s: exit %d, want %q in\n%s%s", file, code, want, firstLine(stdout), stderr)
		}
	}
	ref, err := weights.Load(bertFixtures + "tiny_weights.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, file := range []string{"tiny_authors.ckpt", "tiny_pretraining.bin"} {
		out := filepath.Join(dir, file+".safetensors")
		if code, stdout, stderr := runCLI(t, "weights", "convert", bertFixtures+file, "--arch", "bert-tiny", "--out", out); code != 0 {
			t.Fatalf("convert %s: exit %d\n%s%s", file, code, stdout, stderr)
		}
		got, err := weights.Load(out) // verifies the recorded SHA-256
		if err != nil {
			t.Fatal(err)
		}
		if got.Metadata[weights.MetaArch] != bert.ArchBertTiny {
			t.Errorf("%s: arch metadata %q", file, got.Metadata[weights.MetaArch])
		}
		if len(got.Tensors) != len(ref.Tensors) {
			t.Errorf("%s: %d tensors, want %d", file, len(got.Tensors), len(ref.Tensors))
		}
		for n, rt := range ref.Tensors {
			if gt, ok := got.Tensors[n]; !ok || string(gt.Data) != string(rt.Data) {
				t.Errorf("%s: tensor %s differs or is missing", file, n)
			}
		}
	}
	code, _, stderr := runCLI(t, "weights", "convert", bertFixtures+"tiny_weights.safetensors", "--arch", "bert-base", "--out", filepath.Join(dir, "x.safetensors"))
	if code == 0 || !strings.Contains(stderr, "embeddings.word_embeddings.weight: got [99 32] want [30522 768]") {
		t.Errorf("tiny weights as bert-base: exit %d, stderr %q", code, stderr)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
