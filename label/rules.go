package label

import (
	"context"
	"embed"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/cmrfm/cmrfm/internal/yamlconf"
	"github.com/cmrfm/cmrfm/text"
)

//go:embed defaults
var defaults embed.FS

// RulesFile is a rule file (YAML). See docs/labels.md and the built-in
// label/defaults/phantom-rules.yaml.
type RulesFile struct {
	// Version names the rule set; it is recorded in the log of every run.
	Version string `yaml:"version"`
	// Splitter configures cmrfm's sentence splitter (text.Splitter).
	Splitter SplitterConfig `yaml:"splitter"`
	// IgnoreSections lists section names (upper case, without the colon, as
	// the splitter reports them) whose sentences are not read: the
	// indication and history, which name what is suspected, not found. A
	// name with '*' is a pattern ("REASON FOR*", "*HISTORY*").
	IgnoreSections []string `yaml:"ignore_sections"`
	// MaxWords is the scope of a trigger: the number of words between a
	// trigger and a keyword it can reach (0: 8).
	MaxWords int `yaml:"max_words"`
	// Terminators end a trigger's scope ("but", "however", ";").
	Terminators []string `yaml:"terminators"`
	// Negation, Uncertainty and Ignore triggers; Pre triggers reach
	// forward to keywords after them, Post triggers back to keywords
	// before them. A keyword in an Ignore scope ("family history of") is no
	// mention at all.
	Negation    Triggers `yaml:"negation"`
	Uncertainty Triggers `yaml:"uncertainty"`
	Ignore      Triggers `yaml:"ignore"`
	// Labels in output order.
	Labels []LabelRule `yaml:"labels"`
}

// SplitterConfig is text.Splitter's configuration in a rule file.
type SplitterConfig struct {
	// CommaLineBreaks reads commas that stand for line breaks as line
	// breaks (exports such as the Kaggle MTSamples CSV).
	CommaLineBreaks bool `yaml:"comma_line_breaks"`
	// Abbreviations after which a period never ends a sentence.
	Abbreviations []string `yaml:"abbreviations"`
}

func (c SplitterConfig) splitter() text.Splitter {
	return text.Splitter{CommaLineBreaks: c.CommaLineBreaks, Abbreviations: c.Abbreviations}
}

// Triggers are the phrases of one trigger kind.
type Triggers struct {
	Pre  []string `yaml:"pre"`
	Post []string `yaml:"post"`
}

// LabelRule defines one label: by keywords, or from other labels.
type LabelRule struct {
	Name string `yaml:"name"`
	// Keywords mention the finding; matched on whole words, case-insensitive,
	// a trailing '*' on a word matches any ending.
	Keywords []string `yaml:"keywords"`
	// Exclude phrases contain a keyword without mentioning the finding
	// ("pleural effusion" for a keyword "effusion"); a keyword inside one
	// does not count.
	Exclude []string `yaml:"exclude"`
	// NoneOf defines the label as present when every listed label is
	// absent, absent when any is present, uncertain otherwise ("normal":
	// none of the diseases). Listed labels must come before it.
	NoneOf []string `yaml:"none_of"`
}

// BuiltinRules names the built-in rule files ("builtin:<name>").
var BuiltinRules = []string{"phantom", "mtsamples"}

// LoadRules reads a rule file, or a built-in one named "builtin:NAME".
func LoadRules(path string) (*Rules, error) {
	var b []byte
	var err error
	if name, ok := strings.CutPrefix(path, "builtin:"); ok {
		b, err = defaults.ReadFile("defaults/" + name + "-rules.yaml")
		if err != nil {
			return nil, fmt.Errorf("label: no built-in rule file %q (have %s)", name, strings.Join(BuiltinRules, ", "))
		}
	} else if b, err = os.ReadFile(path); err != nil {
		return nil, fmt.Errorf("label: rules: %w", err)
	}
	f, err := yamlconf.Parse(b, RulesFile{})
	if err != nil {
		return nil, fmt.Errorf("label: rules %s: %w", path, err)
	}
	r, err := CompileRules(f)
	if err != nil {
		return nil, fmt.Errorf("label: rules %s: %w", path, err)
	}
	return r, nil
}

// Rules is a compiled rule file.
type Rules struct {
	File     RulesFile
	split    text.Splitter
	ignore   map[string]bool
	patterns []string
	triggers []phrase
	kinds    []int
	labels   []compiledLabel
}

type compiledLabel struct {
	name     string
	keywords []phrase
	exclude  []phrase
	noneOf   []int
}

