package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Splitter splits radiology report text into sentences with rules written
// for how reports are typed: section headers ("FINDINGS:", "Impression:"),
// numbered and bulleted lists, one finding per line without a final period,
// hard-wrapped lines, decimals ("4.7 cm", "2.5x3.1 cm") and abbreviations
// ("e.g.", "i.e.", "vs.", "approx.", "Dr.", "No. 3"). The zero value is ready
// to use.
//
// Rules, in order:
//  1. Lines: a blank line, a line that starts with a list number or bullet,
//     and a line after one ending in . ! ? : or ; start a new block. Any other
//     line continues the block (a wrapped line) if it starts with a
//     lower-case letter or the block ends with , ( / & - or a function word
//     ("with", "of", …); otherwise it starts a new block (findings listed one
//     per line without periods).
//  2. Blocks: . ! ? (and runs like ".)" or "?!") end a sentence when white
//     space and then a character that is not a lower-case letter or , ; :
//     follow (a mixed-case word like "bSSFP" or "eGFR" may start one),
//     unless the word before a period is an abbreviation, a dotted acronym
//     ("e.g", "b.i.d", "U.S"), or "No." before a number. Decimals never
//     split (no space after the point). Bullets • ▪ ◦ ‣ split anywhere.
//  3. Sentence starts: list markers ("1.", "2)", "(3)", "a)", bullets,
//     "A.", "II.") are removed; a known section header with a colon ("IMPRESSION:",
//     "Findings:") is removed and becomes the Section of the sentences that
//     follow; a block that is only an upper-case header ("2-D M-MODE:",
//     "CC:") does the same, and so does a short upper-case line without
//     final punctuation just above a list ("DOPPLER" above "1. Mild …").
//     Sentences with no letter or digit are dropped and white space runs
//     become one space.
type Splitter struct {
	// CommaLineBreaks restores the line structure of exports that replaced
	// every line break with a comma (the Kaggle MTSamples CSV:
	// "FINDINGS:,1.  The left …"): a comma not followed by white space
	// (except between digits, "1,000"), a comma right after a colon, and a
	// comma before another comma are read as line breaks.
	CommaLineBreaks bool `json:"comma_line_breaks"`
	// KeepHeaders returns each section header as a sentence of its own (as
	// written, with its colon) as well as recording it in Section.
	KeepHeaders bool `json:"keep_headers"`
	// Abbreviations adds words (lower case, without the final period) after
	// which a period never ends a sentence, to the built-in list.
	Abbreviations []string `json:"abbreviations,omitempty"`
}

// Sentence is one sentence of a report and the section it falls under: the
// last header before it, upper-cased, without the colon ("" if none).
type Sentence struct {
	Text    string `json:"text"`
	Section string `json:"section,omitempty"`
}

// builtinAbbrev: a period after these never ends a sentence.
var builtinAbbrev = map[string]bool{
	"dr": true, "drs": true, "mr": true, "mrs": true, "ms": true, "prof": true, "st": true, "vs": true, "v": true,
	"approx": true, "appr": true, "ca": true, "cf": true, "eg": true, "ie": true, "al": true, "fig": true, "figs": true,
	"incl": true, "resp": true, "esp": true, "viz": true, "ref": true, "sec": true, "seg": true, "segs": true,
}

// numberAbbrev: a period after these does not end a sentence before a number.
var numberAbbrev = map[string]bool{"no": true, "nos": true, "nr": true, "vol": true, "pg": true, "p": true}

// knownHeaders are report section names recognised with a colon in any case.
var knownHeaders = []string{
	"clinical history", "clinical indication", "clinical information", "clinical indications", "clinical",
	"history", "indication", "indications", "reason for exam", "reason for examination", "reason for study",
	"technique", "techniques", "procedure", "protocol", "comparison", "comparisons", "findings", "finding",
	"impression", "impressions", "conclusion", "conclusions", "summary", "recommendation", "recommendations",
	"exam", "examination", "study", "sequences", "contrast", "measurements", "addendum", "opinion", "diagnosis",
	"results", "result", "report", "interpretation", "description", "comments", "comment", "note",
}

