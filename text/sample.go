package text

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
)

// SamplerOptions configures a Sampler. The zero value samples 5 sentences
// into 128 tokens with seed 0, in report order.
type SamplerOptions struct {
	// K is the number of sentences drawn per study and step (0 means 5, the
	// paper's value). A report with fewer sentences gives all of them.
	K int
	// MaxLength is the model's text length in tokens, [CLS] and [SEP]
	// included (0 means 128); longer draws are cut, keeping [SEP].
	MaxLength int
	// Seed makes the draws reproducible.
	Seed uint64
	// Shuffle keeps the sentences in the order drawn; by default they are
	// put back in report order.
	Shuffle bool
}

// Sampler draws the text input of contrastive pretraining (docs/reference.md
// §3.7): for a study and a training step, K sentences of its report chosen
// uniformly at random without replacement, their ids concatenated and framed
// as one BERT input of MaxLength tokens with its attention mask. The draw
// depends only on (Seed, step, study key), so it is the same whatever the
// batch order, worker count or restart point. A Sampler is safe for
// concurrent use.
type Sampler struct {
	idx           *Index
	opts          SamplerOptions
	cls, sep, pad int32
}

// NewSampler returns a sampler over an index.
func NewSampler(idx *Index, o SamplerOptions) (*Sampler, error) {
	if idx == nil {
		return nil, fmt.Errorf("text: sampler: no index")
	}
	if o.K == 0 {
		o.K = 5
	}
	if o.MaxLength == 0 {
		o.MaxLength = 128
	}
	if o.K < 0 {
		return nil, fmt.Errorf("text: sampler: K %d: want > 0", o.K)
	}
	if o.MaxLength < 2 {
		return nil, fmt.Errorf("text: sampler: MaxLength %d: want at least 2 ([CLS] and [SEP])", o.MaxLength)
	}
	t := idx.Tokenizer
	return &Sampler{idx: idx, opts: o, cls: t.ClsID, sep: t.SepID, pad: t.PadID}, nil
}

// Options returns the sampler's options with defaults filled in.
func (s *Sampler) Options() SamplerOptions { return s.opts }

// Choose returns the indices of the sentences drawn for a study at a step.
func (s *Sampler) Choose(key string, step int64) ([]int, error) {
	rep, ok := s.idx.Studies[key]
	if !ok {
		return nil, fmt.Errorf("text: sampler: no report for study %q", key)
	}
	n := len(rep.Sentences)
	k := min(s.opts.K, n)
	h := fnv.New64a()
	h.Write([]byte(key))
	rng := rand.New(rand.NewPCG(s.opts.Seed^h.Sum64(), uint64(step)))
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := range k { // partial Fisher–Yates
		j := i + rng.IntN(n-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	chosen := perm[:k]
	if !s.opts.Shuffle {
		slices.Sort(chosen)
	}
	return chosen, nil
}

// SampleTo writes the draw for a study at a step into ids and mask (each
// MaxLength long) and returns the number of real tokens.
func (s *Sampler) SampleTo(ids, mask []int32, key string, step int64) (int, error) {
	L := s.opts.MaxLength
	if len(ids) != L || len(mask) != L {
		return 0, fmt.Errorf("text: sampler: rows of %d and %d tokens, want %d", len(ids), len(mask), L)
	}
	chosen, err := s.Choose(key, step)
	if err != nil {
		return 0, err
	}
	rep := s.idx.Studies[key]
	ids[0] = s.cls
	n := 1
	for _, c := range chosen {
		n += copy(ids[n:L-1], rep.IDs[c])
		if n == L-1 {
			break
		}
	}
	ids[n] = s.sep
	n++
	for i := range L {
		mask[i] = 0
		if i < n {
			mask[i] = 1
		} else {
			ids[i] = s.pad
		}
	}
	return n, nil
}

// Sample returns the draw for a study at a step.
func (s *Sampler) Sample(key string, step int64) (Encoding, error) {
	e := Encoding{IDs: make([]int32, s.opts.MaxLength), AttentionMask: make([]int32, s.opts.MaxLength)}
	if _, err := s.SampleTo(e.IDs, e.AttentionMask, key, step); err != nil {
		return Encoding{}, err
	}
	return e, nil
}

// Batch returns the draws for several studies at one step as row-major
// [len(keys), MaxLength] ids and attention mask, ready for a model input.
func (s *Sampler) Batch(keys []string, step int64) (ids, mask []int32, err error) {
	L := s.opts.MaxLength
	ids, mask = make([]int32, len(keys)*L), make([]int32, len(keys)*L)
	for i, k := range keys {
		if _, err := s.SampleTo(ids[i*L:(i+1)*L], mask[i*L:(i+1)*L], k, step); err != nil {
			return nil, nil, err
		}
	}
	return ids, mask, nil
}
