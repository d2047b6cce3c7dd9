package retrieval

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/gomlx/compute"
)

// Match is one search result.
type Match struct {
	Rank  int     `json:"rank"`
	Key   string  `json:"key"`
	Score float32 `json:"score"`
	// Split is the study's split (studies; reports of embedded studies).
	Split string `json:"split,omitempty"`
	// Text is the start of a report (when the searcher has the report
	// index).
	Text string `json:"text,omitempty"`
}

// Result is a query's nearest studies (video embeddings) and nearest
// reports (text embeddings), best first, scored by cosine similarity.
type Result struct {
	Query   string  `json:"query,omitempty"`
	Study   string  `json:"study,omitempty"`
	Studies []Match `json:"studies"`
	Reports []Match `json:"reports"`
}

// SearchOptions configures a Searcher.
type SearchOptions struct {
	// Embeddings is a cmrfm embed file; File, if set, is used instead.
	Embeddings string
	File       *File
	// Checkpoint and Model give the text tower for text queries (default:
	// the checkpoint recorded in the file; it must be that checkpoint).
	Checkpoint string
	Model      *Model
	// Vocab overrides the file's vocabulary.
	Vocab string
	// ReportText, if set, returns a report's text for display.
	ReportText func(key string) string
	Backend    compute.Backend
	Log        *slog.Logger
}

// Searcher answers text and study queries over an embeddings file with
// exact cosine search (Index).
type Searcher struct {
	o        SearchOptions
	f        *File
	studies  *Index
	reports  *Index
	rowOf    map[string]int
	mu       sync.Mutex
	encoder  *TextEncoder
	splitsOf map[string]string
}

// NewSearcher reads the embeddings file and indexes its study and report
// embeddings.
func NewSearcher(o SearchOptions) (*Searcher, error) {
	f := o.File
	var err error
	if f == nil {
		if f, err = ReadFile(o.Embeddings); err != nil {
			return nil, err
		}
	}
	s := &Searcher{o: o, f: f, rowOf: make(map[string]int, len(f.Studies)), splitsOf: map[string]string{}}
	for i, k := range f.Studies {
		s.rowOf[k] = i
		s.splitsOf[k] = f.Splits[i]
	}
	if s.studies, err = NewIndex(f.StudyEmb, len(f.Studies), f.Dim); err != nil {
		return nil, fmt.Errorf("retrieval: %s: studies: %w", o.Embeddings, err)
	}
	if s.reports, err = NewIndex(f.ReportEmb, len(f.Reports), f.Dim); err != nil {
		return nil, fmt.Errorf("retrieval: %s: reports: %w", o.Embeddings, err)
	}
	return s, nil
}

// File returns the embeddings file searched.
func (s *Searcher) File() *File { return s.f }

// Encoder returns the text encoder (loading the checkpoint on first use).
func (s *Searcher) Encoder() (*TextEncoder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.encoder == nil {
		m, err := textModel(s.f, s.o.Embeddings, s.o.Model, s.o.Checkpoint, s.o.Backend)
		if err != nil {
			return nil, err
		}
		if s.encoder, err = newFileTextEncoder(m, s.f, s.o.Embeddings, s.o.Vocab); err != nil {
			return nil, err
		}
	}
	return s.encoder, nil
}

// Text returns the k studies and k reports nearest to a sentence (embedded
// by the checkpoint's text tower, as a report would be).
func (s *Searcher) Text(query string, k int) (*Result, error) {
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("retrieval: search: empty query")
	}
	enc, err := s.Encoder()
	if err != nil {
		return nil, err
	}
	q, err := enc.Encode([]string{query})
	if err != nil {
		return nil, err
	}
	return s.Vector(q, k, -1, &Result{Query: query})
}

// Study returns the k studies nearest to a study (itself left out) and
// the k reports nearest to its video embedding.
func (s *Searcher) Study(key string, k int) (*Result, error) {
	row, ok := s.rowOf[key]
	if !ok {
		return nil, fmt.Errorf("retrieval: %s: study %q: %w", s.o.Embeddings, key, ErrNoStudy)
	}
	return s.Vector(s.f.Row(s.f.StudyEmb, row), k, row, &Result{Study: key})
}

// Vector fills res with the studies (except row self, when ≥ 0) and
// reports nearest to q.
func (s *Searcher) Vector(q []float32, k int, self int, res *Result) (*Result, error) {
	if k <= 0 {
		return nil, fmt.Errorf("retrieval: search: top %d: want ≥ 1", k)
	}
	extra := 0
	if self >= 0 {
		extra = 1
	}
	hs, err := s.studies.Search(q, k+extra)
	if err != nil {
		return nil, err
	}
	res.Studies = []Match{}
	for _, h := range hs {
		if h.Row == self || len(res.Studies) == k {
			continue
		}
		key := s.f.Studies[h.Row]
		res.Studies = append(res.Studies, Match{Rank: len(res.Studies) + 1, Key: key, Score: h.Score, Split: s.f.Splits[h.Row]})
	}
	res.Reports = []Match{}
	if s.reports.Len() > 0 {
		hr, err := s.reports.Search(q, k)
		if err != nil {
			return nil, err
		}
		for i, h := range hr {
			key := s.f.Reports[h.Row]
			m := Match{Rank: i + 1, Key: key, Score: h.Score, Split: s.splitsOf[key]}
			if s.o.ReportText != nil {
				m.Text = s.o.ReportText(key)
			}
			res.Reports = append(res.Reports, m)
		}
	}
	return res, nil
}