// function words that leave a line unfinished when it ends with them.
var continuationWords = map[string]bool{
	"and": true, "or": true, "of": true, "with": true, "without": true, "within": true, "the": true, "a": true,
	"an": true, "to": true, "in": true, "on": true, "at": true, "by": true, "for": true, "from": true, "is": true,
	"are": true, "was": true, "were": true, "be": true, "as": true, "but": true, "nor": true, "than": true,
	"that": true, "which": true, "into": true, "no": true, "not": true,
}

// Sentences returns the text of each sentence of a report.
func (s Splitter) Sentences(text string) []string {
	ss := s.Split(text)
	out := make([]string, len(ss))
	for i, x := range ss {
		out[i] = x.Text
	}
	return out
}

// Split returns the sentences of a report in order.
func (s Splitter) Split(text string) []Sentence {
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n\n", "\u0085", "\n", "\f", "\n\n", "\v", "\n").Replace(text)
	if s.CommaLineBreaks {
		text = commaBreaks(text)
	}
	abbrev := builtinAbbrev
	if len(s.Abbreviations) > 0 {
		abbrev = make(map[string]bool, len(builtinAbbrev)+len(s.Abbreviations))
		for k := range builtinAbbrev {
			abbrev[k] = true
		}
		for _, a := range s.Abbreviations {
			abbrev[strings.TrimSuffix(strings.ToLower(strings.TrimSpace(a)), ".")] = true
		}
	}
	st := splitState{s: s, abbrev: abbrev}
	bs := blocks(text)
	for i, b := range bs {
		if i+1 < len(bs) && capsTitle(b) {
			if _, n := listMarker(bs[i+1]); n > 0 {
				st.header(b) // "DOPPLER" above "1. Mild mitral regurgitation."
				continue
			}
		}
		st.block(b)
	}
	return st.out
}

type splitState struct {
	s       Splitter
	abbrev  map[string]bool
	section string
	out     []Sentence
}

// commaBreaks turns the commas that stand for line breaks into '\n'.
func commaBreaks(t string) string {
	b := []byte(t)
	for i := 0; i < len(b); i++ {
		if b[i] != ',' {
			continue
		}
		prev := i - 1
		for prev >= 0 && (b[prev] == ' ' || b[prev] == '\t') {
			prev--
		}
		next := i + 1
		for next < len(b) && (b[next] == ' ' || b[next] == '\t') {
			next++
		}
		switch {
		case prev >= 0 && b[prev] == ':', next == len(b):
			b[i] = '\n'
		case next < len(b) && b[next] == ',':
			b[i] = '\n'
		case i+1 < len(b) && !isSpaceByte(b[i+1]) && !(i > 0 && isDigit(b[i-1]) && isDigit(b[i+1])):
			b[i] = '\n'
		}
	}
	return string(b)
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }
func isDigit(c byte) bool     { return '0' <= c && c <= '9' }

// blocks groups lines into blocks (rule 1).
func blocks(text string) []string {
	var out []string
	var cur strings.Builder
	last := "" // the block's last line: all continues needs
	flush := func() {
		if b := strings.TrimSpace(cur.String()); b != "" {
			out = append(out, b)
		}
		cur.Reset()
		last = ""
	}
	for _, line := range strings.Split(text, "\n") {
		l := strings.TrimSpace(line)
		if l == "" {
			flush()
			continue
		}
		if last != "" && continues(last, l) {
			cur.WriteByte(' ')
			cur.WriteString(l)
			last = l
			continue
		}
		flush()
		cur.WriteString(l)
		last = l
	}
	flush()
	return out
}

// continues reports whether line l is the wrapped continuation of a block
// whose last line is b.
func continues(b, l string) bool {
	b = strings.TrimRightFunc(b, unicode.IsSpace)
	last, _ := utf8.DecodeLastRuneInString(b)
	if strings.ContainsRune(".!?:;", last) {
		return false
	}
	if _, n := listMarker(l); n > 0 {
		return false
	}
	if isHeaderBlock(l) {
		return false
	}
	first, _ := utf8.DecodeRuneInString(l)
	if unicode.IsLower(first) || strings.ContainsRune(",(/&-", last) {
		return true
	}
	i := strings.LastIndexFunc(b, func(r rune) bool { return !unicode.IsLetter(r) })
	return continuationWords[strings.ToLower(b[i+1:])]
}

