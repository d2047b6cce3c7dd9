package text

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func sampleIndex(t *testing.T, tok *Tokenizer) *Index {
	t.Helper()
	var b strings.Builder
	// study "ten" has ten numbered sentences, "two" has two
	fmt.Fprintf(&b, `{"study_key": "ten", "text": "`)
	for i := range 10 {
		fmt.Fprintf(&b, "Sentence number %d has left ventricular words. ", i)
	}
	b.WriteString("\"}\n{\"study_key\": \"two\", \"text\": \"Normal LV. Normal RV.\"}\n")
	idx, err := BuildIndex(strings.NewReader(b.String()), "r.jsonl", tok, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(idx.Studies["ten"].Sentences); n != 10 {
		t.Fatalf("%d sentences", n)
	}
	return idx
}

func TestSamplerDraws(t *testing.T) {
	tok := testTokenizer(t, "pubmedbert")
	idx := sampleIndex(t, tok)
	s, err := NewSampler(idx, SamplerOptions{Seed: 7, MaxLength: 64})
	if err != nil {
		t.Fatal(err)
	}
	if o := s.Options(); o.K != 5 || o.MaxLength != 64 {
		t.Fatalf("options %+v", o)
	}
	rep := idx.Studies["ten"]
	counts := make([]int, 10)
	distinct := map[string]bool{}
	const steps = 20000
	for step := range int64(steps) {
		c, err := s.Choose("ten", step)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 5 || !slices.IsSorted(c) || len(slices.Compact(slices.Clone(c))) != 5 {
			t.Fatalf("step %d: chose %v", step, c)
		}
		for _, i := range c {
			counts[i]++
		}
		distinct[fmt.Sprint(c)] = true
		if step < 50 {
			// The encoding is the tokenizer's own encoding of the chosen
			// sentences joined by spaces.
			var texts []string
			for _, i := range c {
				texts = append(texts, rep.Sentences[i])
			}
			want := tok.Encode(strings.Join(texts, " "), 64)
			got, err := s.Sample("ten", step)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.AttentionMask, want.AttentionMask) {
				t.Fatalf("step %d: sample %v, tokenizer %v", step, got, want)
			}
		}
	}
	// each sentence is drawn with probability 5/10: 10,000 ± 71 (1 sd)
	for i, n := range counts {
		if n < steps/2-400 || n > steps/2+400 {
			t.Errorf("sentence %d drawn %d times in %d steps, want about %d", i, n, steps, steps/2)
		}
	}
	if len(distinct) != 252 { // all C(10,5) subsets occur
		t.Errorf("%d distinct draws, want 252", len(distinct))
	}
	// reproducible, and a function of (seed, step, key) only
	s2, _ := NewSampler(idx, SamplerOptions{Seed: 7, MaxLength: 64})
	a, _ := s.Sample("ten", 123)
	b, _ := s2.Sample("ten", 123)
	if !slices.Equal(a.IDs, b.IDs) {
		t.Error("same seed and step gave different draws")
	}
	s3, _ := NewSampler(idx, SamplerOptions{Seed: 8, MaxLength: 64})
	same := 0
	for step := range int64(20) {
		x, _ := s.Choose("ten", step)
		y, _ := s3.Choose("ten", step)
		if slices.Equal(x, y) {
			same++
		}
	}
	if same > 3 {
		t.Errorf("seeds 7 and 8 agree on %d of 20 steps", same)
	}
}

func TestSamplerShortReportsAndBatch(t *testing.T) {
	tok := testTokenizer(t, "pubmedbert")
	idx := sampleIndex(t, tok)
	s, err := NewSampler(idx, SamplerOptions{MaxLength: 8, Shuffle: true})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.Choose("two", 3)
	if len(c) != 2 {
		t.Errorf("two-sentence report gave %v", c)
	}
	ids, mask, err := s.Batch([]string{"ten", "two"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 16 || len(mask) != 16 {
		t.Fatalf("batch of %d and %d", len(ids), len(mask))
	}
	cls, sep, pad, _ := tok.SpecialIDs()
	// "ten" overflows 8 tokens: cut, [SEP] kept, all real
	if ids[0] != cls || ids[7] != sep || slices.Contains(mask[:8], 0) {
		t.Errorf("row 0 ids %v mask %v", ids[:8], mask[:8])
	}
	// "two" is short: [CLS] normal lv . normal rv . [SEP] in some order, no padding needed at 8
	row := ids[8:]
	if row[0] != cls || row[7] != sep || slices.Contains(row, pad) {
		t.Errorf("row 1 ids %v mask %v", row, mask[8:])
	}
	if _, err := s.Sample("nope", 0); err == nil {
		t.Error("unknown study accepted")
	}
	if _, err := NewSampler(idx, SamplerOptions{MaxLength: 1}); err == nil {
		t.Error("MaxLength 1 accepted")
	}
	e, _ := (mustSampler(t, idx, SamplerOptions{MaxLength: 16})).Sample("two", 0)
	n := tok.Encode("Normal LV. Normal RV.", 16)
	if !slices.Equal(e.IDs, n.IDs) || !slices.Equal(e.AttentionMask, n.AttentionMask) {
		t.Errorf("padded sample %v, tokenizer %v", e, n)
	}
}

func mustSampler(t *testing.T, idx *Index, o SamplerOptions) *Sampler {
	t.Helper()
	s, err := NewSampler(idx, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