// Trigger kinds.
const (
	kNegPre = iota
	kNegPost
	kUncPre
	kUncPost
	kIgnPre
	kIgnPost
	kTerm
)

// CompileRules checks a rule file and prepares it for matching: every
// label needs a name, and keywords or none_of (not both); names are
// unique; none_of names earlier labels.
func CompileRules(f RulesFile) (*Rules, error) {
	if f.MaxWords <= 0 {
		f.MaxWords = 8
	}
	r := &Rules{File: f, split: f.Splitter.splitter(), ignore: map[string]bool{}}
	for _, s := range f.IgnoreSections {
		s = strings.ToUpper(strings.Join(strings.Fields(s), " "))
		if strings.Contains(s, "*") {
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("ignore_sections %q: %v", s, err)
			}
			r.patterns = append(r.patterns, s)
			continue
		}
		r.ignore[s] = true
	}
	add := func(list []string, kind int) error {
		for _, s := range list {
			p := newPhrase(s)
			if len(p.words) == 0 {
				return fmt.Errorf("empty trigger %q", s)
			}
			r.triggers = append(r.triggers, p)
			r.kinds = append(r.kinds, kind)
		}
		return nil
	}
	for _, x := range []struct {
		list []string
		kind int
	}{{f.Negation.Pre, kNegPre}, {f.Negation.Post, kNegPost}, {f.Uncertainty.Pre, kUncPre}, {f.Uncertainty.Post, kUncPost},
		{f.Ignore.Pre, kIgnPre}, {f.Ignore.Post, kIgnPost}, {f.Terminators, kTerm}} {
		if err := add(x.list, x.kind); err != nil {
			return nil, err
		}
	}
	if len(f.Labels) == 0 {
		return nil, fmt.Errorf("no labels")
	}
	index := map[string]int{}
	for i, l := range f.Labels {
		if l.Name == "" {
			return nil, fmt.Errorf("label %d has no name", i+1)
		}
		if strings.HasSuffix(l.Name, "_evidence") || l.Name == "study_key" || l.Name == "status" || l.Name == "error" {
			return nil, fmt.Errorf("label %q: reserved name", l.Name)
		}
		if _, dup := index[l.Name]; dup {
			return nil, fmt.Errorf("label %q defined twice", l.Name)
		}
		c := compiledLabel{name: l.Name}
		switch {
		case len(l.Keywords) > 0 && len(l.NoneOf) > 0:
			return nil, fmt.Errorf("label %q: keywords and none_of are exclusive", l.Name)
		case len(l.Keywords) == 0 && len(l.NoneOf) == 0:
			return nil, fmt.Errorf("label %q: needs keywords or none_of", l.Name)
		}
		for _, k := range l.Keywords {
			p := newPhrase(k)
			if len(p.words) == 0 {
				return nil, fmt.Errorf("label %q: empty keyword", l.Name)
			}
			c.keywords = append(c.keywords, p)
		}
		for _, k := range l.Exclude {
			c.exclude = append(c.exclude, newPhrase(k))
		}
		for _, n := range l.NoneOf {
			j, ok := index[n]
			if !ok {
				return nil, fmt.Errorf("label %q: none_of names %q, which is not a label defined before it", l.Name, n)
			}
			c.noneOf = append(c.noneOf, j)
		}
		index[l.Name] = i
		r.labels = append(r.labels, c)
	}
	return r, nil
}

// Labels returns the label names in output order.
func (r *Rules) Labels() []string {
	out := make([]string, len(r.labels))
	for i, l := range r.labels {
		out[i] = l.name
	}
	return out
}

// Mention is one keyword occurrence and how the rules read it.
type Mention struct {
	Label    string
	Keyword  string
	Sentence string
	Section  string
	Answer   Answer // Present (affirmed), Absent (negated) or Uncertain
	Trigger  string // the trigger that scoped it ("" if affirmed)
}

// Explain returns every mention the rules see in a report text, in order
// (sentences of ignored sections and ignored scopes left out).
func (r *Rules) Explain(reportText string) []Mention {
	var out []Mention
	for _, s := range r.split.Split(reportText) {
		if r.ignored(s.Section) {
			continue
		}
		toks := tokenize(s.Text)
		trig := longestMatches(toks, r.triggers, r.kinds)
		for li, l := range r.labels {
			if len(l.keywords) == 0 {
				continue
			}
			idx := make([]int, len(l.keywords))
			for k := range idx {
				idx[k] = k
			}
			excl := longestMatches(toks, l.exclude, make([]int, len(l.exclude)))
			for _, m := range longestMatches(toks, l.keywords, idx) {
				if inside(m, excl) {
					continue
				}
				ans, by, ignored := r.scope(toks, trig, m)
				if ignored {
					continue
				}
				out = append(out, Mention{Label: r.labels[li].name, Keyword: l.keywords[m.kind].text, Sentence: s.Text,
					Section: s.Section, Answer: ans, Trigger: by})
			}
		}
	}
	return out
}

