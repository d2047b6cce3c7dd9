package finetune

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/cmrfm/cmrfm/model/heads"
	"github.com/cmrfm/cmrfm/model/ops"
	"github.com/cmrfm/cmrfm/report"
	"github.com/cmrfm/cmrfm/store"
	"github.com/cmrfm/cmrfm/train"
	"github.com/cmrfm/cmrfm/train/data"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Kind is the train.MetaKind of fine-tuning checkpoints.
const Kind = "finetune"

// RunOptions are the parts of a run that are not configuration.
type RunOptions struct {
	// Resume continues from <out>/checkpoints/last.safetensors.
	Resume bool
	Log    *slog.Logger
	// Hooks receive progress (when trainer.progress is set) and metrics
	// rows; the command renders them.
	Hooks train.Hooks
	// Backend overrides trainer.backend.
	Backend compute.Backend
	// Index overrides the dataset index file.
	Index *store.Index
	// StopAfter > 0 interrupts the run after that many updates (as
	// Ctrl-C would): a checkpoint is written and train.ErrInterrupted
	// returned.
	StopAfter int
}

// Summary is what a run did.
type Summary struct {
	train.Summary
	// Init says where the starting weights came from.
	Init *InitReport
	// TrainStudies and ValStudies count the rows used; PosWeight is the
	// positive-class weight per target (classification).
	TrainStudies, ValStudies int
	// Unlabelled counts the rows left out for having no label; LeftOut
	// the times a training study was left out of a batch because it could
	// not be read or gave no usable clip (summed over epochs).
	Unlabelled Unlabelled
	LeftOut    int
	PosWeight  []float64
	// Plots written (loss curve, validation metric curve).
	Plots []string
	// Config is the run's YAML.
	Config string
}

// Unlabelled counts the rows Splits left out because they have no label
// for any of the run's targets.
type Unlabelled struct{ Train, Val int }

// Splits selects a run's rows from the index: the data fraction (drawn
// over the whole index, patients as units, as the reference), then the
// train and validation splits (validation always complete). Rows without
// a value for any target are left out (counted by LabelledSplits); a row
// missing some of several targets stays, and its missing ones are masked
// out of the loss and the metrics.
func Splits(c Config, idx *store.Index) (trainRows, valRows, fullTrain []store.IndexRow, err error) {
	trainRows, valRows, fullTrain, _, err = LabelledSplits(c, idx)
	return trainRows, valRows, fullTrain, err
}

// LabelledSplits is Splits, also returning how many rows were left out for
// having no label.
func LabelledSplits(c Config, idx *store.Index) (trainRows, valRows, fullTrain []store.IndexRow, left Unlabelled, err error) {
	trainRows, valRows, fullTrain, err = splits(c, idx)
	if err != nil {
		return nil, nil, nil, left, err
	}
	labelled := func(rows []store.IndexRow, n *int) []store.IndexRow {
		var out []store.IndexRow
		for _, r := range rows {
			if hasAnyLabel(r, c.Data.Targets) {
				out = append(out, r)
			} else {
				*n++
			}
		}
		return out
	}
	var dropFull int
	trainRows = labelled(trainRows, &left.Train)
	valRows = labelled(valRows, &left.Val)
	fullTrain = labelled(fullTrain, &dropFull)
	if len(trainRows) == 0 {
		return nil, nil, nil, left, fmt.Errorf("finetune: none of the %d %q rows has a label for %v", left.Train, c.Data.TrainSplit, c.Data.Targets)
	}
	return trainRows, valRows, fullTrain, left, nil
}

// hasAnyLabel reports whether row has a non-empty value for a target.
func hasAnyLabel(r store.IndexRow, targets []string) bool {
	for _, t := range targets {
		if v := strings.TrimSpace(r.Values[t]); v != "" && !strings.EqualFold(v, "nan") && !strings.EqualFold(v, "na") {
			return true
		}
	}
	return false
}

func splits(c Config, idx *store.Index) (trainRows, valRows, fullTrain []store.IndexRow, err error) {
	sub, err := data.SubsampleByPatient(idx.Rows, c.Data.Fraction, c.Data.FractionSeed)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("finetune: %w", err)
	}
	for _, r := range sub {
		if r.Split == c.Data.TrainSplit {
			trainRows = append(trainRows, r)
		}
	}
	fullTrain = idx.Filter(c.Data.TrainSplit)
	if c.Data.ValSplit != "" {
		valRows = idx.Filter(c.Data.ValSplit)
	}
	for _, t := range c.Data.Targets {
		if !hasColumn(idx, t) {
			return nil, nil, nil, fmt.Errorf("finetune: the dataset index has no column %q (columns: %v)", t, idx.Columns)
		}
	}
	if len(trainRows) == 0 {
		return nil, nil, nil, fmt.Errorf("finetune: no %q rows in the dataset index (after the data fraction %g)", c.Data.TrainSplit, c.Data.Fraction)
	}
	return trainRows, valRows, fullTrain, nil
}

