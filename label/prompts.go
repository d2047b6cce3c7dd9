package label

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/cmrfm/cmrfm/internal/yamlconf"
)

// PromptFile is a prompt file (YAML): one fixed, versioned question per
// label. See docs/labels.md and label/defaults/*-prompts.yaml.
type PromptFile struct {
	// Version names the prompt set.
	Version string `yaml:"version"`
	// System is the system message.
	System string `yaml:"system"`
	// Template is the user message; {{report}}, {{question}} and
	// {{label}} are replaced. Empty: the built-in template.
	Template string `yaml:"template"`
	// Labels in output order.
	Labels []PromptLabel `yaml:"labels"`
}

// PromptLabel is one label's question.
type PromptLabel struct {
	Name string `yaml:"name"`
	// Version is bumped whenever the question changes meaning; it is part
	// of the cache key (with the prompt text itself).
	Version  int    `yaml:"version"`
	Question string `yaml:"question"`
}

// DefaultTemplate is the user message when a prompt file gives none.
const DefaultTemplate = `Read the report below and answer one question about it.

REPORT:
"""
{{report}}
"""

QUESTION: {{question}}

Answer "present" if the report states the finding, "absent" if it rules it out or does not mention it, and "uncertain" if it is only suspected, possible or equivocal. Quote as evidence the one sentence of the report that supports your answer, copied exactly; use "" when the report does not mention the finding.
Reply with JSON only: {"answer": "present" | "absent" | "uncertain", "evidence": "<sentence>"}`

// BuiltinPrompts names the built-in prompt files ("builtin:<name>").
var BuiltinPrompts = []string{"phantom", "paper"}

// Prompts is a checked prompt file.
type Prompts struct {
	File PromptFile
}

// LoadPrompts reads a prompt file, or a built-in one named "builtin:NAME".
func LoadPrompts(path string) (*Prompts, error) {
	var b []byte
	var err error
	if name, ok := strings.CutPrefix(path, "builtin:"); ok {
		b, err = defaults.ReadFile("defaults/" + name + "-prompts.yaml")
		if err != nil {
			return nil, fmt.Errorf("label: no built-in prompt file %q (have %s)", name, strings.Join(BuiltinPrompts, ", "))
		}
	} else if b, err = os.ReadFile(path); err != nil {
		return nil, fmt.Errorf("label: prompts: %w", err)
	}
	f, err := yamlconf.Parse(b, PromptFile{})
	if err != nil {
		return nil, fmt.Errorf("label: prompts %s: %w", path, err)
	}
	p, err := NewPrompts(f)
	if err != nil {
		return nil, fmt.Errorf("label: prompts %s: %w", path, err)
	}
	return p, nil
}

// NewPrompts checks a prompt file: a version, at least one label, every
// label with a unique name, a version ≥ 1 and a question; a template with
// {{report}} and {{question}}.
func NewPrompts(f PromptFile) (*Prompts, error) {
	if f.Version == "" {
		return nil, fmt.Errorf("no version")
	}
	if f.Template == "" {
		f.Template = DefaultTemplate
	}
	for _, v := range []string{"{{report}}", "{{question}}"} {
		if !strings.Contains(f.Template, v) {
			return nil, fmt.Errorf("template has no %s", v)
		}
	}
	if len(f.Labels) == 0 {
		return nil, fmt.Errorf("no labels")
	}
	seen := map[string]bool{}
	for i, l := range f.Labels {
		switch {
		case l.Name == "":
			return nil, fmt.Errorf("label %d has no name", i+1)
		case reservedColumn(l.Name):
			return nil, fmt.Errorf("label %q: reserved name", l.Name)
		case seen[l.Name]:
			return nil, fmt.Errorf("label %q defined twice", l.Name)
		case l.Version < 1:
			return nil, fmt.Errorf("label %q: version must be ≥ 1", l.Name)
		case strings.TrimSpace(l.Question) == "":
			return nil, fmt.Errorf("label %q has no question", l.Name)
		}
		seen[l.Name] = true
	}
	return &Prompts{File: f}, nil
}

// Labels returns the label names in file order.
func (p *Prompts) Labels() []string {
	out := make([]string, len(p.File.Labels))
	for i, l := range p.File.Labels {
		out[i] = l.Name
	}
	return out
}

// Select keeps the named labels, in the given order; a name the file does
// not define is an error.
func (p *Prompts) Select(names []string) (*Prompts, error) {
	if len(names) == 0 {
		return p, nil
	}
	by := map[string]PromptLabel{}
	for _, l := range p.File.Labels {
		by[l.Name] = l
	}
	q := *p
	q.File.Labels = nil
	for _, n := range names {
		l, ok := by[n]
		if !ok {
			return nil, fmt.Errorf("label: prompt file %s defines no label %q (have %s)", p.File.Version, n, strings.Join(p.Labels(), ", "))
		}
		q.File.Labels = append(q.File.Labels, l)
	}
	return &q, nil
}

func (p *Prompts) label(name string) PromptLabel {
	for _, l := range p.File.Labels {
		if l.Name == name {
			return l
		}
	}
	return PromptLabel{}
}

// Messages renders the chat messages for one label and report.
func (p *Prompts) Messages(label, report string) []Message {
	l := p.label(label)
	user := strings.NewReplacer("{{report}}", report, "{{question}}", strings.TrimSpace(l.Question), "{{label}}", l.Name).Replace(p.File.Template)
	var m []Message
	if s := strings.TrimSpace(p.File.System); s != "" {
		m = append(m, Message{Role: "system", Content: s})
	}
	return append(m, Message{Role: "user", Content: user})
}

// Version returns a label's prompt version, "<file version>/<label>@v<n>".
func (p *Prompts) Version(label string) string {
	return fmt.Sprintf("%s/%s@v%d", p.File.Version, label, p.label(label).Version)
}

// TextHash returns the SHA-256 of everything in a label's prompt but the
// report (system message, template, question): editing a prompt without
// bumping its version still invalidates its cached answers.
func (p *Prompts) TextHash(label string) string {
	h := sha256.New()
	for _, s := range []string{p.File.System, p.File.Template, p.label(label).Question} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
