package text

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// Config describes a BERT WordPiece tokenizer in Hugging Face's terms. Use
// DefaultConfig (BertTokenizerFast with do_lower_case=True) and change fields.
type Config struct {
	// BertNormalizer: remove control and format characters and turn white
	// space into ' ' (CleanText); put spaces around CJK ideographs
	// (HandleChineseChars); NFD and drop non-spacing marks (StripAccents);
	// lower-case (Lowercase). HF applies them in this order.
	CleanText, HandleChineseChars, StripAccents, Lowercase bool
	// UnkToken replaces a word WordPiece cannot spell or one longer than
	// MaxInputCharsPerWord characters (after normalization).
	UnkToken             string
	MaxInputCharsPerWord int
	// ContinuingSubwordPrefix marks pieces inside a word ("##").
	ContinuingSubwordPrefix string
	// ClsToken and SepToken frame every encoding; PadToken fills it up.
	ClsToken, SepToken, PadToken string
	// SpecialTokens are matched verbatim (case-sensitive) in the raw text
	// before normalization and map to their own id, as HF's added special
	// tokens do: "[SEP]" in a report is the [SEP] id, "[sep]" is not.
	SpecialTokens []string
}

// DefaultConfig is the uncased BERT tokenizer: what BertTokenizerFast
// builds from a vocab.txt with do_lower_case=True.
func DefaultConfig() Config {
	return Config{
		CleanText: true, HandleChineseChars: true, StripAccents: true, Lowercase: true,
		UnkToken: "[UNK]", MaxInputCharsPerWord: 100, ContinuingSubwordPrefix: "##",
		ClsToken: "[CLS]", SepToken: "[SEP]", PadToken: "[PAD]",
		SpecialTokens: []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"},
	}
}

// Tokenizer turns text into BERT WordPiece ids. It is safe for concurrent
// use.
type Tokenizer struct {
	cfg                Config
	vocab              *Vocab
	unk, cls, sep, pad int32
	special            []specialToken
	specialFirst       [utf8.RuneSelf]bool // first bytes of special tokens (ASCII ones)
	specialNonASCII    bool
	punctID            [utf8.RuneSelf]int32 // id of each ASCII punctuation character as a word
	maxLength          int                  // from a tokenizer.json's truncation; 0 = none
	scratch            sync.Pool
}

type specialToken struct {
	text string
	id   int32
}

type scratch struct {
	word, norm, tmp, piece []byte
}

// New returns a tokenizer for vocabulary v. Every token the config names
// must be in v.
func New(v *Vocab, c Config) (*Tokenizer, error) {
	if v == nil {
		return nil, fmt.Errorf("text: tokenizer: no vocabulary")
	}
	if c.MaxInputCharsPerWord <= 0 {
		return nil, fmt.Errorf("text: tokenizer: MaxInputCharsPerWord %d: want > 0", c.MaxInputCharsPerWord)
	}
	t := &Tokenizer{cfg: c, vocab: v}
	if v.prefix != c.ContinuingSubwordPrefix {
		nv := *v
		nv.prefix = c.ContinuingSubwordPrefix
		nv.measure()
		t.vocab = &nv
	}
	for _, s := range []struct {
		name, tok string
		id        *int32
	}{{"unknown", c.UnkToken, &t.unk}, {"CLS", c.ClsToken, &t.cls}, {"SEP", c.SepToken, &t.sep}, {"padding", c.PadToken, &t.pad}} {
		id, ok := v.ID(s.tok)
		if !ok {
			return nil, fmt.Errorf("text: tokenizer: %s token %q is not in the vocabulary", s.name, s.tok)
		}
		*s.id = id
	}
	for _, s := range c.SpecialTokens {
		if s == "" {
			return nil, fmt.Errorf("text: tokenizer: empty special token")
		}
		id, ok := v.ID(s)
		if !ok {
			return nil, fmt.Errorf("text: tokenizer: special token %q is not in the vocabulary", s)
		}
		t.special = append(t.special, specialToken{s, id})
		if s[0] < utf8.RuneSelf {
			t.specialFirst[s[0]] = true
		} else {
			t.specialNonASCII = true
		}
	}
	for ch := 0; ch < utf8.RuneSelf; ch++ {
		if asciiClass[ch] == cPunct {
			id, ok := v.ID(string(rune(ch)))
			if !ok {
				id = t.unk
			}
			t.punctID[ch] = id
		}
	}
	t.scratch.New = func() any { return &scratch{} }
	return t, nil
}

