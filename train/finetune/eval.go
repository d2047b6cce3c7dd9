package finetune

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/model/heads"
	"github.com/cmrfm/cmrfm/model/mvit"
	"github.com/cmrfm/cmrfm/stats"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/data"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Prediction is the model's output for one study.
type Prediction struct {
	// Key is the reference's file name (parent_folder-accession); Index
	// the study's row among the rows predicted.
	Key   string
	Index int
	// Pred holds, per target, the LVEF in percent (regression) or the
	// probability (classification); Logits the raw outputs.
	Pred, Logits []float64
	// Labels per target (NaN when missing).
	Labels []float64
	// Clips are the bag's clips in bag order; Attention their softmax
	// attention (summing to 1).
	Clips     []cine.Clip
	Attention []float64
	// Study is the attention-weighted mean of the clip embeddings
	// [EmbedDim]; Pooled the head's pooled features [Hidden] (the
	// reference's M); Views the clip embeddings [clips][EmbedDim].
	Study, Pooled []float32
	Views         [][]float32
}

// Evaluator runs the network in inference mode (no dropout) on studies,
// one bag at a time.
type Evaluator struct {
	net  *Net
	exec *model.Exec
	// Channels is the encoder's input channel count.
	Channels int
	// ClipBatch > 0 encodes a bag's clips in chunks of ClipBatch (the last
	// one padded) through one compiled encoder graph, then runs the
	// projection and head on the features; 0 runs the whole bag as one
	// graph (one compilation per bag size). Full-size encoders want 1: one
	// MViT-B graph instead of one per bag size, and the memory of one clip's
	// activations instead of a whole bag's (see [AutoClipBatch]).
	ClipBatch int
	backend   compute.Backend
	enc, head *model.Exec
}

// NewEvaluator builds the inference graph over net's variables.
func NewEvaluator(backend compute.Backend, net *Net) (*Evaluator, error) {
	e, err := model.NewExec(backend, net.Store, func(_ *model.Scope, clips, gather, mask *graph.Node) []*graph.Node {
		net.Store.SetTraining(clips.Graph(), false)
		train.FeedVariables(net.Store, clips.Graph()) // validation runs between updates
		o := net.Forward(clips, gather, mask)
		return []*graph.Node{o.Prediction, o.Logits, o.Attention, o.Study, o.Pooled, o.Embeddings}
	})
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	e.SetMaxCache(128)
	return &Evaluator{net: net, exec: e, Channels: net.Cfg.Video.InChannels, backend: backend}, nil
}

// AutoClipBatch is the ClipBatch predict uses by default: 1 for encoders of
// at least MViT-B's input size (16×224×224), 0 (whole bags) for the small
// presets, whose per-graph overhead batching amortises.
func AutoClipBatch(cfg NetConfig) int {
	if cfg.Video.Frames*cfg.Video.Height*cfg.Video.Width >= 16*224*224 {
		return 1
	}
	return 0
}

// outputs runs the network on one bag: as one graph over the padded bag,
// or (ClipBatch > 0) the encoder over chunks of the bag's clips, copied
// straight from the samples, and then the head on their features.
func (e *Evaluator) outputs(s *data.BagSample) ([]*tensors.Tensor, error) {
	if e.ClipBatch <= 0 {
		b, err := newBatch([]*data.BagSample{s}, false, 0, 1)
		if err != nil {
			return nil, err
		}
		in := b.Inputs()
		return e.exec.Exec(in[0], in[1], in[2])
	}
	if err := e.chunkExecs(); err != nil {
		return nil, err
	}
	k := len(s.Clips)
	if k == 0 {
		return nil, fmt.Errorf("finetune: %s: no clip to encode", s.Key)
	}
	c0 := s.Clips[0]
	per := c0.C * c0.T * c0.H * c0.W
	chunk := make([]float32, e.ClipBatch*per)
	var features []float32
	fd := 0
	for i := 0; i < k; i += e.ClipBatch {
		n := min(e.ClipBatch, k-i)
		for j, c := range s.Clips[i : i+n] {
			if c.C != c0.C || c.T != c0.T || c.H != c0.H || c.W != c0.W {
				return nil, fmt.Errorf("finetune: %s: clip %d is %dx%dx%dx%d, clip 0 %dx%dx%dx%d",
					s.Key, i+j, c.C, c.T, c.H, c.W, c0.C, c0.T, c0.H, c0.W)
			}
			copy(chunk[j*per:(j+1)*per], c.Expand().Data)
		}
		clear(chunk[n*per:])
		f, err := e.enc.Exec1(tensors.FromFlatDataAndDimensions(chunk, e.ClipBatch, c0.C, c0.T, c0.H, c0.W))
		if err != nil {
			return nil, err
		}
		fd = f.Shape().Dimensions[1]
		features = append(features, tensors.MustCopyFlatData[float32](f)[:n*fd]...)
	}
	gather, mask := make([]int32, k), make([]float32, k)
	for i := range gather {
		gather[i], mask[i] = int32(i), 1
	}
	return e.head.Exec(tensors.FromFlatDataAndDimensions(features, k, fd),
		tensors.FromFlatDataAndDimensions(gather, 1, k), tensors.FromFlatDataAndDimensions(mask, 1, k))
}

