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

// FuzzDeidentify: de-identification never panics, its spans are ordered,
// disjoint and inside the text, the output is the text with exactly those
// spans replaced, and date shifting never panics either.
func FuzzDeidentify(f *testing.F) {
	for _, s := range []string{"Patient: Jane Smith, DOB 03/04/1961, MRN: 88442211.", "Dr. O'Brien-Smith, FRCR 12 March 2021",
		"Tel (555) 123-4567; 12 Elm St, Springfield, IL 62704; x@y.org", "LVEF 55 %, 120/80 mmHg, 2.5 × 3.1 cm", "04MAR2021 26.3.13 Mar-05-2021",
		"Name: SMITH, JANE\nAccession: A123456", "\xff\xfe Dr \u00e9\u0301 5/5/55"} {
		f.Add(s, "SMITH^JANE", "88442211", int16(-40))
	}
	f.Fuzz(func(t *testing.T, s, name, id string, shift int16) {
		k := &Known{Names: []string{name}, MRNs: []string{id}, Accessions: []string{id}, Other: []string{name}}
		out, spans := Deidentify(s, k, DeidOptions{})
		var b strings.Builder
		at := 0
		for _, sp := range spans {
			if sp.Start < at || sp.End <= sp.Start || sp.End > len(s) {
				t.Fatalf("span %+v after %d in %d bytes", sp, at, len(s))
			}
			b.WriteString(s[at:sp.Start])
			b.WriteString(sp.Kind.Placeholder())
			at = sp.End
		}
		b.WriteString(s[at:])
		if b.String() != out {
			t.Fatalf("output %q is not the text with its spans replaced (%q)", out, b.String())
		}
		Deidentify(s, k, DeidOptions{Dates: DatesShift, ShiftDays: int(shift), DayFirst: shift%2 == 0})
	})
}

// FuzzBuildIndex feeds arbitrary report tables (CSV and JSON lines) to the
// index builder: rows it cannot use are skipped with a reason, never a panic.
func FuzzBuildIndex(f *testing.F) {
	f.Add("study_key,text\nA,\"FINDINGS: Normal LV.\"\nB,\n,x\nA,dup\n", false)
	f.Add(`{"study_key":"A","text":"LVEF 55%."}`+"\n"+`{"study_key":1,"text":null}`+"\n{bad\n", true)
	tok := testTokenizer(f, "pubmedbert")
	f.Fuzz(func(t *testing.T, in string, jsonl bool) {
		o := IndexOptions{Format: "csv"}
		if jsonl {
			o.Format = "jsonl"
		}
		idx, err := BuildIndex(strings.NewReader(in), "fuzz", tok, o)
		if err != nil {
			return
		}
		for k, r := range idx.Studies {
			if k == "" || len(r.Sentences) == 0 || len(r.Sentences) != len(r.IDs) {
				t.Fatalf("study %q: %d sentences, %d id lists", k, len(r.Sentences), len(r.IDs))
			}
		}
	})
}
