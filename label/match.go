package label

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Phrases are matched on tokens, not characters: lower-cased words (runs
// of letters and digits, joined by an inner hyphen, period, slash or
// apostrophe: "non-ischemic", "2.5", "ml/m2") and single punctuation marks
// ("?", ";", ","). A phrase word ending in '*' matches any word with that
// prefix ("infarct*" matches "infarct" and "infarction").

type token struct {
	text       string
	start, end int // byte offsets in the sentence
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// tokenize splits s into tokens.
func tokenize(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += n
		case isWordRune(r):
			j := i + n
			for j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				if isWordRune(r2) {
					j += n2
					continue
				}
				if strings.ContainsRune("-./'’", r2) && j+n2 < len(s) {
					r3, _ := utf8.DecodeRuneInString(s[j+n2:])
					if isWordRune(r3) {
						j += n2
						continue
					}
				}
				break
			}
			out = append(out, token{strings.ToLower(s[i:j]), i, j})
			i = j
		default:
			out = append(out, token{string(r), i, i + n})
			i += n
		}
	}
	return out
}

// phrase is a tokenized keyword or trigger.
type phrase struct {
	words []string // prefix words end in '*'
	text  string
}

func newPhrase(s string) phrase {
	p := phrase{text: s}
	for _, t := range tokenize(s) {
		p.words = append(p.words, t.text)
	}
	// tokenize splits "infarct*" into "infarct" and "*", and "..." into
	// three periods: glue them back.
	var ws []string
	for _, w := range p.words {
		if w == "." && len(ws) > 0 && strings.Trim(ws[len(ws)-1], ".") == "" {
			ws[len(ws)-1] += "."
			continue
		}
		if w == "*" && len(ws) > 0 {
			ws[len(ws)-1] += "*"
			continue
		}
		ws = append(ws, w)
	}
	p.words = ws
	return p
}

// maxGap is how many words a "..." in a phrase may stand for.
const maxGap = 3

// matchLen returns the number of tokens p matches in toks from i, or -1.
// A phrase word "..." matches 0 to maxGap words (not punctuation):
// "left atrium ... dilated" matches "left atrium was mildly dilated".
func (p phrase) matchLen(toks []token, i int) int {
	if len(p.words) == 0 {
		return -1
	}
	return matchFrom(p.words, toks, i)
}

func matchFrom(words []string, toks []token, i int) int {
	if len(words) == 0 {
		return 0
	}
	w := words[0]
	if w == "..." {
		for skip := 0; skip <= maxGap && i+skip <= len(toks); skip++ {
			if skip > 0 && !isWordToken(toks[i+skip-1].text) {
				break
			}
			if n := matchFrom(words[1:], toks, i+skip); n >= 0 {
				return skip + n
			}
		}
		return -1
	}
	if i >= len(toks) {
		return -1
	}
	t := toks[i].text
	if pre, ok := strings.CutSuffix(w, "*"); ok && w != "*" {
		if !strings.HasPrefix(t, pre) {
			return -1
		}
	} else if t != w {
		return -1
	}
	n := matchFrom(words[1:], toks, i+1)
	if n < 0 {
		return -1
	}
	return n + 1
}

func isWordToken(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordRune(r)
}

// span is a match of a phrase over tokens [start, end).
type span struct {
	start, end int
	kind       int // trigger kind, or the index of the phrase for keywords
}

// longestMatches finds non-overlapping matches of the phrases (tagged with
// kinds) scanning left to right and taking the longest phrase at each
// position; phrases of that length with other kinds match there too (a
// trigger listed both as pre and post).
func longestMatches(toks []token, phrases []phrase, kinds []int) []span {
	var out []span
	for i := 0; i < len(toks); {
		best := 0
		for _, p := range phrases {
			if n := p.matchLen(toks, i); n > best {
				best = n
			}
		}
		if best == 0 {
			i++
			continue
		}
		seen := map[int]bool{}
		for k, p := range phrases {
			if !seen[kinds[k]] && p.matchLen(toks, i) == best {
				seen[kinds[k]] = true
				out = append(out, span{i, i + best, kinds[k]})
			}
		}
		i += best
	}
	return out
}
