package pretrain

import (
	"context"
	"math"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/gomlx/gomlx/ml/model"
)

// TestTextMeanBatch: in mean mode each study gets k rows of [CLS] s [SEP]
// from the report's own sentences (those the sampler chose, in report
// order), cut to SentenceLength keeping [SEP], empty slots all padding.
func TestTextMeanBatch(t *testing.T) {
	c := testCohort(t)
	cfg := TinyConfig(PaperConfig())
	cfg.Model.TextInput, cfg.Model.SentenceLength = "mean", 12
	cfg.Data.Sentences = 40 // more than any report has: empty slots
	mc, err := cfg.Net()
	if err != nil {
		t.Fatal(err)
	}
	tb, err := NewTextBatcher(c.Reports, mc, TextOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	keys := c.Reports.Keys()[:3]
	ids, mask, err := tb.Batch(keys, 7)
	if err != nil {
		t.Fatal(err)
	}
	k, l := 40, 12
	tk := c.Reports.Tokenizer
	for i, key := range keys {
		rep := c.Reports.Studies[key]
		for j := range k {
			row, m := ids[(i*k+j)*l:(i*k+j+1)*l], mask[(i*k+j)*l:(i*k+j+1)*l]
			if j >= len(rep.IDs) {
				for p := range l {
					if row[p] != tk.PadID || m[p] != 0 {
						t.Fatalf("%s slot %d: want an empty slot, got %v %v", key, j, row, m)
					}
				}
				continue
			}
			s := rep.IDs[j] // all sentences chosen, in report order
			n := min(len(s), l-2)
			if row[0] != tk.ClsID || row[n+1] != tk.SepID || m[n+1] != 1 || (n+2 < l && m[n+2] != 0) {
				t.Fatalf("%s slot %d: framing %v mask %v", key, j, row, m)
			}
			for p := range n {
				if row[1+p] != s[p] {
					t.Fatalf("%s slot %d: token %d is %d, want %d", key, j, p, row[1+p], s[p])
				}
			}
		}
	}
}

// TestDerangement: the mismatched control gives no study its own report
// and every report is used once.
func TestDerangement(t *testing.T) {
	c := testCohort(t)
	mc, _ := TinyConfig(PaperConfig()).Net()
	tb, err := NewTextBatcher(c.Reports, mc, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keys := c.Reports.Keys()
	tb.Derange(keys, 9)
	used := map[string]bool{}
	for _, k := range keys {
		p := tb.pairs[k]
		if p == k || used[p] || p == "" {
			t.Fatalf("study %s paired with %q (used before: %v)", k, p, used[p])
		}
		used[p] = true
	}
}

// TestTextMeanForward: the mean text input runs through the towers and
// gives unit-norm embeddings, and padding the sentence slots differently
// (an extra empty slot) does not change a study's text embedding.
func TestTextMeanForward(t *testing.T) {
	c := testCohort(t)
	cfg := TinyConfig(PaperConfig())
	cfg.Data.Store = c.Root
	cfg.Data.TrainSplit, cfg.Data.ValSplit = "all", ""
	cfg.Model.TextInput, cfg.Model.SentenceLength = "mean", 16
	cfg.Trainer.BatchSize = 4
	mc, err := cfg.Net()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewData(cfg, mc, c.Index, c.Reports, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := d.Train.Epoch(context.Background(), 0, 0)
	b, _, err := ep.Next()
	ep.Close()
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	e, err := NewEmbedder(gomlxtest.Backend(t), store, mc)
	if err != nil {
		t.Fatal(err)
	}
	v, u, _, _, err := e.Embed(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		for _, x := range [][]float32{v, u} {
			n := 0.0
			for _, y := range x[i*mc.EmbedDim : (i+1)*mc.EmbedDim] {
				n += float64(y) * float64(y)
			}
			if math.Abs(math.Sqrt(n)-1) > 1e-5 {
				t.Fatalf("embedding %d has norm %g", i, math.Sqrt(n))
			}
		}
	}
	// Same batch with k+1 slots, the extra one empty.
	mc2 := mc
	mc2.Sentences++
	k, l := mc.Sentences, mc.SentenceLength
	b2 := *b
	b2.IDs, b2.Mask = nil, nil
	for i := range 4 {
		b2.IDs = append(b2.IDs, b.IDs[i*k*l:(i+1)*k*l]...)
		b2.Mask = append(b2.Mask, b.Mask[i*k*l:(i+1)*k*l]...)
		b2.IDs = append(b2.IDs, make([]int32, l)...)
		b2.Mask = append(b2.Mask, make([]int32, l)...)
	}
	e2, err := NewEmbedder(gomlxtest.Backend(t), store, mc2)
	if err != nil {
		t.Fatal(err)
	}
	_, u2, _, _, err := e2.Embed(&b2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range u {
		if math.Abs(float64(u[i]-u2[i])) > 1e-6 {
			t.Fatalf("an empty sentence slot changed the text embedding: %g vs %g at %d", u[i], u2[i], i)
		}
	}
}
