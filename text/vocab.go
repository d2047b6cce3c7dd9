package text

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode"
)

// Vocab is a WordPiece vocabulary: token strings and their ids.
type Vocab struct {
	tokens []string         // id → token (line order)
	ids    map[string]int32 // token → id; for a duplicated line the last one wins, as in HF
	sha    string           // sha256 of the source bytes, hex ("" when built from a map)
	// maxWord and maxPiece are the longest word-initial and "##"-continuation
	// entries in bytes (prefix excluded): WordPiece never looks further.
	maxWord, maxPiece int
	prefix            string
}

//go:embed vocab/pubmedbert-uncased-vocab.txt vocab/bert-base-uncased-vocab.txt
var builtinFS embed.FS

// DefaultBuiltin names the built-in vocabulary used when none is given:
// PubMedBERT's, as in the paper.
const DefaultBuiltin = "pubmedbert"

var builtinFiles = map[string]string{
	"pubmedbert":        "vocab/pubmedbert-uncased-vocab.txt",
	"bert-base-uncased": "vocab/bert-base-uncased-vocab.txt",
}

// BuiltinNames lists the vocabularies compiled into the binary.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtinFiles))
	for n := range builtinFiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Builtin returns a vocabulary compiled into the binary: "pubmedbert"
// (PubMedBERT uncased, MIT licence, Microsoft) or "bert-base-uncased"
// (Apache-2.0, Google). text/vocab/SOURCE.md says where they came from.
func Builtin(name string) (*Vocab, error) {
	f, ok := builtinFiles[name]
	if !ok {
		return nil, fmt.Errorf("text: no built-in vocabulary %q (have %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	b, err := builtinFS.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("text: built-in vocabulary %s: %w", name, err)
	}
	return parseVocab(b, "builtin:"+name)
}

// LoadVocab reads a vocab.txt file (one token a line, id = line number).
func LoadVocab(path string) (*Vocab, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("text: vocab: %w", err)
	}
	return parseVocab(b, path)
}

// ReadVocab reads a vocab.txt from r.
func ReadVocab(r io.Reader) (*Vocab, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("text: vocab: %w", err)
	}
	return parseVocab(b, "vocab")
}

// parseVocab follows HF's WordPiece::read_file: lines split at '\n' (a
// trailing '\r' dropped), trailing white space trimmed, id = line index.
func parseVocab(b []byte, name string) (*Vocab, error) {
	sum := sha256.Sum256(b)
	var tokens []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		tokens = append(tokens, strings.TrimRightFunc(sc.Text(), unicode.IsSpace))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("text: vocab %s: line %d: %w", name, len(tokens)+1, err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("text: vocab %s: empty", name)
	}
	if len(tokens) > 1<<31-1 {
		return nil, fmt.Errorf("text: vocab %s: %d tokens is too many", name, len(tokens))
	}
	v := newVocab(tokens)
	v.sha = hex.EncodeToString(sum[:])
	return v, nil
}

func newVocab(tokens []string) *Vocab {
	v := &Vocab{tokens: tokens, ids: make(map[string]int32, len(tokens)), prefix: "##"}
	for i, t := range tokens {
		v.ids[t] = int32(i)
	}
	v.measure()
	return v
}

// measure sets maxWord and maxPiece for the continuation prefix in use.
func (v *Vocab) measure() {
	v.maxWord, v.maxPiece = 0, 0
	for t := range v.ids {
		if v.prefix != "" && strings.HasPrefix(t, v.prefix) {
			v.maxPiece = max(v.maxPiece, len(t)-len(v.prefix))
		}
		// A "##x" entry can still match a whole word "##x" spelled out, so
		// every entry counts as a possible word-initial piece.
		v.maxWord = max(v.maxWord, len(t))
	}
}

// Size is the number of ids (lines), as BERT's embedding table needs.
func (v *Vocab) Size() int { return len(v.tokens) }

// ID returns the id of a token.
func (v *Vocab) ID(token string) (int32, bool) {
	id, ok := v.ids[token]
	return id, ok
}

// Token returns the token of an id ("" when out of range).
func (v *Vocab) Token(id int32) string {
	if id < 0 || int(id) >= len(v.tokens) {
		return ""
	}
	return v.tokens[id]
}

// SHA256 is the hex sha256 of the file the vocabulary was read from; the
// report index records it so ids are never used with another vocabulary.
func (v *Vocab) SHA256() string { return v.sha }