func hasColumn(idx *store.Index, col string) bool {
	for _, c := range idx.Columns {
		if c == col {
			return true
		}
	}
	return false
}

// PosWeights computes the positive-class weights of the targets on rows.
func PosWeights(c Config, rows []store.IndexRow) ([]float64, error) {
	if c.Task != TaskClassification {
		return nil, nil
	}
	mode, err := data.ParsePosWeightMode(c.Data.PosWeight)
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	var out []float64
	for _, t := range c.Data.Targets {
		w, err := data.PosWeight(rows, t, mode)
		if err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
		out = append(out, w)
	}
	return out, nil
}

// Run fine-tunes as c says, writing checkpoints, metrics and plots under
// c.Out.
func Run(ctx context.Context, c Config, o RunOptions) (*Summary, error) {
	log, cfgYAML, err := train.Prepare(c, o.Log)
	if err != nil {
		return nil, err
	}
	nc, err := c.Net()
	if err != nil {
		return nil, err
	}
	idx := o.Index
	if idx == nil {
		if idx, err = ReadIndex(c.Data.Store, c.Data.Index); err != nil {
			return nil, err
		}
	}
	trainRows, valRows, fullTrain, left, err := LabelledSplits(c, idx)
	if err != nil {
		return nil, err
	}
	if left.Train+left.Val > 0 {
		log.Warn("rows without a label for any target left out", "targets", c.Data.Targets, "train", left.Train, "val", left.Val)
	}
	posWeight, err := PosWeights(c, fullTrain)
	if err != nil {
		return nil, err
	}
	bag, err := c.Bag(nc.Video.Frames)
	if err != nil {
		return nil, err
	}
	trainT, evalT, err := c.Transforms(nc)
	if err != nil {
		return nil, err
	}
	backend := o.Backend
	if backend == nil {
		if backend, err = ops.NewBackend(c.Trainer.Backend); err != nil {
			return nil, err
		}
	}
	if err := train.WriteRunConfig(c.Out, cfgYAML); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}

	st := model.NewStore()
	st.SetParam(model.ParamInitialSeed, int64(c.Seed)+1)
	net := NewNet(st, nc)
	sum := &Summary{TrainStudies: len(trainRows), ValStudies: len(valRows), PosWeight: posWeight, Config: cfgYAML, Unlabelled: left}
	if !o.Resume {
		if sum.Init, err = LoadInitial(net, c.Init, log); err != nil {
			return nil, err
		}
	}
	opt, err := train.NewOptimizer(st, c.Optim)
	if err != nil {
		return nil, err
	}
	classes := nc.Head.Classes
	pw := make([]float32, classes)
	for i := range pw {
		pw[i] = 1
		if i < len(posWeight) {
			pw[i] = float32(posWeight[i])
		}
	}
	build := func(apply bool) (*model.Exec, error) {
		e, err := model.NewExec(backend, st, func(_ *model.Scope, xs []*graph.Node) []*graph.Node {
			g := xs[0].Graph()
			st.SetTraining(g, true)
			out := net.Forward(xs[0], xs[1], xs[2])
			var pwn *graph.Node
			if nc.Head.Task == heads.Classification {
				pwn = graph.Const(g, pw)
			}
			loss := net.Loss(out, xs[3], xs[4], pwn)
			vars := net.Trainable(g)
			np := 0
			for _, v := range vars {
				np += v.Shape().Size()
			}
			log.Debug("training graph", "apply", apply, "trainable variables", len(vars), "parameters", np)
			norm := opt.Step(loss, vars, apply)
			absErr := graph.ReduceAllSum(graph.Mul(graph.Abs(graph.Sub(out.Prediction, xs[3])), xs[4]))
			return []*graph.Node{loss, norm, absErr, graph.ReduceAllSum(xs[4])}
		})
		if err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
		e.SetMaxCache(128)
		return e, nil
	}
	update, err := build(true)
	if err != nil {
		return nil, err
	}
	micro := update
	if c.Optim.Accumulate > 1 {
		if micro, err = build(false); err != nil {
			return nil, err
		}
	}
	src := &bagSource{
		ds:    &data.BagDataset{Root: c.Data.Store, Rows: trainRows, Targets: c.Data.Targets, Bag: bag, Transform: trainT, Seed: c.Seed},
		batch: c.Trainer.BatchSize, maxInst: c.Trainer.MaxInstances, pad: c.Trainer.Pad, channels: nc.Video.InChannels,
		workers: max(c.Data.Workers, 1), depth: c.Data.Prefetch, seed: c.Seed, log: log,
	}
	var eval *Evaluator
	var valDS *data.BagDataset
	if len(valRows) > 0 {
		if eval, err = NewEvaluator(backend, net); err != nil {
			return nil, err
		}
		valDS = &data.BagDataset{Root: c.Data.Store, Rows: valRows, Targets: c.Data.Targets, Bag: bag, Transform: evalT, Seed: c.Seed}
	}
	trainCols := []string{"loss", "grad_norm"}
	if nc.Head.Task == heads.Regression {
		trainCols = append(trainCols, "mae")
	}
	valCols := MetricColumns(c.Task, c.Data.Targets, "val_")
	r := &train.Runner[*Batch]{
		Dir: c.Out, Kind: Kind, Config: cfgYAML, Identity: c.identityOf, Store: st, Optimizer: opt, Source: src,
		Step: func(_ context.Context, b *Batch, apply bool) (map[string]float64, error) {
			e := micro
			if apply {
				e = update
			}
			in := b.Inputs()
			outs, err := e.Exec(in[0], in[1], in[2], in[3], in[4])
			if err != nil {
				return nil, err
			}
			// A non-finite loss or gradient has already been kept from the
			// model by the optimiser; the runner logs and counts it.
			loss := float64(tensors.ToScalar[float32](outs[0]))
			v := map[string]float64{"loss": loss}
			if apply {
				v["grad_norm"] = float64(tensors.ToScalar[float32](outs[1]))
			}
			if n := tensors.ToScalar[float32](outs[3]); n > 0 && nc.Head.Task == heads.Regression {
				v["mae"] = float64(tensors.ToScalar[float32](outs[2]) / n)
			}
			return v, nil
		},
		Trainer: c.Trainer.TrainerConfig, TrainColumns: trainCols, ValColumns: valCols,
		Seed: int64(c.Seed), Resume: o.Resume, StopAfter: o.StopAfter, Log: log, Hooks: o.Hooks,
	}
	if !c.Trainer.Progress {
		r.Hooks.Progress = nil
	}
	if eval != nil {
		r.Validate = func(ctx context.Context, _ train.State) (map[string]float64, error) {
			preds, _, err := eval.Run(ctx, valDS, c.Trainer.ValStudies, max(c.Data.Workers, 1), log)
			if err != nil {
				return nil, err
			}
			return Metrics(preds, nc.Head, nc.HuberDelta, c.Data.Targets, posWeight, "val_"), nil
		}
	}
	log.Info("fine-tuning", "task", c.Task, "mode", c.Mode, "targets", c.Data.Targets, "train studies", len(trainRows),
		"val studies", len(valRows), "encoder", nc.Video.Name, "trainable", nc.TrainablePrefixes(), "backend", backend.Name())
	ts, err := r.Run(ctx)
	if ts != nil {
		sum.Summary = *ts
	}
	if n := src.skipped.Load(); n > 0 {
		sum.LeftOut = int(n)
		log.Warn("training studies left out (no usable clip or unreadable), summed over epochs", "count", n)
	}
	if err != nil {
		return sum, err
	}
	if ts != nil && ts.Steps == 0 && ts.State.Updates == 0 {
		return sum, fmt.Errorf("finetune: no training batch: every one of the %d %q studies was left out (unreadable or without a usable clip; the log says why)", len(trainRows), c.Data.TrainSplit)
	}
	sum.Plots, err = plots(c, sum.Rows, valCols)
	return sum, err
}

