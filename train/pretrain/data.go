package pretrain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/text"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/data"
)

// TextBatcher turns study keys into the text input of one batch: k
// sentences per report drawn by text.Sampler (uniformly without
// replacement, reproducible from (seed, draw, key)), laid out as
// NetConfig.TextShape says.
type TextBatcher struct {
	sampler *text.Sampler
	idx     *text.Index
	cfg     NetConfig
	// pairs, when set, maps a study key to the key whose report it gets
	// (the mismatched control).
	pairs map[string]string
}

// TextOptions configures a TextBatcher.
type TextOptions struct {
	// Seed of the sentence draws.
	Seed uint64
	// Shuffle keeps the sentences in drawn order (default: report order).
	Shuffle bool
}

// NewTextBatcher returns a batcher over a report index.
func NewTextBatcher(idx *text.Index, cfg NetConfig, o TextOptions) (*TextBatcher, error) {
	length := cfg.MaxLength
	if cfg.TextInput == TextMean {
		length = cfg.SentenceLength
	}
	s, err := text.NewSampler(idx, text.SamplerOptions{K: cfg.Sentences, MaxLength: length, Seed: o.Seed, Shuffle: o.Shuffle})
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	if idx.Tokenizer.VocabSize > cfg.Text.VocabSize {
		return nil, fmt.Errorf("pretrain: the report index's vocabulary has %d tokens, the text tower only %d embeddings", idx.Tokenizer.VocabSize, cfg.Text.VocabSize)
	}
	return &TextBatcher{sampler: s, idx: idx, cfg: cfg}, nil
}