// NewDefault returns the uncased BERT tokenizer (DefaultConfig) for v.
func NewDefault(v *Vocab) (*Tokenizer, error) { return New(v, DefaultConfig()) }

// Vocab returns the tokenizer's vocabulary.
func (t *Tokenizer) Vocab() *Vocab { return t.vocab }

// Config returns the tokenizer's configuration.
func (t *Tokenizer) Config() Config { return t.cfg }

// SpecialIDs returns the ids of [CLS], [SEP], [PAD] and [UNK].
func (t *Tokenizer) SpecialIDs() (cls, sep, pad, unk int32) { return t.cls, t.sep, t.pad, t.unk }

// MaxLength is the truncation length a tokenizer.json asked for (0 if none).
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// Tokenize returns the WordPiece ids of text, without [CLS] and [SEP].
func (t *Tokenizer) Tokenize(text string) []int32 { return t.AppendTokenize(nil, text) }

// AppendTokenize appends the WordPiece ids of text to dst and returns it.
// Tokenizing sentences one by one and concatenating their ids gives the ids
// of the sentences joined by spaces.
func (t *Tokenizer) AppendTokenize(dst []int32, text string) []int32 {
	st := t.scratch.Get().(*scratch)
	defer t.scratch.Put(st)
	for len(text) > 0 {
		at, sp := t.nextSpecial(text)
		if at < 0 {
			return t.appendSegment(dst, st, text)
		}
		dst = t.appendSegment(dst, st, text[:at])
		dst = append(dst, sp.id)
		text = text[at+len(sp.text):]
	}
	return dst
}

// nextSpecial finds the leftmost (then longest) special token in s.
func (t *Tokenizer) nextSpecial(s string) (int, specialToken) {
	best, bestTok := -1, specialToken{}
	if len(t.special) == 0 {
		return best, bestTok
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] < utf8.RuneSelf && t.specialFirst[s[i]]) && !(s[i] >= utf8.RuneSelf && t.specialNonASCII) {
			continue
		}
		for _, sp := range t.special {
			if strings.HasPrefix(s[i:], sp.text) && (best < 0 || len(sp.text) > len(bestTok.text)) {
				best, bestTok = i, sp
			}
		}
		if best >= 0 {
			return best, bestTok
		}
	}
	return best, bestTok
}

// appendSegment tokenizes text that holds no special token. ASCII white
// space always separates words and never takes part in normalization, so the
// text is cut there and each chunk takes the ASCII fast path when it can.
func (t *Tokenizer) appendSegment(dst []int32, st *scratch, s string) []int32 {
	if !t.cfg.CleanText {
		return t.appendSlow(dst, st, s)
	}
	for len(s) > 0 {
		i := 0
		for i < len(s) && isASCIISpace(s[i]) {
			i++
		}
		s = s[i:]
		j, ascii := 0, true
		for j < len(s) && !isASCIISpace(s[j]) {
			if s[j] >= utf8.RuneSelf {
				ascii = false
			}
			j++
		}
		if j == 0 {
			break
		}
		if ascii {
			dst = t.appendASCII(dst, st, s[:j])
		} else {
			dst = t.appendSlow(dst, st, s[:j])
		}
		s = s[j:]
	}
	return dst
}

func isASCIISpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// appendASCII tokenizes an ASCII chunk without white space (CleanText on).
func (t *Tokenizer) appendASCII(dst []int32, st *scratch, s string) []int32 {
	w := st.word[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch asciiClass[c] {
		case cWord:
			if t.cfg.Lowercase && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			w = append(w, c)
		case cPunct:
			if len(w) > 0 {
				dst = t.appendWord(dst, st, w)
				w = w[:0]
			}
			dst = append(dst, t.punctID[c])
		}
		// cRemove: dropped by clean_text
	}
	if len(w) > 0 {
		dst = t.appendWord(dst, st, w)
	}
	st.word = w
	return dst
}

