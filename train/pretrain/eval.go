package pretrain

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cmrfm/cmrfm/train"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Inputs turns a batch into the model's input tensors: clips, ids, mask.
func Inputs(cfg NetConfig, b *Batch) ([]*tensors.Tensor, error) {
	n := len(b.Keys)
	want := cfg.ClipShape(n).Dimensions
	for i, d := range b.ClipDims {
		if want[i] != d {
			return nil, fmt.Errorf("pretrain: clips %v, the video tower wants %v", b.ClipDims, want)
		}
	}
	ts := cfg.TextShape(n)
	return []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(b.Clips, b.ClipDims[:]...),
		tensors.FromFlatDataAndDimensions(b.IDs, ts...),
		tensors.FromFlatDataAndDimensions(b.Mask, ts...),
	}, nil
}

// Embedder runs the towers forward (inference mode: no dropout) on batches
// and returns the embeddings and the batch loss.
type Embedder struct {
	cfg  NetConfig
	exec *model.Exec
}

// NewEmbedder compiles the inference graph over the model in store.
func NewEmbedder(backend compute.Backend, store *model.Store, cfg NetConfig) (*Embedder, error) {
	t := NewTowers(store)
	exec, err := model.NewExec(backend, store, func(_ *model.Scope, xs []*graph.Node) []*graph.Node {
		store.SetTraining(xs[0].Graph(), false)
		train.FeedVariables(store, xs[0].Graph()) // validation runs between updates
		e, l := Loss(t, cfg, xs[0], xs[1], xs[2])
		return []*graph.Node{e.Video, e.Text, l.Loss, l.Raw}
	})
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	return &Embedder{cfg: cfg, exec: exec}, nil
}

// Embed returns the batch's video and text embeddings ([B·D] row-major)
// and its flooded and raw loss.
func (e *Embedder) Embed(b *Batch) (v, u []float32, loss, raw float64, err error) {
	in, err := Inputs(e.cfg, b)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	outs, err := e.exec.Call(in[0], in[1], in[2])
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("pretrain: forward: %w", err)
	}
	v = tensors.MustCopyFlatData[float32](outs[0])
	u = tensors.MustCopyFlatData[float32](outs[1])
	return v, u, float64(tensors.ToScalar[float32](outs[2])), float64(tensors.ToScalar[float32](outs[3])), nil
}

// Validation is the result of one validation pass.
type Validation struct {
	// Loss and RawLoss are means over the batches (each a contrastive
	// batch of the training batch size).
	Loss, RawLoss float64
	Batches       int
	// Retrieval over every validation pair, in pools of RecallPool.
	Retrieval Retrieval
}

// Validate embeds up to maxBatches batches (0: all) of loader's epoch 0
// and scores them.
func (e *Embedder) Validate(ctx context.Context, l *Loader, maxBatches, pool int) (*Validation, error) {
	ep := l.Epoch(ctx, 0, 0)
	defer ep.Close()
	var vs, us []float32
	res := &Validation{}
	for maxBatches <= 0 || res.Batches < maxBatches {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, _, err := ep.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		v, u, loss, raw, err := e.Embed(b)
		if err != nil {
			return nil, err
		}
		vs, us = append(vs, v...), append(us, u...)
		res.Loss += loss
		res.RawLoss += raw
		res.Batches++
	}
	if res.Batches == 0 {
		return nil, fmt.Errorf("pretrain: validation: not one full batch of %d studies", l.BatchSize)
	}
	res.Loss /= float64(res.Batches)
	res.RawLoss /= float64(res.Batches)
	n := len(vs) / e.cfg.EmbedDim
	r, err := Recall(vs, us, n, e.cfg.EmbedDim, []int{1, 5}, pool)
	if err != nil {
		return nil, err
	}
	res.Retrieval = r
	return res, nil
}