// listMarker recognises a list number or bullet at the start of s and
// returns the length to remove (with the white space after it).
func listMarker(s string) (string, int) {
	n := 0
	switch {
	case strings.HasPrefix(s, "•"), strings.HasPrefix(s, "▪"), strings.HasPrefix(s, "◦"), strings.HasPrefix(s, "‣"),
		strings.HasPrefix(s, "·"), strings.HasPrefix(s, "–"), strings.HasPrefix(s, "—"):
		_, n = utf8.DecodeRuneInString(s)
	case len(s) > 1 && (s[0] == '-' || s[0] == '*' || s[0] == '+' || s[0] == '>') && (s[1] == ' ' || s[1] == '\t'):
		n = 1
	case len(s) > 2 && s[0] == '(':
		j := 1
		for j < len(s) && j < 4 && (isDigit(s[j]) || isLowerASCII(s[j])) {
			j++
		}
		if j > 1 && j < len(s) && s[j] == ')' && (isDigit(s[1]) || j == 2) {
			n = j + 1
		}
	case len(s) > 1 && isDigit(s[0]):
		j := 0
		for j < len(s) && j < 3 && isDigit(s[j]) {
			j++
		}
		if j < len(s) && s[j] == ')' {
			n = j + 1
		} else if j < len(s) && s[j] == '.' && (j+1 == len(s) || s[j+1] == ' ' || s[j+1] == '\t') {
			n = j + 1
		}
	case len(s) > 2 && (isLowerASCII(s[0]) || isUpperASCII(s[0])) && (s[1] == ')' || s[1] == '.') && s[2] == ' ':
		n = 2 // "a)", "b.", "A.", "B)"
	default:
		if dot := strings.IndexByte(s[:min(len(s), 6)], '.'); dot > 0 && dot+1 < len(s) && s[dot+1] == ' ' && romanNumerals[s[:dot]] {
			n = dot + 1 // "II.", "IV."
		}
	}
	if n == 0 {
		return "", 0
	}
	m := n
	for m < len(s) && (s[m] == ' ' || s[m] == '\t') {
		m++
	}
	return s[:n], m
}

func isLowerASCII(c byte) bool { return 'a' <= c && c <= 'z' }
func isUpperASCII(c byte) bool { return 'A' <= c && c <= 'Z' }

var romanNumerals = map[string]bool{"I": true, "II": true, "III": true, "IV": true, "V": true, "VI": true, "VII": true,
	"VIII": true, "IX": true, "X": true, "XI": true, "XII": true}

// isHeaderBlock: a whole block that is an upper-case header ending in a
// colon, or a known header with or without its colon.
func isHeaderBlock(b string) bool {
	h, ok := strings.CutSuffix(strings.TrimSpace(b), ":")
	h = strings.TrimSpace(h)
	if h == "" || len(h) > 60 {
		return false
	}
	if knownHeader(h) {
		return true
	}
	if !ok {
		return false
	}
	letters := 0
	for _, r := range h {
		switch {
		case unicode.IsLower(r):
			return false
		case unicode.IsUpper(r):
			letters++
		case unicode.IsDigit(r) || strings.ContainsRune(" /&()-.,'#", r):
		default:
			return false
		}
	}
	return letters >= 2
}

// capsTitle: a short upper-case line without final punctuation ("2-D STUDY").
func capsTitle(b string) bool {
	if len(b) > 40 || len(strings.Fields(b)) > 5 || strings.ContainsAny(b[len(b)-1:], ".!?;,") {
		return false
	}
	letters := 0
	for _, r := range b {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			letters++
		}
	}
	return letters >= 2
}

func knownHeader(h string) bool {
	h = strings.ToLower(strings.Join(strings.Fields(h), " "))
	for _, k := range knownHeaders {
		if h == k {
			return true
		}
	}
	return false
}

// headerPrefix returns the known header at the start of s (followed by a
// colon) and the length to remove.
func headerPrefix(s string) (string, int) {
	colon := strings.IndexByte(s[:min(len(s), 41)], ':')
	if colon <= 0 {
		return "", 0
	}
	h := strings.TrimSpace(s[:colon])
	if !knownHeader(h) {
		return "", 0
	}
	return h, colon + 1
}

