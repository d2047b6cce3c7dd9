package text

// Golden tests against Hugging Face's Rust tokenizers (npm tokenizers@0.23.2).
// Every expected value below comes from testdata/gen/text/gen.sh, which runs
// HF's own code; nothing is hand-written.

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cmrfm/cmrfm/internal/testenv"
)

// readGzipJSONL decodes every line of a gzip'd JSON-lines fixture.
func readGzipJSONL(t *testing.T, path string, each func(line []byte)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			each(sc.Bytes())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func readAdversarial(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/adversarial.json")
	if err != nil {
		t.Fatal(err)
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

type goldenRecord struct {
	Set        string  `json:"set"`
	Tokenizers string  `json:"tokenizers"`
	VocabSHA   string  `json:"vocab_sha256"`
	File       string  `json:"file"`
	Line       int     `json:"line"`
	NoteID     int     `json:"note_id"`
	Index      int     `json:"index"`
	MaxLength  int     `json:"max_length"`
	IDs        []int32 `json:"ids"`
	Mask       []int32 `json:"mask"`
	IDsSHA     string  `json:"ids_sha256"`
	MaskSHA    string  `json:"mask_sha256"`
	Start      int     `json:"start"`
	Count      int     `json:"count"`
	NIDs       int     `json:"n_ids"`
	Tokenizer  string  `json:"tokenizer"`
}

// digest is the generator's sha256 of ids joined by ",".
func digest(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	h := sha256.Sum256([]byte(strings.Join(s, ",")))
	return hex.EncodeToString(h[:])
}

// firstDiff describes where two id sequences part, with the tokens around it.
func firstDiff(v *Vocab, got, want []int32) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	tok := func(ids []int32) string {
		var s []string
		for _, id := range ids[max(0, i-3):min(len(ids), i+4)] {
			s = append(s, v.Token(id))
		}
		return strings.Join(s, " ")
	}
	return fmt.Sprintf("lengths got %d want %d; first difference at %d: got …%s… want …%s…", len(got), len(want), i, tok(got), tok(want))
}

func TestHFGoldenIDs(t *testing.T) {
	adv := readAdversarial(t)
	for _, name := range []string{"pubmedbert", "bert-base-uncased"} {
		t.Run(name, func(t *testing.T) {
			v, err := Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := NewDefault(v)
			if err != nil {
				t.Fatal(err)
			}
			sets := map[string][]goldenRecord{}
			readGzipJSONL(t, filepath.Join("testdata", "hf-"+name+".jsonl.gz"), func(line []byte) {
				var r goldenRecord
				if err := json.Unmarshal(line, &r); err != nil {
					t.Fatal(err)
				}
				sets[r.Set] = append(sets[r.Set], r)
			})
			if m := sets["meta"]; len(m) != 1 || m[0].VocabSHA != v.SHA256() {
				t.Fatalf("goldens were made with another vocabulary (%+v), the built-in one has sha256 %s", m, v.SHA256())
			}
			// every adversarial string × 8 lengths, every vocab entry, every report × 3 forms
			for set, want := range map[string]int{"adversarial": len(adv) * 8, "vocab": (v.Size() + 255) / 256, "mtsamples": 194 * 3} {
				if got := len(sets[set]); got != want {
					t.Errorf("%d %s records, want %d", got, set, want)
				}
			}
			t.Run("adversarial", func(t *testing.T) {
				for _, r := range sets["adversarial"] {
					e := tok.Encode(adv[r.Index], r.MaxLength)
					if !slices.Equal(e.IDs, r.IDs) || !slices.Equal(e.AttentionMask, r.Mask) {
						t.Errorf("adversarial %d %q max_length %d: ids %v mask %v, HF %v %v\n%s", r.Index, adv[r.Index], r.MaxLength,
							e.IDs, e.AttentionMask, r.IDs, r.Mask, firstDiff(v, e.IDs, r.IDs))
					}
				}
			})
			t.Run("vocab", func(t *testing.T) {
				for _, r := range sets["vocab"] {
					text := strings.Join(v.tokens[r.Start:r.Start+r.Count], " ")
					ids := tok.Encode(text, 0).IDs
					if len(ids) != r.NIDs || digest(ids) != r.IDsSHA {
						t.Errorf("vocab sweep from id %d (%d entries): %d ids, HF %d, or digests differ", r.Start, r.Count, len(ids), r.NIDs)
					}
				}
			})
			t.Run("mtsamples", func(t *testing.T) {
				reports := readMTSamples(t)
				for _, r := range sets["mtsamples"] {
					rows := reports[r.File]
					if r.Line >= len(rows) {
						t.Fatalf("%s has no line %d", r.File, r.Line)
					}
					e := tok.Encode(rows[r.Line], r.MaxLength)
					if r.MaxLength == 0 {
						if !slices.Equal(e.IDs, r.IDs) {
							t.Errorf("%s line %d (note %d): %s", r.File, r.Line, r.NoteID, firstDiff(v, e.IDs, r.IDs))
						}
						if slices.Contains(e.AttentionMask, 0) {
							t.Fatalf("%s line %d: attention mask %v without padding", r.File, r.Line, e.AttentionMask)
						}
					} else if digest(e.IDs) != r.IDsSHA || digest(e.AttentionMask) != r.MaskSHA {
						t.Errorf("%s line %d (note %d) max_length %d: ids or mask differ from HF's (digests)", r.File, r.Line, r.NoteID, r.MaxLength)
					}
				}
			})
		})
	}
}

// readMTSamples returns the transcriptions of ../shared/data/mtsamples/*.jsonl
// by file name, in line order.
func readMTSamples(t testing.TB) map[string][]string {
	t.Helper()
	dir := testenv.SharedData(t, "mtsamples")
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no mtsamples in %s (%v)", dir, err)
	}
	out := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var r struct {
				Transcription string `json:"transcription"`
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(f)] = append(out[filepath.Base(f)], r.Transcription)
		}
	}
	return out
}

