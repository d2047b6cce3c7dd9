package text

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Load returns a tokenizer for a vocabulary file: a Hugging Face
// tokenizer.json (by its .json extension) or a vocab.txt with the uncased
// BERT defaults; "builtin:NAME" names a built-in vocabulary.
func Load(path string) (*Tokenizer, error) {
	if name, ok := strings.CutPrefix(path, "builtin:"); ok {
		v, err := Builtin(name)
		if err != nil {
			return nil, err
		}
		return NewDefault(v)
	}
	if strings.HasSuffix(strings.ToLower(path), ".json") {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("text: %w", err)
		}
		defer f.Close()
		t, err := ReadTokenizerJSON(f)
		if err != nil {
			return nil, fmt.Errorf("%w (%s)", err, path)
		}
		return t, nil
	}
	v, err := LoadVocab(path)
	if err != nil {
		return nil, err
	}
	return NewDefault(v)
}

// tokenizerJSON is the part of HF's tokenizer.json a BERT WordPiece
// tokenizer uses.
type tokenizerJSON struct {
	Truncation *struct {
		MaxLength int    `json:"max_length"`
		Direction string `json:"direction"`
	} `json:"truncation"`
	Padding *struct {
		PadToken string `json:"pad_token"`
	} `json:"padding"`
	AddedTokens []struct {
		ID         int32  `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	PostProcessor *struct {
		Type   string            `json:"type"`
		Sep    []json.RawMessage `json:"sep"`
		Cls    []json.RawMessage `json:"cls"`
		Single []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
	} `json:"post_processor"`
	Model struct {
		Type                    string           `json:"type"`
		UnkToken                string           `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int              `json:"max_input_chars_per_word"`
		Vocab                   map[string]int32 `json:"vocab"`
	} `json:"model"`
}

// ReadTokenizerJSON reads a Hugging Face tokenizer.json describing a BERT
// WordPiece tokenizer: model WordPiece, normalizer BertNormalizer (or none),
// pre-tokenizer BertPreTokenizer, post-processor BertProcessing or a
// TemplateProcessing of the form "[CLS] $A [SEP]", special added tokens that
// are matched verbatim. Anything else is an error naming the field, never a
// silently different tokenization. Its vocabulary's SHA256 is that of the
// equivalent vocab.txt (tokens in id order, one a line).
func ReadTokenizerJSON(r io.Reader) (*Tokenizer, error) {
	var j tokenizerJSON
	dec := json.NewDecoder(r)
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("text: tokenizer.json: %w", err)
	}
	m := j.Model
	if m.Type != "WordPiece" {
		return nil, fmt.Errorf("text: tokenizer.json: model.type %q: only WordPiece is supported", m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, fmt.Errorf("text: tokenizer.json: model.vocab is empty")
	}
	c := DefaultConfig()
	c.SpecialTokens = nil
	if m.UnkToken != "" {
		c.UnkToken = m.UnkToken
	}
	if m.ContinuingSubwordPrefix != nil {
		c.ContinuingSubwordPrefix = *m.ContinuingSubwordPrefix
	}
	if m.MaxInputCharsPerWord > 0 {
		c.MaxInputCharsPerWord = m.MaxInputCharsPerWord
	}
	if n := j.Normalizer; n == nil {
		c.CleanText, c.HandleChineseChars, c.StripAccents, c.Lowercase = false, false, false, false
	} else {
		if n.Type != "BertNormalizer" {
			return nil, fmt.Errorf("text: tokenizer.json: normalizer.type %q: only BertNormalizer is supported", n.Type)
		}
		set := func(dst *bool, v *bool) {
			if v != nil {
				*dst = *v
			}
		}
		set(&c.CleanText, n.CleanText)
		set(&c.HandleChineseChars, n.HandleChineseChars)
		set(&c.Lowercase, n.Lowercase)
		c.StripAccents = c.Lowercase // strip_accents null follows lowercase
		set(&c.StripAccents, n.StripAccents)
	}
	if p := j.PreTokenizer; p == nil || p.Type != "BertPreTokenizer" {
		typ := "null"
		if p != nil {
			typ = fmt.Sprintf("%q", p.Type)
		}
		return nil, fmt.Errorf("text: tokenizer.json: pre_tokenizer %s: only BertPreTokenizer is supported", typ)
	}
	if err := postProcessor(&j, &c); err != nil {
		return nil, err
	}
	if j.Padding != nil && j.Padding.PadToken != "" {
		c.PadToken = j.Padding.PadToken
	}
	vocab := make(map[string]int32, len(m.Vocab)+len(j.AddedTokens))
	for k, v := range m.Vocab {
		vocab[k] = v
	}
	for i, a := range j.AddedTokens {
		if !a.Special || a.Normalized || a.SingleWord || a.LStrip || a.RStrip {
			return nil, fmt.Errorf("text: tokenizer.json: added_tokens[%d] %q: only special, non-normalized tokens without strip or single_word are supported", i, a.Content)
		}
		vocab[a.Content] = a.ID
		c.SpecialTokens = append(c.SpecialTokens, a.Content)
	}
	v, err := vocabFromMap(vocab)
	if err != nil {
		return nil, fmt.Errorf("text: tokenizer.json: %w", err)
	}
	t, err := New(v, c)
	if err != nil {
		return nil, err
	}
	if tr := j.Truncation; tr != nil {
		if tr.Direction != "" && tr.Direction != "Right" {
			return nil, fmt.Errorf("text: tokenizer.json: truncation.direction %q: only Right is supported", tr.Direction)
		}
		if tr.MaxLength == 1 || tr.MaxLength < 0 {
			return nil, fmt.Errorf("text: tokenizer.json: truncation.max_length %d: want at least 2", tr.MaxLength)
		}
		t.maxLength = tr.MaxLength
	}
	return t, nil
}