func sectionName(h string) string {
	return strings.ToUpper(strings.Join(strings.Fields(strings.TrimSuffix(strings.TrimSpace(h), ":")), " "))
}

// block splits one block into sentences (rules 2 and 3).
func (st *splitState) block(b string) {
	if isHeaderBlock(b) {
		st.header(b)
		return
	}
	start := st.sentenceStart(b, 0)
	for i := start; i < len(b); {
		r, size := utf8.DecodeRuneInString(b[i:])
		if r == '•' || r == '▪' || r == '◦' || r == '‣' {
			st.emit(b[start:i])
			start = st.sentenceStart(b, i)
			i = max(start, i+size)
			continue
		}
		if r != '.' && r != '!' && r != '?' && r != '…' {
			i += size
			continue
		}
		j := i + size
		for j < len(b) && strings.IndexByte(".!?\"')]}", b[j]) >= 0 {
			j++
		}
		for strings.HasPrefix(b[j:], "…") || strings.HasPrefix(b[j:], "’") || strings.HasPrefix(b[j:], "”") {
			_, n := utf8.DecodeRuneInString(b[j:])
			j += n
		}
		if j < len(b) && !isSpaceByte(b[j]) {
			i = j
			continue
		}
		k := j
		for k < len(b) && isSpaceByte(b[k]) {
			k++
		}
		if k < len(b) {
			next, _ := utf8.DecodeRuneInString(b[k:])
			if unicode.IsLower(next) && !mixedCase(b[k:]) || next == ',' || next == ';' || next == ':' {
				i = j
				continue
			}
			if r == '.' && st.noBreakAfter(b[:i], next) {
				i = j
				continue
			}
		}
		st.emit(b[start:j])
		start = st.sentenceStart(b, k)
		i = max(start, k)
	}
	if start < len(b) {
		st.emit(b[start:])
	}
}

// mixedCase: the word at the start of s has an upper-case letter after its
// lower-case start ("bSSFP", "eGFR", "pH"), so it can start a sentence.
func mixedCase(s string) bool {
	for i, r := range s {
		if i > 32 || isSpaceByte(byte(r)) && r < utf8.RuneSelf {
			return false
		}
		if unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

// noBreakAfter: the period at the end of pre belongs to an abbreviation.
func (st *splitState) noBreakAfter(pre string, next rune) bool {
	if len(pre) > 64 { // no abbreviation is longer; keeps long runs linear
		pre = pre[len(pre)-64:]
	}
	i := strings.LastIndexFunc(pre, func(r rune) bool { return !(unicode.IsLetter(r) || r == '.') })
	w := strings.ToLower(pre[i+1:])
	if w == "" {
		return false
	}
	if st.abbrev[w] || strings.Contains(w, ".") && dottedAcronym(w) {
		return true
	}
	return numberAbbrev[w] && unicode.IsDigit(next)
}

// dottedAcronym: single letters joined by periods ("e.g", "b.i.d", "u.s").
func dottedAcronym(w string) bool {
	for i, part := range strings.Split(w, ".") {
		if utf8.RuneCountInString(part) != 1 && !(i > 0 && part == "") {
			return false
		}
	}
	return true
}

// sentenceStart skips white space, stray , ; : and list markers at b[i:],
// takes known section headers off, and returns where the sentence begins.
func (st *splitState) sentenceStart(b string, i int) int {
	for i < len(b) {
		switch {
		case isSpaceByte(b[i]) || b[i] == ',' || b[i] == ';' || b[i] == ':':
			i++
			continue
		}
		if _, n := listMarker(b[i:]); n > 0 {
			i += n
			continue
		}
		if h, n := headerPrefix(b[i:]); n > 0 {
			st.header(h + ":")
			i += n
			continue
		}
		break
	}
	return i
}

func (st *splitState) header(h string) {
	st.section = sectionName(h)
	if st.s.KeepHeaders {
		st.out = append(st.out, Sentence{Text: strings.Join(strings.Fields(h), " "), Section: st.section})
	}
}

func (st *splitState) emit(s string) {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimRight(strings.TrimLeft(s, ",;: "), ",; ")
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0 {
		return
	}
	st.out = append(st.out, Sentence{Text: s, Section: st.section})
}
