package text

import (
	"sort"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Character classes of HF's BertNormalizer and BertPreTokenizer. The
// category tables are Unicode 8.0 (unicode_tables.go), the version of the
// unicode_categories crate HF uses; white space is Rust's char::is_whitespace
// (the White_Space property, which Go's unicode.IsSpace implements).

// isOther: removed by clean_text (Cc, Cf, Co; tab, newline and carriage
// return are white space instead).
func isOther(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.Is(ucd8Other, r)
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

// isPunct: ASCII punctuation and symbols, or any Unicode 8.0 P* category.
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == cPunct
	}
	return unicode.Is(ucd8Punct, r)
}

// isChinese is HF's is_chinese_char: the CJK Unified Ideographs blocks it
// lists (note the gap 2B820–2B91F, which Python's BERT includes and HF's Rust
// does not).
func isChinese(r rune) bool {
	switch {
	case r < 0x3400:
		return false
	case r <= 0x4DBF:
		return true
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0xF900 && r <= 0xFAFF:
		return true
	case r >= 0x20000 && r <= 0x2A6DF, r >= 0x2A700 && r <= 0x2B73F, r >= 0x2B740 && r <= 0x2B81F,
		r >= 0x2B920 && r <= 0x2CEAF, r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

// toLower is Rust's char::to_lowercase for every rune but U+0130, whose full
// mapping has two runes (handled by appendLower).
func toLower(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	i := sort.Search(len(lower17), func(i int) bool { return lower17[i][0] >= r })
	if i < len(lower17) && lower17[i][0] == r {
		return lower17[i][1]
	}
	return r
}

func appendLower(dst []byte, r rune) []byte {
	if r == 0x130 { // LATIN CAPITAL LETTER I WITH DOT ABOVE → "i̇"
		return append(dst, 'i', 0xCC, 0x87)
	}
	return utf8.AppendRune(dst, toLower(r))
}

func keepComposed(r rune) bool {
	i := sort.Search(len(noDecompose), func(i int) bool { return noDecompose[i] >= r })
	return i < len(noDecompose) && noDecompose[i] == r
}

// ASCII byte classes for the fast path.
const (
	cWord   = iota // part of a word
	cSpace         // white space: splits words
	cRemove        // control character: removed by clean_text
	cPunct         // punctuation or symbol: a word of its own
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := 0; c < utf8.RuneSelf; c++ {
		switch {
		case c == '\t' || c == '\n' || c == '\r' || c == ' ':
			t[c] = cSpace
		case c < 0x20 || c == 0x7F:
			t[c] = cRemove
		case c >= '!' && c <= '/', c >= ':' && c <= '@', c >= '[' && c <= '`', c >= '{' && c <= '~':
			t[c] = cPunct
		default:
			t[c] = cWord
		}
	}
	return t
}()

// normalizeSlow applies BertNormalizer to s (which has non-ASCII runes, or any
// runes at all) and appends the result to dst: clean_text, CJK spacing, strip
// accents (NFD, drop Mn), lowercase — in HF's order. scratch is reused.
func (c *Config) normalizeSlow(dst, scratch []byte, s string) (out, scratchOut []byte) {
	b := scratch[:0]
	for _, r := range s { // invalid UTF-8 reads as U+FFFD, which clean_text removes
		if c.CleanText {
			if r == 0 || r == utf8.RuneError || isOther(r) {
				continue
			}
			if isSpace(r) {
				b = append(b, ' ')
				continue
			}
		}
		if c.HandleChineseChars && isChinese(r) {
			b = append(b, ' ')
			b = utf8.AppendRune(b, r)
			b = append(b, ' ')
			continue
		}
		b = utf8.AppendRune(b, r)
	}
	if c.StripAccents {
		d := appendNFD(nil, b)
		for _, r := range string(d) {
			if unicode.Is(ucd8Mn, r) {
				continue
			}
			if c.Lowercase {
				dst = appendLower(dst, r)
			} else {
				dst = utf8.AppendRune(dst, r)
			}
		}
		return dst, b
	}
	if !c.Lowercase {
		return append(dst, b...), b
	}
	for _, r := range string(b) {
		dst = appendLower(dst, r)
	}
	return dst, b
}

// appendNFD decomposes b canonically, leaving the characters HF's older
// normalization tables do not decompose (noDecompose) as they are.
func appendNFD(dst, b []byte) []byte {
	start := 0
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r >= utf8.RuneSelf && keepComposed(r) {
			dst = norm.NFD.Append(dst, b[start:i]...)
			dst = append(dst, b[i:i+n]...)
			start = i + n
		}
		i += n
	}
	return norm.NFD.Append(dst, b[start:]...)
}