// postProcessor reads the [CLS]/[SEP] framing.
func postProcessor(j *tokenizerJSON, c *Config) error {
	p := j.PostProcessor
	if p == nil {
		return fmt.Errorf("text: tokenizer.json: post_processor is null: [CLS]/[SEP] framing is required")
	}
	switch p.Type {
	case "BertProcessing":
		if len(p.Cls) != 2 || len(p.Sep) != 2 {
			return fmt.Errorf("text: tokenizer.json: post_processor cls/sep: want [token, id]")
		}
		if err := json.Unmarshal(p.Cls[0], &c.ClsToken); err != nil {
			return fmt.Errorf("text: tokenizer.json: post_processor.cls: %w", err)
		}
		if err := json.Unmarshal(p.Sep[0], &c.SepToken); err != nil {
			return fmt.Errorf("text: tokenizer.json: post_processor.sep: %w", err)
		}
	case "TemplateProcessing":
		s := p.Single
		if len(s) != 3 || s[0].SpecialToken == nil || s[1].Sequence == nil || s[1].Sequence.ID != "A" || s[2].SpecialToken == nil {
			return fmt.Errorf("text: tokenizer.json: post_processor.single: only the template \"[CLS] $A [SEP]\" is supported")
		}
		c.ClsToken, c.SepToken = s[0].SpecialToken.ID, s[2].SpecialToken.ID
	default:
		return fmt.Errorf("text: tokenizer.json: post_processor.type %q: only BertProcessing and TemplateProcessing are supported", p.Type)
	}
	return nil
}

// vocabFromMap builds a vocabulary from token → id; ids must be distinct
// and non-negative (holes are allowed and read as "").
func vocabFromMap(m map[string]int32) (*Vocab, error) {
	maxID := int32(-1)
	for tok, id := range m {
		if id < 0 {
			return nil, fmt.Errorf("vocab token %q has negative id %d", tok, id)
		}
		maxID = max(maxID, id)
	}
	if int(maxID) > 4*len(m)+1024 {
		return nil, fmt.Errorf("vocab ids reach %d for %d tokens", maxID, len(m))
	}
	tokens := make([]string, maxID+1)
	seen := make([]bool, maxID+1)
	for tok, id := range m {
		if seen[id] {
			return nil, fmt.Errorf("vocab id %d is used by %q and %q", id, tokens[id], tok)
		}
		tokens[id], seen[id] = tok, true
	}
	v := &Vocab{tokens: tokens, ids: m, prefix: "##"}
	v.measure()
	var b bytes.Buffer
	for _, t := range tokens {
		b.WriteString(t)
		b.WriteByte('\n')
	}
	sum := sha256.Sum256(b.Bytes())
	v.sha = hex.EncodeToString(sum[:])
	return v, nil
}