// plots draws loss.png (training and validation loss, log scale) and
// val.png (MAE or AUROC) in the run folder.
func plots(c Config, rows []train.Row, valCols []string) ([]string, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	var out []string
	loss := filepath.Join(c.Out, "loss.png")
	if err := report.PlotMetrics(loss, "Fine-tuning loss ("+c.Task+")", "loss", rows,
		[]report.Curve{{Column: "loss", Label: "train (mean per row)"}, {Column: "val_loss", Label: "validation", Points: true}}, true); err != nil {
		return nil, err
	}
	out = append(out, loss)
	var curves []report.Curve
	title, ylabel := "Validation AUROC", "AUROC"
	if c.Task == TaskRegression {
		curves = []report.Curve{{Column: "mae", Label: "train MAE"}, {Column: "val_mae", Label: "validation MAE", Points: true}}
		title, ylabel = "Mean absolute error", "MAE (LVEF points)"
	} else {
		for _, col := range valCols[1:] {
			curves = append(curves, report.Curve{Column: col, Points: true})
		}
	}
	p := filepath.Join(c.Out, "val.png")
	// MAE on a log scale: the first updates' errors are tens of times the
	// final ones.
	if err := report.PlotMetrics(p, title, ylabel, rows, curves, c.Task == TaskRegression); err == nil {
		out = append(out, p)
	}
	return out, nil
}
