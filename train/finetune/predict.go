package finetune

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cmrfm/cmrfm/cine"
	"github.com/cmrfm/cmrfm/internal/fsutil"
	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/data"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"
)

// Model is a trained downstream model loaded for inference.
type Model struct {
	Config Config
	Net    *Net
	Eval   *Evaluator
	// Updates is the number of optimiser updates the checkpoint had seen.
	Updates int
}

// LoadModel reads a fine-tuning checkpoint (its configuration is inside)
// and builds the inference graph.
func LoadModel(path string, backend compute.Backend) (*Model, error) {
	ck, err := train.LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	if ck.Kind != Kind {
		return nil, fmt.Errorf("finetune: %s is a %q checkpoint, not a fine-tuned model", path, ck.Kind)
	}
	c, err := ParseConfig([]byte(ck.Config), Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("finetune: %s: %w", path, err)
	}
	nc, err := c.Net()
	if err != nil {
		return nil, fmt.Errorf("finetune: %s: %w", path, err)
	}
	st := model.NewStore()
	net := NewNet(st, nc)
	for _, p := range []string{PrefixEncoder, PrefixProj, PrefixHead} {
		if _, err := ck.Restore(st, p); err != nil {
			return nil, err
		}
	}
	if backend == nil {
		if backend, err = ops.NewInferenceBackend(c.Trainer.Backend); err != nil {
			return nil, err
		}
	}
	ev, err := NewEvaluator(backend, net)
	if err != nil {
		return nil, err
	}
	return &Model{Config: c, Net: net, Eval: ev, Updates: ck.State.Updates}, nil
}

// PredictOptions configures Predict.
type PredictOptions struct {
	// Checkpoint is a fine-tuning checkpoint (…/checkpoints/last.safetensors).
	Checkpoint string
	// Model, if set, is used instead of loading Checkpoint.
	Model *Model
	// Store is the study store; Index its dataset index (default
	// <store>/index.csv); Split selects rows ("" or "all": every row).
	Store, Index, Split string
	// Out is the predictions CSV. With several classification targets it
	// is a folder holding <target>/predictions.csv (the layout cmrfm
	// evaluate reads).
	Out string
	// Clips, if set, writes one row per clip (the paper's preds_output
	// layout: probs|preds, labels, filenames, views, softmax_attn, plus
	// the clip's slice and frames).
	Clips string
	// Embeddings, if set, writes an .npz with study_embedding [S, 512],
	// study_pooled [S, hidden], view_embedding [K, 512], view_study [K]
	// (row of the predictions file) and view_attention [K]; view rows
	// follow the clips file's rows.
	Embeddings string
	// ClipBatch is the number of clips the encoder runs at once: 0 picks
	// [AutoClipBatch] (one clip for MViT-B, whole bags for small presets),
	// -1 runs each whole bag as one graph.
	ClipBatch int
	Workers   int
	Backend   compute.Backend
	Log       *slog.Logger
}

// PredictSummary reports a prediction run.
type PredictSummary struct {
	Predictions []*Prediction
	Targets     []string
	Task        string
	// Failed lists the studies that could not be predicted (unreadable,
	// no usable clip); the tables give each a row with its error.
	Failed []Failure
	// Files written.
	Files []string
}

// Predict runs a trained model on the studies of an index and writes the
// paper's prediction table(s).
func Predict(ctx context.Context, o PredictOptions) (*PredictSummary, error) {
	m := o.Model
	var err error
	if m == nil {
		if m, err = LoadModel(o.Checkpoint, o.Backend); err != nil {
			return nil, err
		}
	}
	c := m.Config
	idx, err := ReadIndex(o.Store, o.Index)
	if err != nil {
		return nil, err
	}
	rows := idx.Rows
	if o.Split != "" && o.Split != "all" {
		rows = idx.Filter(o.Split)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("finetune: no rows of split %q in the dataset index", o.Split)
	}
	bag, err := c.Bag(m.Net.Cfg.Video.Frames)
	if err != nil {
		return nil, err
	}
	_, evalT, err := c.Transforms(m.Net.Cfg)
	if err != nil {
		return nil, err
	}
	// Labels the index lacks are simply unknown.
	targets := c.Data.Targets
	ds := &data.BagDataset{Root: o.Store, Rows: rows, Targets: targets, Bag: bag, Transform: evalT, Seed: c.Seed}
	switch {
	case o.ClipBatch == 0:
		m.Eval.ClipBatch = AutoClipBatch(m.Net.Cfg)
	case o.ClipBatch < 0:
		m.Eval.ClipBatch = 0
	default:
		m.Eval.ClipBatch = o.ClipBatch
	}
	preds, failed, err := m.Eval.Run(ctx, ds, 0, max(o.Workers, 1), o.Log)
	if err != nil {
		return nil, err
	}
	sum := &PredictSummary{Predictions: preds, Targets: targets, Task: c.Task, Failed: failed}
	if o.Out != "" {
		files, err := WriteTables(o.Out, c.Task, targets, preds, failed...)
		if err != nil {
			return nil, err
		}
		sum.Files = append(sum.Files, files...)
	}
	if o.Clips != "" {
		if err := writeClips(o.Clips, c.Task, targets, preds); err != nil {
			return nil, err
		}
		sum.Files = append(sum.Files, o.Clips)
	}
	if o.Embeddings != "" && len(preds) > 0 {
		if err := writeEmbeddings(o.Embeddings, preds); err != nil {
			return nil, err
		}
		sum.Files = append(sum.Files, o.Embeddings)
	}
	return sum, nil
}

// f32 formats as the paper's tables do: float32 shortest form.
func f32(v float64) string { return strconv.FormatFloat(float64(float32(v)), 'g', -1, 32) }