// appendSlow normalizes s with the full BertNormalizer, then splits it into
// words as BertPreTokenizer does (white space removed, punctuation isolated).
func (t *Tokenizer) appendSlow(dst []int32, st *scratch, s string) []int32 {
	st.norm, st.tmp = t.cfg.normalizeSlow(st.norm[:0], st.tmp, s)
	n := st.norm
	w := st.word[:0]
	for i := 0; i < len(n); {
		r, size := utf8.DecodeRune(n[i:])
		switch {
		case isSpace(r):
			if len(w) > 0 {
				dst = t.appendWord(dst, st, w)
				w = w[:0]
			}
		case isPunct(r):
			if len(w) > 0 {
				dst = t.appendWord(dst, st, w)
				w = w[:0]
			}
			dst = t.appendWord(dst, st, n[i:i+size])
		default:
			w = append(w, n[i:i+size]...)
		}
		i += size
	}
	if len(w) > 0 {
		dst = t.appendWord(dst, st, w)
	}
	st.word = w
	return dst
}

// appendWord is WordPiece on one normalized word: greedy longest match from
// the left, "##" before every piece but the first, and the whole word
// becomes [UNK] if any position has no match or the word is longer than
// MaxInputCharsPerWord characters.
func (t *Tokenizer) appendWord(dst []int32, st *scratch, word []byte) []int32 {
	if utf8.RuneCount(word) > t.cfg.MaxInputCharsPerWord {
		return append(dst, t.unk)
	}
	ids := t.vocab.ids
	if id, ok := ids[string(word)]; ok {
		return append(dst, id)
	}
	mark := len(dst)
	prefix := t.cfg.ContinuingSubwordPrefix
	for start := 0; start < len(word); {
		limit := t.vocab.maxWord
		if start > 0 {
			limit = t.vocab.maxPiece
		}
		end := min(len(word), start+limit)
		for end > start && end < len(word) && !utf8.RuneStart(word[end]) {
			end--
		}
		found := false
		for end > start {
			var id int32
			var ok bool
			if start == 0 {
				id, ok = ids[string(word[:end])]
			} else {
				p := append(append(st.piece[:0], prefix...), word[start:end]...)
				st.piece = p
				id, ok = ids[string(p)]
			}
			if ok {
				dst = append(dst, id)
				found = true
				break
			}
			_, size := utf8.DecodeLastRune(word[start:end])
			end -= size
		}
		if !found {
			return append(dst[:mark], t.unk)
		}
		start = end
	}
	return dst
}

// Encoding is one model input: ids framed by [CLS] and [SEP] and, when a
// length was asked for, truncated or padded to it, with the attention mask
// (1 for real tokens, 0 for padding).
type Encoding struct {
	IDs           []int32
	AttentionMask []int32
}

// Encode tokenizes text and frames it: [CLS] pieces [SEP]. With maxLength
// > 0 the pieces are cut so that the whole fits in maxLength (the final
// [SEP] is kept) and the rest is padded with [PAD]; 0 means no limit and no
// padding. maxLength 1 or negative is a caller bug and panics.
func (t *Tokenizer) Encode(text string, maxLength int) Encoding {
	return t.Pack(t.Tokenize(text), maxLength)
}

// Pack frames word-piece ids as Encode does.
func (t *Tokenizer) Pack(pieces []int32, maxLength int) Encoding {
	checkMaxLength(maxLength)
	n := len(pieces) + 2
	if maxLength > 0 {
		n = maxLength
	}
	e := Encoding{IDs: make([]int32, n), AttentionMask: make([]int32, n)}
	t.PackTo(e.IDs, e.AttentionMask, pieces)
	return e
}

// PackTo frames pieces into ids and mask, which must have the same length
// L ≥ 2: [CLS], the first L-2 pieces, [SEP], then padding. It allocates
// nothing, for filling a batch buffer row by row; it returns the number of
// real tokens.
func (t *Tokenizer) PackTo(ids, mask []int32, pieces []int32) int {
	L := len(ids)
	if len(mask) != L {
		panic(fmt.Sprintf("text: PackTo: ids has %d entries, mask %d", L, len(mask)))
	}
	if L < 2 {
		panic(fmt.Sprintf("text: PackTo: length %d: want at least 2 ([CLS] and [SEP])", L))
	}
	k := min(len(pieces), L-2)
	ids[0] = t.cls
	copy(ids[1:], pieces[:k])
	ids[k+1] = t.sep
	for i := k + 2; i < L; i++ {
		ids[i] = t.pad
	}
	for i := range mask {
		mask[i] = 0
		if i < k+2 {
			mask[i] = 1
		}
	}
	return k + 2
}

func checkMaxLength(n int) {
	if n < 0 || n == 1 {
		panic(fmt.Sprintf("text: max length %d: want 0 (no limit) or at least 2 ([CLS] and [SEP])", n))
	}
}
