package retrieval

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/train/data"
	"github.com/cmrfm/cmrfm/train/finetune"
	"github.com/gomlx/compute"
)

//go:embed prompts/*.yaml
var builtinPrompts embed.FS

// BuiltinPrompts names the built-in prompt files ("builtin:NAME").
var BuiltinPrompts = []string{"phantom", "paper"}

// Prompts are zero-shot prompt ensembles, one per label, in file order.
type Prompts struct {
	Labels []LabelPrompts
}

// LabelPrompts are one label's prompts: a study's score is the mean
// cosine of its embedding to Positive minus the mean to Negative.
type LabelPrompts struct {
	Label              string
	Positive, Negative []string
}

// ErrPrompts marks a prompts file that cannot be used.
var ErrPrompts = errors.New("bad prompts")

// LoadPrompts reads a prompts file (YAML; "builtin:phantom" and
// "builtin:paper" are built in):
//
//	labels:
//	  dcm:
//	    positive: [Dilated cardiomyopathy., …]
//	    negative: [Normal left ventricular size and systolic function., …]
//
// Every label needs at least one positive and one negative prompt, and no
// prompt may be empty; errors name the file and the label.
func LoadPrompts(path string) (*Prompts, error) {
	var b []byte
	var err error
	if name, ok := strings.CutPrefix(path, "builtin:"); ok {
		b, err = builtinPrompts.ReadFile("prompts/" + name + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("retrieval: prompts %s: no such built-in prompts (have builtin:%s)", path, strings.Join(BuiltinPrompts, ", builtin:"))
		}
	} else if b, err = os.ReadFile(path); err != nil {
		return nil, fmt.Errorf("retrieval: prompts: %w", err)
	}
	return ParsePrompts(b, path)
}