// Derange pairs every study of keys with another study's report, by a
// random cyclic permutation (Sattolo's algorithm: no study keeps its own
// report) seeded by seed: the mismatched-pairs control.
func (tb *TextBatcher) Derange(keys []string, seed uint64) {
	n := len(keys)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, 0xde7a9e))
	for i := n - 1; i > 0; i-- {
		j := rng.IntN(i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	tb.pairs = make(map[string]string, n)
	for i, k := range keys {
		tb.pairs[k] = keys[perm[i]]
	}
}

// Batch returns the ids and attention mask for keys at a draw (pretraining
// uses the epoch: every epoch draws new sentences for every study).
func (tb *TextBatcher) Batch(keys []string, draw int64) (ids, mask []int32, err error) {
	if tb.pairs != nil {
		mapped := make([]string, len(keys))
		for i, k := range keys {
			p, ok := tb.pairs[k]
			if !ok {
				return nil, nil, fmt.Errorf("pretrain: study %q is not among the deranged studies", k)
			}
			mapped[i] = p
		}
		keys = mapped
	}
	if tb.cfg.TextInput == TextConcat {
		return tb.sampler.Batch(keys, draw)
	}
	k, l := tb.cfg.Sentences, tb.cfg.SentenceLength
	ids, mask = make([]int32, len(keys)*k*l), make([]int32, len(keys)*k*l)
	t := tb.idx.Tokenizer
	for i, key := range keys {
		chosen, err := tb.sampler.Choose(key, draw)
		if err != nil {
			return nil, nil, err
		}
		rep := tb.idx.Studies[key]
		for j := range k {
			row := (i*k + j) * l
			ri, rm := ids[row:row+l], mask[row:row+l]
			for p := range l {
				ri[p] = t.PadID
			}
			if j >= len(chosen) {
				continue // fewer sentences than k: an empty, masked slot
			}
			s := rep.IDs[chosen[j]]
			n := min(len(s), l-2)
			ri[0] = t.ClsID
			copy(ri[1:], s[:n])
			ri[n+1] = t.SepID
			for p := range n + 2 {
				rm[p] = 1
			}
		}
	}
	return ids, mask, nil
}

// Batch is one training or validation batch.
type Batch struct {
	Keys     []string
	Clips    []float32 // ClipDims
	ClipDims [5]int
	IDs      []int32 // NetConfig.TextShape
	Mask     []int32
	// Next is the epoch position after this batch's last study: where a
	// resumed run continues.
	Next int
}

// StudyKeys names the batch's studies (logged when a batch is skipped).
func (b *Batch) StudyKeys() []string { return b.Keys }

// Loader assembles batches of one clip and one report draw per study. It
// is the train.Source of pretraining: positions count studies of the
// epoch's order, Len counts batches.
type Loader struct {
	Clips *data.ClipDataset
	Text  *TextBatcher
	// BatchSize studies per batch; an epoch's incomplete last batch is
	// dropped (the reference's drop_last).
	BatchSize int
	// Workers and Depth size the prefetch (data.PrefetchOptions).
	Workers, Depth int
	// Shuffle visits the studies in data.Permutation order (training);
	// otherwise in row order (validation).
	Shuffle bool
	// Channels is the video tower's input channel count: single-channel
	// stores (ingest --channels 1) are repeated to it, as the reference's
	// three identical grey channels.
	Channels int
	Log      *slog.Logger
}

// Len is the number of full batches of an epoch (train.Source).
func (l *Loader) Len() int { return l.Clips.Len() / l.BatchSize }

// Open starts epoch epoch at position pos (train.Source).
func (l *Loader) Open(ctx context.Context, epoch, pos int) (train.Iterator[*Batch], error) {
	return l.Epoch(ctx, epoch, pos), nil
}

// Epoch streams an epoch's batches, starting at position start of the
// epoch's order (0, or a checkpoint's Batch.Next). It is a train.Iterator.
type Epoch struct {
	l       *Loader
	epoch   int
	order   []int
	stream  *data.Stream[*data.ClipSample]
	skipped int
}

// Epoch starts loading an epoch.
func (l *Loader) Epoch(ctx context.Context, epoch, start int) *Epoch {
	n := l.Clips.Len()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if l.Shuffle {
		order = data.Permutation(l.Clips.Seed, epoch, n)
	}
	e := &Epoch{l: l, epoch: epoch, order: order}
	e.stream = data.Prefetch(ctx, n, func(_ context.Context, p int) (*data.ClipSample, error) {
		return l.Clips.Load(epoch, order[p])
	}, data.PrefetchOptions{Workers: l.Workers, Depth: l.Depth, Start: start})
	return e
}

// Next returns the next full batch and the position after it (Batch.Next),
// or io.EOF when fewer than BatchSize studies remain. Studies with no
// usable clip are skipped (logged and counted); other load errors end the
// epoch with the error.
func (e *Epoch) Next() (*Batch, int, error) {
	b, err := e.next()
	if err != nil {
		return nil, 0, err
	}
	return b, b.Next, nil
}

func (e *Epoch) next() (*Batch, error) {
	var clips []*data.ClipData
	var keys []string
	next := 0
	for len(clips) < e.l.BatchSize {
		s, pos, err := e.stream.Next()
		if err == io.EOF {
			return nil, io.EOF
		}
		next = pos + 1
		if err != nil {
			if errors.Is(err, data.ErrNoClip) {
				e.skipped++
				if e.l.Log != nil {
					e.l.Log.Warn("study skipped", "position", pos, "reason", err)
				}
				continue
			}
			return nil, err
		}
		c := s.Clip
		if c.C == 1 && e.l.Channels > 1 {
			c = &data.ClipData{C: e.l.Channels, T: c.T, H: c.H, W: c.W, Shared: true, Data: c.Data}
		}
		clips = append(clips, c)
		keys = append(keys, s.Key)
	}
	flat, dims, err := data.StackClips(clips)
	if err != nil {
		return nil, err
	}
	ids, mask, err := e.l.Text.Batch(keys, int64(e.epoch))
	if err != nil {
		return nil, err
	}
	return &Batch{Keys: keys, Clips: flat, ClipDims: dims, IDs: ids, Mask: mask, Next: next}, nil
}

// Skipped is the number of studies skipped so far for want of a clip.
func (e *Epoch) Skipped() int { return e.skipped }

// Wait is the time the consumer has waited for data so far.
func (e *Epoch) Wait() time.Duration { return e.stream.Stats().Wait }

// Stats returns the prefetch statistics.
func (e *Epoch) Stats() data.PrefetchStats { return e.stream.Stats() }

// Close stops the loaders.
func (e *Epoch) Close() { e.stream.Close() }

// PairedRows returns the rows of split (every row when split is "" or
// "all") that have a report in idx, and how many were dropped for having
// none.
func PairedRows(index *store.Index, split string, idx *text.Index) (rows []store.IndexRow, noReport int) {
	all := index.Rows
	if split != "" && split != "all" {
		all = index.Filter(split)
	}
	for _, r := range all {
		if _, ok := idx.Studies[r.Filename()]; ok {
			rows = append(rows, r)
		} else {
			noReport++
		}
	}
	return rows, noReport
}