// chunkExecs builds the encoder-only and head-only graphs of the chunked
// path.
func (e *Evaluator) chunkExecs() error {
	if e.enc != nil {
		return nil
	}
	net := e.net
	enc, err := model.NewExec(e.backend, net.Store, func(_ *model.Scope, clips *graph.Node) *graph.Node {
		net.Store.SetTraining(clips.Graph(), false)
		train.FeedVariables(net.Store, clips.Graph())
		return mvit.Encode(net.Encoder, net.Cfg.Video, clips).Features
	})
	if err != nil {
		return fmt.Errorf("finetune: %w", err)
	}
	head, err := model.NewExec(e.backend, net.Store, func(_ *model.Scope, features, gather, mask *graph.Node) []*graph.Node {
		net.Store.SetTraining(features.Graph(), false)
		train.FeedVariables(net.Store, features.Graph())
		o := net.FromFeatures(features, gather, mask)
		return []*graph.Node{o.Prediction, o.Logits, o.Attention, o.Study, o.Pooled, o.Embeddings}
	})
	if err != nil {
		return fmt.Errorf("finetune: %w", err)
	}
	head.SetMaxCache(128)
	e.enc, e.head = enc, head
	return nil
}

// Predict runs one loaded bag.
func (e *Evaluator) Predict(s *data.BagSample) (*Prediction, error) {
	withChannels(s, e.Channels)
	outs, err := e.outputs(s)
	if err != nil {
		return nil, fmt.Errorf("finetune: %s: %w", s.Key, err)
	}
	f32 := func(i int) []float32 { return tensors.MustCopyFlatData[float32](outs[i]) }
	p := &Prediction{Key: s.Key, Index: s.Index, Clips: s.Refs, Study: f32(3), Pooled: f32(4)}
	for _, v := range f32(0) {
		p.Pred = append(p.Pred, float64(v))
	}
	for _, v := range f32(1) {
		p.Logits = append(p.Logits, float64(v))
	}
	for _, v := range f32(2) {
		p.Attention = append(p.Attention, float64(v))
	}
	for _, v := range s.Targets {
		p.Labels = append(p.Labels, float64(v))
	}
	emb := f32(5)
	d := e.net.Cfg.EmbedDim
	for k := range s.Clips {
		p.Views = append(p.Views, emb[k*d:(k+1)*d])
	}
	return p, nil
}

// Failure is a study that could not be predicted: unreadable, without a
// usable clip, or rejected by the model.
type Failure struct {
	Key    string
	Index  int
	Labels []float64 // per target, NaN when missing
	Err    string
}