// ParsePrompts parses prompts YAML; name is used in errors.
func ParsePrompts(b []byte, name string) (*Prompts, error) {
	var doc struct {
		Labels yaml.Node `yaml:"labels"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("retrieval: prompts %s: %w: %v", name, ErrPrompts, err)
	}
	if doc.Labels.Kind != yaml.MappingNode || len(doc.Labels.Content) == 0 {
		return nil, fmt.Errorf("retrieval: prompts %s: %w: no labels (want labels: {NAME: {positive: [...], negative: [...]}})", name, ErrPrompts)
	}
	p := &Prompts{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(doc.Labels.Content); i += 2 {
		label := doc.Labels.Content[i].Value
		var set struct {
			Positive []string `yaml:"positive"`
			Negative []string `yaml:"negative"`
		}
		node := doc.Labels.Content[i+1]
		if node.Kind == yaml.MappingNode {
			for k := 0; k < len(node.Content); k += 2 {
				if key := node.Content[k].Value; key != "positive" && key != "negative" {
					return nil, fmt.Errorf("retrieval: prompts %s: label %s: unknown key %q (want positive and negative): %w", name, label, key, ErrPrompts)
				}
			}
		}
		if err := node.Decode(&set); err != nil {
			return nil, fmt.Errorf("retrieval: prompts %s: label %s: %w: %v", name, label, ErrPrompts, err)
		}
		if seen[label] {
			return nil, fmt.Errorf("retrieval: prompts %s: label %s appears twice: %w", name, label, ErrPrompts)
		}
		seen[label] = true
		for kind, ps := range map[string][]string{"positive": set.Positive, "negative": set.Negative} {
			if len(ps) == 0 {
				return nil, fmt.Errorf("retrieval: prompts %s: label %s has no %s prompt: %w", name, label, kind, ErrPrompts)
			}
			for j, s := range ps {
				if strings.TrimSpace(s) == "" {
					return nil, fmt.Errorf("retrieval: prompts %s: label %s: %s prompt %d is empty: %w", name, label, kind, j+1, ErrPrompts)
				}
			}
		}
		p.Labels = append(p.Labels, LabelPrompts{Label: label, Positive: set.Positive, Negative: set.Negative})
	}
	return p, nil
}

// ZeroShotOptions configures ZeroShot.
type ZeroShotOptions struct {
	// Embeddings is a cmrfm embed file; File, if set, is used instead of
	// reading it.
	Embeddings string
	File       *File
	// Checkpoint holds the text tower (default: the checkpoint the
	// embeddings were made with, as recorded in the file); it must be
	// that checkpoint (same SHA-256). Model, if set, is used instead.
	Checkpoint string
	Model      *Model
	// Vocab overrides the vocabulary named in the embeddings file.
	Vocab string
	// Labels is a dataset index (parent_folder, accession, split, label
	// columns); Split selects its rows ("" or "all": every row).
	Labels, Split string
	// Prompts is a prompts file or "builtin:NAME"; Targets, if set, are
	// the labels to score (default: every label of the prompts file).
	Prompts string
	Targets []string
	// Out is the predictions CSV (one target) or folder (several:
	// <target>/predictions.csv), in cmrfm predict's columns.
	Out     string
	Backend compute.Backend
	Log     *slog.Logger
}

// ZeroShotSummary says what ZeroShot did.
type ZeroShotSummary struct {
	Targets []string
	Studies int
	// Skipped counts rows of the split that embed skipped (no usable
	// clip): they have no prediction.
	Skipped     int
	Files       []string
	Predictions []*finetune.Prediction
	// Scores[i][j] is study i's score for target j (mean cosine to the
	// positive prompts − to the negative ones); Temperature the τ of
	// probs = σ(score/τ).
	Scores      [][]float64
	Temperature float64
}

// ZeroShot scores every study of a split for every label of a prompts
// file without any training (CLIP's zero-shot classification with prompt
// ensembles): score = mean cosine of the study embedding to the label's
// positive prompts − mean cosine to its negative prompts, and probs =
// σ(score/τ) with the checkpoint's temperature (the two-way softmax of
// the mean positive and negative logits). It writes the columns of cmrfm
// predict (filenames, probs, labels, views, softmax_attn, attn_2CH …
// attn_SAX — the attention columns hold the pooling weights of each clip
// in the study embedding), so cmrfm evaluate classification reads the
// output unchanged.
func ZeroShot(ctx context.Context, o ZeroShotOptions) (*ZeroShotSummary, error) {
	f := o.File
	var err error
	if f == nil {
		if f, err = ReadFile(o.Embeddings); err != nil {
			return nil, err
		}
	}
	prompts, err := LoadPrompts(o.Prompts)
	if err != nil {
		return nil, err
	}
	sets := prompts.Labels
	if len(o.Targets) > 0 {
		sets = nil
		for _, t := range o.Targets {
			found := false
			for _, s := range prompts.Labels {
				if s.Label == t {
					sets, found = append(sets, s), true
				}
			}
			if !found {
				return nil, fmt.Errorf("retrieval: prompts %s have no label %q", o.Prompts, t)
			}
		}
	}
	if o.Labels == "" {
		return nil, fmt.Errorf("retrieval: zero-shot needs a labels file (dataset index)")
	}
	fi, err := os.Open(o.Labels)
	if err != nil {
		return nil, fmt.Errorf("retrieval: labels: %w", err)
	}
	idx, err := store.ReadIndex(fi)
	fi.Close()
	if err != nil {
		return nil, fmt.Errorf("retrieval: %s: %w", o.Labels, err)
	}
	var missing []string
	for _, s := range sets {
		if !contains(idx.Columns, s.Label) {
			missing = append(missing, s.Label)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("retrieval: labels %s: no column %s (columns: %s); choose targets with labels the file has",
			o.Labels, strings.Join(missing, ", "), strings.Join(idx.Columns, ", "))
	}
	rows := idx.Rows
	if o.Split != "" && o.Split != "all" {
		rows = idx.Filter(o.Split)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("retrieval: labels %s: no rows of split %q", o.Labels, o.Split)
	}

	m, err := textModel(f, o.Embeddings, o.Model, o.Checkpoint, o.Backend)
	if err != nil {
		return nil, err
	}
	enc, err := newFileTextEncoder(m, f, o.Embeddings, o.Vocab)
	if err != nil {
		return nil, err
	}
	// Every prompt once, in one pass.
	var texts []string
	for _, s := range sets {
		texts = append(texts, s.Positive...)
		texts = append(texts, s.Negative...)
	}
	pe, err := enc.Encode(texts)
	if err != nil {
		return nil, fmt.Errorf("retrieval: prompts %s: %w", o.Prompts, err)
	}
	d := f.Dim
	// Each label's mean positive and mean negative prompt embedding: the
	// mean cosine to a set is the dot product with its mean.
	type means struct{ pos, neg []float64 }
	ms := make([]means, len(sets))
	at := 0
	for j, s := range sets {
		avg := func(n int) []float64 {
			a := make([]float64, d)
			for i := at; i < at+n; i++ {
				for c := range d {
					a[c] += float64(pe[i*d+c]) / float64(n)
				}
			}
			at += n
			return a
		}
		ms[j].pos = avg(len(s.Positive))
		ms[j].neg = avg(len(s.Negative))
	}

	studyRow := make(map[string]int, len(f.Studies))
	for i, k := range f.Studies {
		studyRow[k] = i
	}
	skipped := make(map[string]bool, len(f.SkippedStudies))
	for _, k := range f.SkippedStudies {
		skipped[k] = true
	}
	clipsOf := make([][]int, len(f.Studies))
	for i, s := range f.ClipStudy {
		clipsOf[s] = append(clipsOf[s], i)
	}
	tau := m.MC.Temperature
	sum := &ZeroShotSummary{Temperature: tau}
	for _, s := range sets {
		sum.Targets = append(sum.Targets, s.Label)
	}
	var absent []string
	for _, row := range rows {
		key := row.Filename()
		si, ok := studyRow[key]
		if !ok {
			if skipped[key] {
				sum.Skipped++
				continue
			}
			absent = append(absent, key)
			continue
		}
		v := f.Row(f.StudyEmb, si)
		p := &finetune.Prediction{Key: key}
		scores := make([]float64, len(sets))
		for j := range sets {
			sp, sn := 0.0, 0.0
			for c := range d {
				sp += float64(v[c]) * ms[j].pos[c]
				sn += float64(v[c]) * ms[j].neg[c]
			}
			scores[j] = sp - sn
			p.Pred = append(p.Pred, 1/(1+math.Exp(-scores[j]/tau)))
			lv, ok := row.Float(sets[j].Label)
			if !ok {
				lv = math.NaN()
			}
			p.Labels = append(p.Labels, lv)
		}
		for _, ci := range clipsOf[si] {
			p.Clips = append(p.Clips, data.ClipRef{View: cine.View(f.ClipView[ci]), Slice: int(f.ClipSlice[ci]),
				Start: int(f.ClipStart[ci]), End: int(f.ClipEnd[ci])})
		}
		p.Attention = poolingWeights(f.Settings.Pooling, p.Clips)
		sum.Predictions = append(sum.Predictions, p)
		sum.Scores = append(sum.Scores, scores)
	}
	if len(absent) > 0 {
		return nil, fmt.Errorf("retrieval: %d studies of %s (split %q) are not in %s, e.g. %s: %w (embed that split of that store)",
			len(absent), o.Labels, o.Split, o.Embeddings, absent[0], ErrNoStudy)
	}
	if len(sum.Predictions) == 0 {
		return nil, fmt.Errorf("retrieval: no study of %s (split %q) has an embedding", o.Labels, o.Split)
	}
	sum.Studies = len(sum.Predictions)
	if o.Out != "" {
		files, err := finetune.WriteTables(o.Out, finetune.TaskClassification, sum.Targets, sum.Predictions)
		if err != nil {
			return nil, err
		}
		sum.Files = files
	}
	return sum, ctx.Err()
}

// poolingWeights are the weights of a study's clips in its embedding
// under a pooling rule (summing to 1): views gives each view an equal
// share split among its clips, clips weighs every clip equally, view:V
// weighs V's clips equally and the others 0.
func poolingWeights(pool string, clips []data.ClipRef) []float64 {
	w := make([]float64, len(clips))
	per := map[cine.View]int{}
	for _, c := range clips {
		per[c.View]++
	}
	only, single := strings.CutPrefix(pool, PoolViewPrefix)
	for i, c := range clips {
		switch {
		case single:
			if string(c.View) == only {
				w[i] = 1 / float64(per[c.View])
			}
		case pool == PoolClips:
			w[i] = 1 / float64(len(clips))
		default:
			w[i] = 1 / float64(len(per)) / float64(per[c.View])
		}
	}
	return w
}

// textModel returns the text tower for an embeddings file: the model given,
// the checkpoint named, or the one the file records — always checked to be
// the checkpoint the file was embedded with.
func textModel(f *File, path string, m *Model, checkpoint string, backend compute.Backend) (*Model, error) {
	if m == nil {
		ck := checkpoint
		if ck == "" {
			ck = f.Checkpoint
		}
		if ck == "" {
			return nil, fmt.Errorf("retrieval: %s does not name its checkpoint; give the pretraining checkpoint", path)
		}
		var err error
		if m, err = LoadModel(ck, backend); err != nil {
			if checkpoint == "" {
				return nil, fmt.Errorf("%w (the checkpoint %s recorded; give its current path)", err, path)
			}
			return nil, err
		}
	}
	if m.SHA256 != f.CheckpointSHA256 {
		return nil, fmt.Errorf("retrieval: %s was embedded with checkpoint %s (sha256 %s), but the text tower comes from %s (sha256 %s): "+
			"text and video embeddings of different checkpoints are not comparable; embed again or use that checkpoint",
			path, f.Checkpoint, short(f.CheckpointSHA256), m.Path, short(m.SHA256))
	}
	if m.Dim() != f.Dim {
		return nil, fmt.Errorf("retrieval: %s holds %d-d embeddings, the checkpoint %d-d", path, f.Dim, m.Dim())
	}
	return m, nil
}

// newFileTextEncoder builds the text encoder with the file's tokenizer
// and splitter (or the vocabulary given, for files embedded without
// reports).
func newFileTextEncoder(m *Model, f *File, path, vocab string) (*TextEncoder, error) {
	info := TextInfo{}
	if f.Text != nil {
		info = *f.Text
	} else if vocab == "" {
		return nil, fmt.Errorf("retrieval: %s was embedded without a report index, so it does not record the tokenizer: give the vocabulary (e.g. builtin:pubmedbert)", path)
	}
	return NewTextEncoder(m, info, vocab)
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// BuiltinPromptsYAML returns a built-in prompts file ("phantom",
// "paper"), to print and adapt.
func BuiltinPromptsYAML(name string) ([]byte, error) {
	b, err := builtinPrompts.ReadFile("prompts/" + strings.TrimPrefix(name, "builtin:") + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("retrieval: no built-in prompts %q (have %s)", name, strings.Join(BuiltinPrompts, ", "))
	}
	return b, nil
}