func TestHFTokenizerJSON(t *testing.T) {
	adv := readAdversarial(t)
	toks := map[string]*Tokenizer{}
	for _, name := range []string{"uncased-bertprocessing", "uncased-template", "cased", "lower-keep-accents"} {
		tok, err := Load(filepath.Join("testdata", "tokenizer-json", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		toks[name] = tok
	}
	if c := toks["cased"].Config(); c.Lowercase || c.StripAccents || !c.CleanText {
		t.Errorf("cased.json read as %+v", c)
	}
	if c := toks["lower-keep-accents"].Config(); !c.Lowercase || c.StripAccents {
		t.Errorf("lower-keep-accents.json read as %+v", c)
	}
	n := 0
	readGzipJSONL(t, filepath.Join("testdata", "tokenizer-json", "golden.jsonl.gz"), func(line []byte) {
		var r goldenRecord
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		tok := toks[r.Tokenizer]
		e := tok.Encode(adv[r.Index], r.MaxLength)
		if !slices.Equal(e.IDs, r.IDs) || !slices.Equal(e.AttentionMask, r.Mask) {
			t.Errorf("%s: adversarial %d %q max_length %d: ids %v mask %v, HF %v %v", r.Tokenizer, r.Index, adv[r.Index], r.MaxLength,
				e.IDs, e.AttentionMask, r.IDs, r.Mask)
		}
		n++
	})
	if want := 4 * 2 * len(adv); n != want {
		t.Errorf("%d records, want %d", n, want)
	}
}

// TestHFCodepoints runs every Unicode code point through our normalizer and
// pre-tokenizer classes and compares with HF's output for the same code
// point.
func TestHFCodepoints(t *testing.T) {
	f, err := os.Open("testdata/hf-codepoints.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	type runs = [][2]json.RawMessage
	var fx struct {
		Normalizers map[string]struct {
			Runs   runs     `json:"runs"`
			Mapped []string `json:"mapped"`
		} `json:"normalizers"`
		PreTokenizer struct {
			Runs runs `json:"runs"`
		} `json:"pretokenizer"`
	}
	if err := json.NewDecoder(zr).Decode(&fx); err != nil {
		t.Fatal(err)
	}
	// expand turns runs into one class letter per code point (surrogates skipped).
	expand := func(rs runs) []byte {
		var out []byte
		for _, r := range rs {
			var c string
			var n int
			if err := json.Unmarshal(r[0], &c); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(r[1], &n); err != nil {
				t.Fatal(err)
			}
			for range n {
				out = append(out, c[0])
			}
		}
		if want := 0x110000 - 0x800; len(out) != want {
			t.Fatalf("%d code points in fixture, want %d", len(out), want)
		}
		return out
	}
	cps := func(yield func(int, rune) bool) {
		i := 0
		for r := rune(0); r <= 0x10FFFF; r++ {
			if r >= 0xD800 && r <= 0xDFFF {
				continue
			}
			if !yield(i, r) {
				return
			}
			i++
		}
	}
	configs := map[string]Config{"uncased": DefaultConfig()}
	c := DefaultConfig()
	c.Lowercase, c.StripAccents = false, false
	configs["cased"] = c
	c.Lowercase = true
	configs["lower_keep_accents"] = c
	for name, cfg := range configs {
		fn, ok := fx.Normalizers[name]
		if !ok {
			t.Fatalf("fixture has no normalizer %s", name)
		}
		classes := expand(fn.Runs)
		mapped, bad := 0, 0
		var out, tmp []byte
		cps(func(i int, r rune) bool {
			s := string(r)
			out, tmp = cfg.normalizeSlow(out[:0], tmp, s)
			var want string
			switch classes[i] {
			case 'k':
				want = s
			case 'x':
				want = ""
			case 's':
				want = " "
			case 'c':
				want = " " + s + " "
			case 'm':
				want = fn.Mapped[mapped]
				mapped++
			}
			if string(out) != want {
				bad++
				if bad <= 20 {
					t.Errorf("%s: U+%04X normalizes to %+q, HF %+q", name, r, out, want)
				}
			}
			// The ASCII fast path must agree with the full normalizer.
			if name == "uncased" && r < utf8.RuneSelf {
				fast := map[uint8]byte{cRemove: 'x', cSpace: 's', cWord: 'k', cPunct: 'k'}[asciiClass[r]]
				if 'A' <= r && r <= 'Z' {
					fast = 'm'
				} else if r == ' ' {
					fast = 'k' // a space stays a space
				}
				if fast != classes[i] {
					t.Errorf("ASCII fast path class of U+%04X is %c, HF %c", r, fast, classes[i])
				}
			}
			return true
		})
		if bad > 0 {
			t.Errorf("%s: %d code points differ from HF", name, bad)
		}
		if mapped != len(fn.Mapped) {
			t.Errorf("%s: used %d mapped outputs of %d", name, mapped, len(fn.Mapped))
		}
	}
	pre := expand(fx.PreTokenizer.Runs)
	bad := 0
	cps(func(i int, r rune) bool {
		got := byte('k')
		if isSpace(r) {
			got = 's'
		} else if isPunct(r) {
			got = 'p'
		}
		if got != pre[i] {
			bad++
			if bad <= 20 {
				t.Errorf("pre-tokenizer class of U+%04X is %c, HF %c", r, got, pre[i])
			}
		}
		return true
	})
	if bad > 0 {
		t.Errorf("pre-tokenizer: %d code points differ from HF", bad)
	}
}