func (r *Rules) ignored(section string) bool {
	if section == "" {
		return false
	}
	if r.ignore[section] {
		return true
	}
	for _, p := range r.patterns {
		if ok, _ := path.Match(p, section); ok {
			return true
		}
	}
	return false
}

func inside(m span, in []span) bool {
	for _, e := range in {
		if e.start <= m.start && m.end <= e.end {
			return true
		}
	}
	return false
}

// scope decides how the nearest trigger in reach reads the keyword match
// m: a pre-trigger before it or a post-trigger after it, at most MaxWords
// words away, with no terminator in between.
func (r *Rules) scope(toks []token, trig []span, m span) (Answer, string, bool) {
	best, bestDist := -1, 1<<30
	for i, t := range trig {
		var dist int
		switch t.kind {
		case kNegPre, kUncPre, kIgnPre:
			if t.end > m.start {
				continue
			}
			dist = m.start - t.end
			if r.terminated(trig, t.end, m.start) {
				continue
			}
		case kNegPost, kUncPost, kIgnPost:
			if t.start < m.end {
				continue
			}
			dist = t.start - m.end
			if r.terminated(trig, m.end, t.start) {
				continue
			}
		default:
			continue
		}
		if dist <= r.File.MaxWords && dist < bestDist {
			best, bestDist = i, dist
		}
	}
	if best < 0 {
		return Present, "", false
	}
	t := trig[best]
	text := strings.Join(tokText(toks[t.start:t.end]), " ")
	switch t.kind {
	case kNegPre, kNegPost:
		return Absent, text, false
	case kUncPre, kUncPost:
		return Uncertain, text, false
	}
	return "", text, true
}

func (r *Rules) terminated(trig []span, from, to int) bool {
	for _, t := range trig {
		if t.kind == kTerm && t.start >= from && t.end <= to {
			return true
		}
	}
	return false
}

func tokText(ts []token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.text
	}
	return out
}

// Label labels one report text: per keyword label, present if any mention
// is affirmed, else uncertain if any is uncertain, else absent (negated or
// not mentioned); the evidence is the sentence of the first deciding
// mention. none_of labels follow from their listed labels.
func (r *Rules) Label(reportText string) map[string]Finding {
	out := make(map[string]Finding, len(r.labels))
	ms := r.Explain(reportText)
	rank := map[Answer]int{Present: 3, Uncertain: 2, Absent: 1}
	for _, l := range r.labels {
		if len(l.keywords) == 0 {
			continue
		}
		f := Finding{Answer: Absent}
		best := 0
		for _, m := range ms {
			if m.Label == l.name && rank[m.Answer] > best {
				best = rank[m.Answer]
				f = Finding{Answer: m.Answer, Evidence: m.Sentence}
			}
		}
		out[l.name] = f
	}
	for _, l := range r.labels {
		if len(l.noneOf) == 0 {
			continue
		}
		f := Finding{Answer: Present}
		for _, j := range l.noneOf {
			g := out[r.labels[j].name]
			if g.Answer == Present {
				f = Finding{Answer: Absent, Evidence: g.Evidence}
				break
			}
			if g.Answer == Uncertain && f.Answer == Present {
				f = Finding{Answer: Uncertain, Evidence: g.Evidence}
			}
		}
		out[l.name] = f
	}
	return out
}

// LabelReports labels every report; reports with a Problem become failed
// rows. progress, if set, is called after each report.
func (r *Rules) LabelReports(ctx context.Context, reports []Report, progress func(done, total int)) ([]Result, error) {
	out := make([]Result, len(reports))
	for i, rep := range reports {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = Result{Key: rep.Key}
		if rep.Problem != "" {
			out[i].Err = fmt.Sprintf("line %d: %s", rep.Line, rep.Problem)
		} else {
			out[i].Labels = r.Label(rep.Text)
		}
		if progress != nil {
			progress(i+1, len(reports))
		}
	}
	return out, nil
}
