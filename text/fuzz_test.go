package text

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzText feeds arbitrary bytes to the splitter and the tokenizer: nothing
// may panic, encodings keep their frame, and tokenizing two texts joined by
// a space gives their ids concatenated (what the sampler relies on when it
// joins sentence ids).
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "FINDINGS:,1.  Normal LV.,2.  Normal RV.", "LVEF 55%", "Café 心脏 \u0301x",
		"[SEP][CLS]x[MASK", "\xff\xfe\x00 \u2028 e.g. i.e. No. 3", "a\u0308\u0301 ① Ⅻ", strings.Repeat("é", 101), "- • 1) (2) a. II. ?"} {
		f.Add(s, "IMPRESSION: normal.")
	}
	tok := testTokenizer(f, "pubmedbert")
	cls, sep, pad, _ := tok.SpecialIDs()
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, sp := range []Splitter{{}, {CommaLineBreaks: true, KeepHeaders: true}} {
			for _, s := range sp.Split(a) {
				if s.Text == "" || s.Text != strings.TrimSpace(s.Text) || strings.ContainsAny(s.Text, "\n\r") || !utf8.ValidString(s.Text) {
					t.Fatalf("sentence %q of %q", s.Text, a)
				}
			}
		}
		ids := tok.Tokenize(a)
		for _, id := range ids {
			if id < 0 || int(id) >= tok.Vocab().Size() {
				t.Fatalf("id %d out of range for %q", id, a)
			}
		}
		for _, L := range []int{2, 3, 16} {
			e := tok.Encode(a, L)
			n := min(len(ids), L-2) + 2
			if len(e.IDs) != L || e.IDs[0] != cls || e.IDs[n-1] != sep || !slices.Equal(e.IDs[1:n-1], ids[:n-2]) {
				t.Fatalf("Encode(%q, %d) = %v; pieces %v", a, L, e.IDs, ids)
			}
			for i := n; i < L; i++ {
				if e.IDs[i] != pad || e.AttentionMask[i] != 0 {
					t.Fatalf("Encode(%q, %d) padding %v %v", a, L, e.IDs, e.AttentionMask)
				}
			}
		}
		joined := tok.Tokenize(a + " " + b)
		if want := append(slices.Clone(ids), tok.Tokenize(b)...); !slices.Equal(joined, want) {
			t.Fatalf("Tokenize(%q + \" \" + %q) = %v, want %v", a, b, joined, want)
		}
	})
}