// Run predicts every study of ds (epoch 0's draws: evaluation transforms
// are deterministic, and non-SAX views with several slices take the seeded
// slice), at most limit studies (0: all), loading ahead with workers. A
// study that cannot be read or has no usable clip never stops the run: it
// is returned as a Failure (and logged) and the rest goes on. Only a
// cancelled context ends Run early.
func (e *Evaluator) Run(ctx context.Context, ds *data.BagDataset, limit, workers int, log *slog.Logger) ([]*Prediction, []Failure, error) {
	n := ds.Len()
	if limit > 0 {
		n = min(n, limit)
	}
	st := data.Prefetch(ctx, n, func(_ context.Context, p int) (*data.BagSample, error) {
		return ds.Load(0, p)
	}, data.PrefetchOptions{Workers: workers})
	defer st.Close()
	var out []*Prediction
	var failed []Failure
	fail := func(pos int, why string) {
		f := Failure{Index: pos, Err: why}
		if pos >= 0 && pos < len(ds.Rows) {
			row := ds.Rows[pos]
			f.Key = row.Filename()
			for _, v := range data.Targets(row, ds.Targets) {
				f.Labels = append(f.Labels, float64(v))
			}
			// The store root is the user's folder, not part of the study.
			if ds.Root != "" {
				f.Err = strings.ReplaceAll(f.Err, filepath.Clean(ds.Root)+string(filepath.Separator), "")
			}
		}
		failed = append(failed, f)
		if log != nil {
			log.Warn("study not predicted; the rest goes on", "study", f.Key, "why", f.Err)
		}
	}
	for {
		s, pos, err := st.Next()
		if errors.Is(err, io.EOF) {
			if e := ctx.Err(); e != nil {
				return out, failed, e
			}
			return out, failed, nil
		}
		if err != nil {
			if e := ctx.Err(); e != nil {
				return out, failed, e
			}
			fail(pos, err.Error())
			continue
		}
		if len(s.Clips) == 0 {
			fail(pos, "no usable clip: "+skipReasons(s.Skipped))
			continue
		}
		p, err := e.Predict(s)
		if err != nil {
			fail(pos, err.Error())
			continue
		}
		out = append(out, p)
	}
}

// Metrics computes the validation metrics of predictions: the task's loss
// (mean over studies and present labels), MAE and MSE (regression), and
// per target the AUROC of the probabilities (classification; higher =
// positive, NaN when a split has one class), with its mean as val_auc.
// Keys are prefixed with prefix (e.g. "val_").
func Metrics(preds []*Prediction, h heads.Config, delta float64, targets []string, posWeight []float64, prefix string) map[string]float64 {
	out := map[string]float64{}
	var loss float64
	var nl int
	for _, p := range preds {
		for j, y := range p.Labels {
			if math.IsNaN(y) {
				continue
			}
			nl++
			if h.Task == heads.Regression {
				d := math.Abs(p.Pred[j] - y)
				if d < delta {
					loss += 0.5 * d * d
				} else {
					loss += delta * (d - 0.5*delta)
				}
			} else {
				x := p.Logits[j]
				pw := 1.0
				if j < len(posWeight) {
					pw = posWeight[j]
				}
				sp := math.Log1p(math.Exp(-math.Abs(x))) + math.Max(-x, 0)
				loss += (1-y)*x + (1+(pw-1)*y)*sp
			}
		}
	}
	if nl > 0 {
		out[prefix+"loss"] = loss / float64(nl)
	}
	if h.Task == heads.Regression {
		var pr, tr []float64
		for _, p := range preds {
			if !math.IsNaN(p.Labels[0]) {
				pr, tr = append(pr, p.Pred[0]), append(tr, p.Labels[0])
			}
		}
		if len(pr) > 0 {
			out[prefix+"mae"] = stats.MAE(pr, tr)
			out[prefix+"mse"] = stats.MSE(pr, tr)
		}
		return out
	}
	var sum float64
	var n int
	for j, t := range targets {
		var sc []float64
		var lb []bool
		for _, p := range preds {
			if y := p.Labels[j]; !math.IsNaN(y) {
				sc, lb = append(sc, p.Pred[j]), append(lb, y >= 0.5)
			}
		}
		roc, err := stats.NewROC(sc, lb, stats.Less)
		if err != nil || roc.NumCases() == 0 || roc.NumControls() == 0 {
			continue
		}
		out[prefix+"auc_"+t] = roc.AUC()
		sum += roc.AUC()
		n++
	}
	if n > 0 {
		out[prefix+"auc"] = sum / float64(n)
	}
	return out
}

// MetricColumns lists the columns Metrics can produce.
func MetricColumns(task string, targets []string, prefix string) []string {
	if task == TaskRegression {
		return []string{prefix + "loss", prefix + "mae", prefix + "mse"}
	}
	cols := []string{prefix + "loss", prefix + "auc"}
	for _, t := range targets {
		cols = append(cols, prefix+"auc_"+t)
	}
	return cols
}
