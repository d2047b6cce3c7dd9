package finetune

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/data"
	"github.com/gomlx/gomlx/core/tensors"
)

// Batch is one micro-batch of bags in the form the graphs take.
type Batch struct {
	*data.BagBatch
	// Targets [B, Classes] with missing labels set to 0, and LabelMask
	// [B, Classes] 1 where the label is present.
	Targets, LabelMask []float32
	// Skipped lists studies left out of this batch because they gave no
	// usable clip (the reference substitutes a random other study).
	Skipped []string
}

// StudyKeys names the batch's studies (logged when a batch is skipped).
func (b *Batch) StudyKeys() []string { return b.Keys }

// Inputs returns the graph inputs: clips [K, C, T, H, W], gather [B, N]
// int32, mask [B, N], targets and label mask [B, Classes].
func (b *Batch) Inputs() []*tensors.Tensor {
	d := b.ClipDims
	nb := len(b.Keys)
	gather := make([]int32, len(b.Gather))
	copy(gather, b.Gather)
	classes := len(b.Targets) / nb
	return []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(b.Clips, d[0], d[1], d[2], d[3], d[4]),
		tensors.FromFlatDataAndDimensions(gather, nb, b.MaxInstances),
		tensors.FromFlatDataAndDimensions(b.Mask, nb, b.MaxInstances),
		tensors.FromFlatDataAndDimensions(b.Targets, nb, classes),
		tensors.FromFlatDataAndDimensions(b.LabelMask, nb, classes),
	}
}

// newBatch pads bags into a batch: exactly sized (pad false) or to
// maxInstances slots per bag and batchSize·maxInstances clips.
func newBatch(bags []*data.BagSample, pad bool, maxInstances, batchSize int) (*Batch, error) {
	var bb *data.BagBatch
	var err error
	if pad {
		bb, err = data.PadBags(bags, maxInstances, batchSize*maxInstances)
	} else {
		n := 0
		for _, b := range bags {
			n = max(n, len(b.Clips))
		}
		bb, err = data.PadBags(bags, n, 0)
	}
	if err != nil {
		return nil, err
	}
	b := &Batch{BagBatch: bb, Targets: make([]float32, len(bb.Targets)), LabelMask: make([]float32, len(bb.Targets))}
	for i, v := range bb.Targets {
		if !math.IsNaN(float64(v)) {
			b.Targets[i], b.LabelMask[i] = v, 1
		}
	}
	return b, nil
}

// withChannels gives single-channel clips the encoder's channel count
// (identical copies, as the reference's three grey channels).
func withChannels(s *data.BagSample, channels int) {
	for i, c := range s.Clips {
		if c.C == 1 && channels > 1 {
			s.Clips[i] = &data.ClipData{C: channels, T: c.T, H: c.H, W: c.W, Shared: true, Data: c.Data}
		}
	}
}

// bagSource is the training data: each epoch a seeded permutation of the
// studies, cut into batches of BatchSize bags (positions count batches),
// loaded in parallel ahead of the model.
type bagSource struct {
	ds             *data.BagDataset
	batch, maxInst int
	pad            bool
	channels       int
	workers, depth int
	seed           uint64
	log            *slog.Logger
	skipped        atomic.Int64
}

func (s *bagSource) Len() int { return (s.ds.Len() + s.batch - 1) / s.batch }

func (s *bagSource) Open(ctx context.Context, epoch, pos int) (train.Iterator[*Batch], error) {
	order := data.Permutation(s.seed, epoch, s.ds.Len())
	st := data.Prefetch(ctx, len(order), func(_ context.Context, p int) (*data.BagSample, error) {
		b, err := s.ds.Load(epoch, order[p])
		if err == nil {
			withChannels(b, s.channels)
		}
		return b, err
	}, data.PrefetchOptions{Workers: s.workers, Depth: s.depth, Start: pos * s.batch})
	return &bagIter{s: s, st: st, ctx: ctx, pos: pos, n: len(order)}, nil
}

type bagIter struct {
	s   *bagSource
	st  *data.Stream[*data.BagSample]
	ctx context.Context
	pos int // next batch
	n   int // studies
}

func (it *bagIter) Next() (*Batch, int, error) {
	for {
		if it.pos*it.s.batch >= it.n {
			return nil, it.pos, io.EOF
		}
		end := min((it.pos+1)*it.s.batch, it.n)
		var bags []*data.BagSample
		var skipped []string
		for p := it.pos * it.s.batch; p < end; p++ {
			b, _, err := it.st.Next()
			if errors.Is(err, io.EOF) {
				if e := it.ctx.Err(); e != nil {
					return nil, it.pos, e
				}
				return nil, it.pos, fmt.Errorf("finetune: data stream ended early at study %d of %d", p, it.n)
			}
			if err != nil {
				// An unreadable study is left out, like an empty bag, and
				// said so (the reference substitutes another study).
				it.s.skipped.Add(1)
				if it.s.log != nil {
					it.s.log.Warn("study could not be loaded; left out", "err", err)
				}
				continue
			}
			if len(b.Clips) == 0 {
				skipped = append(skipped, b.Key)
				it.s.skipped.Add(1)
				if it.s.log != nil {
					it.s.log.Warn("study without a usable clip left out", "study", b.Key, "why", skipReasons(b.Skipped))
				}
				continue
			}
			bags = append(bags, b)
		}
		it.pos++
		if len(bags) == 0 {
			continue
		}
		bt, err := newBatch(bags, it.s.pad, it.s.maxInst, it.s.batch)
		if err != nil {
			return nil, it.pos, fmt.Errorf("finetune: %w", err)
		}
		bt.Skipped = skipped
		return bt, it.pos, nil
	}
}

func (it *bagIter) Close() { it.st.Close() }

func skipReasons(sk []data.Skip) string {
	var out []string
	for _, s := range sk {
		out = append(out, fmt.Sprintf("%s: %s", s.View, s.Reason))
	}
	if len(out) == 0 {
		return "no wanted view"
	}
	return strings.Join(out, "; ")
}

// ReadIndex reads the dataset index of c (data.index, or <store>/index.csv).
func ReadIndex(storeRoot, indexPath string) (*store.Index, error) {
	if indexPath == "" {
		indexPath = filepath.Join(storeRoot, "index.csv")
	}
	f, err := os.Open(indexPath)
	if err != nil {
		return nil, fmt.Errorf("finetune: dataset index: %w", err)
	}
	defer f.Close()
	idx, err := store.ReadIndex(f)
	if err != nil {
		return nil, fmt.Errorf("finetune: %s: %w", indexPath, err)
	}
	return idx, nil
}