// label formats a label (held as float32, the graph's type) in its
// shortest float32 form, so 35.4 in the index reads 35.4 here too.
func label(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return f32(v)
}

// viewOrder is the order of the per-view attention columns.
var viewOrder = []cine.View{cine.View2CH, cine.View3CH, cine.View4CH, cine.ViewSAX}

// predColumn is "preds" (regression) or "probs" (classification).
func predColumn(task string) string {
	if task == TaskRegression {
		return "preds"
	}
	return "probs"
}

// WriteTables writes the per-study table(s): filenames, preds|probs,
// labels, views (';'-joined, bag order), softmax_attn (';'-joined),
// attn_2CH … attn_SAX (each view's total attention; empty when the study
// has no such clip) and error (why a study has no prediction; empty
// otherwise). Rows are in index order, failed studies included. One
// target: out is the CSV; several: out is a folder with
// <target>/predictions.csv.
func WriteTables(out, task string, targets []string, preds []*Prediction, failed ...Failure) ([]string, error) {
	if len(targets) == 1 {
		return []string{out}, writeTable(out, task, 0, preds, failed)
	}
	var files []string
	for j, t := range targets {
		p := filepath.Join(out, t, "predictions.csv")
		if err := writeTable(p, task, j, preds, failed); err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	return files, nil
}

func writeTable(path, task string, j int, preds []*Prediction, failed []Failure) error {
	head := []string{"filenames", predColumn(task), "labels", "views", "softmax_attn"}
	for _, v := range viewOrder {
		head = append(head, "attn_"+string(v))
	}
	head = append(head, "error")
	return writeCSV(path, head, func(w *csv.Writer) error {
		fi := 0
		writeFailed := func(before int) error {
			for ; fi < len(failed) && (before < 0 || failed[fi].Index < before); fi++ {
				f := failed[fi]
				lab := ""
				if j < len(f.Labels) {
					lab = label(f.Labels[j])
				}
				rec := append([]string{f.Key, "", lab, "", ""}, make([]string, len(viewOrder))...)
				if err := w.Write(append(rec, f.Err)); err != nil {
					return err
				}
			}
			return nil
		}
		for _, p := range preds {
			if err := writeFailed(p.Index); err != nil {
				return err
			}
			var views, attn []string
			per := map[cine.View]float64{}
			for k, r := range p.Clips {
				views = append(views, string(r.View))
				attn = append(attn, f32(p.Attention[k]))
				per[r.View] += p.Attention[k]
			}
			rec := []string{p.Key, f32(p.Pred[j]), label(p.Labels[j]), strings.Join(views, ";"), strings.Join(attn, ";")}
			for _, v := range viewOrder {
				if a, ok := per[v]; ok {
					rec = append(rec, f32(a))
				} else {
					rec = append(rec, "")
				}
			}
			if err := w.Write(append(rec, "")); err != nil {
				return err
			}
		}
		return writeFailed(-1)
	})
}

// writeClips writes one row per clip.
func writeClips(path, task string, targets []string, preds []*Prediction) error {
	var head []string
	pc := predColumn(task)
	if len(targets) == 1 {
		head = []string{pc, "labels"}
	} else {
		for _, t := range targets {
			head = append(head, pc+"_"+t, "labels_"+t)
		}
	}
	head = append(head, "filenames", "views", "softmax_attn", "clip", "slice", "start_frame", "end_frame")
	return writeCSV(path, head, func(w *csv.Writer) error {
		for _, p := range preds {
			for k, r := range p.Clips {
				var rec []string
				for j := range targets {
					rec = append(rec, f32(p.Pred[j]), label(p.Labels[j]))
				}
				rec = append(rec, p.Key, string(r.View), f32(p.Attention[k]), strconv.Itoa(k), strconv.Itoa(r.Slice),
					strconv.Itoa(r.Start), strconv.Itoa(r.End))
				if err := w.Write(rec); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func writeCSV(path string, head []string, rows func(*csv.Writer) error) error {
	err := fsutil.WriteFileAtomic(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		if err := w.Write(head); err != nil {
			return err
		}
		if err := rows(w); err != nil {
			return err
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return fmt.Errorf("finetune: %s: %w", path, err)
	}
	return nil
}

func writeEmbeddings(path string, preds []*Prediction) error {
	set := weights.NewSet()
	if len(preds) == 0 {
		return fmt.Errorf("finetune: no predictions to write embeddings of")
	}
	e, h := len(preds[0].Study), len(preds[0].Pooled)
	var study, pooled, views, attn []float32
	var owner []int32
	for i, p := range preds {
		study = append(study, p.Study...)
		pooled = append(pooled, p.Pooled...)
		for k, v := range p.Views {
			views = append(views, v...)
			attn = append(attn, float32(p.Attention[k]))
			owner = append(owner, int32(i))
		}
	}
	set.Add(weights.FromFloat32("study_embedding", []int{len(preds), e}, study))
	set.Add(weights.FromFloat32("study_pooled", []int{len(preds), h}, pooled))
	set.Add(weights.FromFloat32("view_embedding", []int{len(owner), e}, views))
	set.Add(weights.FromFloat32("view_attention", []int{len(owner)}, attn))
	ob := make([]byte, 4*len(owner))
	for i, v := range owner {
		ob[4*i], ob[4*i+1], ob[4*i+2], ob[4*i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	set.Add(&weights.Tensor{Name: "view_study", DType: weights.I32, Shape: []int{len(owner)}, Data: ob})
	err := fsutil.WriteFileAtomic(path, func(w io.Writer) error { return weights.WriteNPZ(w, set) })
	if err != nil {
		return fmt.Errorf("finetune: embeddings %s: %w", path, err)
	}
	return nil
}
