package train

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"
)

// toyBatch is one micro-batch of the toy regression.
type toyBatch struct{ x, y *tensors.Tensor }

// toySource yields n batches per epoch in a seeded per-epoch order; each
// batch's values depend only on (epoch, index).
type toySource struct {
	n      int
	cancel func(epoch, pos int) // called before delivering a position
}

func (s *toySource) Len() int { return s.n }

func (s *toySource) Open(ctx context.Context, epoch, pos int) (Iterator[toyBatch], error) {
	order := rand.New(rand.NewPCG(uint64(epoch), 99)).Perm(s.n)
	return &toyIter{s: s, ctx: ctx, epoch: epoch, pos: pos, order: order}, nil
}

type toyIter struct {
	s          *toySource
	ctx        context.Context
	epoch, pos int
	order      []int
}

func (it *toyIter) Next() (toyBatch, int, error) {
	if it.pos >= it.s.n {
		return toyBatch{}, it.pos, io.EOF
	}
	if it.s.cancel != nil {
		it.s.cancel(it.epoch, it.pos)
	}
	if err := it.ctx.Err(); err != nil {
		return toyBatch{}, it.pos, err
	}
	b := toyData(uint64(it.order[it.pos]), 3)
	it.pos++
	return b, it.pos, nil
}

// toyData draws n examples of y = x₀ − x₁/2 + noise from seed.
func toyData(seed uint64, n int) toyBatch {
	r := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, n*4)
	y := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range y {
		y[i] = x[4*i] - 0.5*x[4*i+1] + 0.1*float32(r.NormFloat64())
	}
	return toyBatch{tensors.FromFlatDataAndDimensions(x, n, 4), tensors.FromFlatDataAndDimensions(y, n, 1)}
}

func (it *toyIter) Close() {}

// toyRunner builds a fresh store, optimiser and runner for the toy model
// (with dropout, so the RNG state matters) in dir.
func toyRunner(t *testing.T, dir string, src *toySource) *Runner[toyBatch] {
	t.Helper()
	g := golden(t)
	store := toyStore(t, g)
	cfg := DefaultAdamW()
	cfg.LR, cfg.Accumulate, cfg.ClipNorm = 0.02, 2, 1
	cfg.Schedule = Schedule{StepSize: 2, Gamma: 0.5}
	opt, err := NewOptimizer(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	backend := gomlxtest.Backend(t)
	build := func(apply bool) *model.Exec {
		e, err := model.NewExec(backend, store, func(_ *model.Scope, x, y *graph.Node) []*graph.Node {
			store.SetTraining(x.Graph(), true)
			xd := layers.DropoutStatic(store.RootScope(), x, 0.3)
			loss := toyLoss(store, xd, y)
			return []*graph.Node{loss, opt.Step(loss, Trainable(store, x.Graph(), "/model/"), apply)}
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	micro, update := build(false), build(true)
	eval, err := model.NewExec(backend, store, func(_ *model.Scope, x, y *graph.Node) *graph.Node {
		FeedVariables(store, x.Graph()) // validation runs between updates
		return toyLoss(store, x, y)
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Runner[toyBatch]{
		Dir: dir, Kind: "toy", Config: "toy v1", Store: store, Optimizer: opt, Source: src,
		Step: func(_ context.Context, b toyBatch, apply bool) (map[string]float64, error) {
			e := micro
			if apply {
				e = update
			}
			outs, err := e.Exec(b.x, b.y)
			if err != nil {
				return nil, err
			}
			v := map[string]float64{"loss": float64(tensors.ToScalar[float32](outs[0]))}
			if apply {
				v["grad_norm"] = float64(tensors.ToScalar[float32](outs[1]))
			}
			return v, nil
		},
		Validate: func(context.Context, State) (map[string]float64, error) {
			v := toyData(1000, 32)
			out, err := eval.Exec1(v.x, v.y)
			if err != nil {
				return nil, err
			}
			return map[string]float64{"val_loss": float64(tensors.ToScalar[float32](out))}, nil
		},
		Trainer: TrainerConfig{Epochs: 4, LogEveryUpdates: 2, ValEveryUpdates: 0}, Seed: 5,
		TrainColumns: []string{"loss", "grad_norm"}, ValColumns: []string{"val_loss"},
	}
}

// variables returns every variable's bytes, by path.
func variables(t *testing.T, store *model.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for v := range store.IterVariables() {
		val, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		val.ConstBytes(func(d []byte) { out[v.Path()] = slices.Clone(d) })
	}
	return out
}

func sameRun(t *testing.T, dirA, dirB string, a, b *model.Store) {
	t.Helper()
	va, vb := variables(t, a), variables(t, b)
	if len(va) != len(vb) {
		t.Errorf("%d variables vs %d", len(va), len(vb))
	}
	for p, x := range va {
		if !bytes.Equal(x, vb[p]) {
			t.Errorf("variable %s differs after resume", p)
		}
	}
	for _, f := range []string{MetricsCSV, MetricsJSONL} {
		x, err := os.ReadFile(filepath.Join(dirA, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(dirB, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs after resume:\n%s\nvs\n%s", f, x, y)
		}
	}
}

// TestResumeBitIdentical: a run interrupted after k updates (between
// accumulation groups, mid-epoch, with a pending metrics row) and resumed
// ends with the same variables — model, optimiser moments, RNG — and the
// same metrics bytes as an uninterrupted run; for several k, including an
// epoch boundary, and for a cancellation in the middle of a group.
func TestResumeBitIdentical(t *testing.T) {
	ctx := context.Background()
	refDir := t.TempDir()
	ref := toyRunner(t, refDir, &toySource{n: 5})
	refSum, err := ref.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 5 batches, accumulate 2 → 3 updates per epoch (the last one from a
	// single micro-batch), 4 epochs.
	if refSum.State.Updates != 12 || refSum.Steps != 20 {
		t.Fatalf("reference run: %d updates, %d micro-batches; want 12, 20", refSum.State.Updates, refSum.Steps)
	}
	rows := refSum.Rows
	if len(rows) == 0 || rows[len(rows)-1].Step != 12 {
		t.Fatalf("metrics rows %v", rows)
	}
	var lossFirst, lossLast float64
	for _, r := range rows {
		if v, ok := r.Get("val_loss"); ok {
			if lossFirst == 0 {
				lossFirst = v
			}
			lossLast = v
		}
	}
	if !(lossLast < lossFirst) {
		t.Errorf("validation loss did not decrease: %g → %g", lossFirst, lossLast)
	}
	for _, k := range []int{1, 3, 4, 7} {
		dir := t.TempDir()
		a := toyRunner(t, dir, &toySource{n: 5})
		a.StopAfter = k
		s, err := a.Run(ctx)
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("k=%d: %v, want ErrInterrupted", k, err)
		}
		if s.State.Updates != k {
			t.Fatalf("k=%d: stopped at %d updates", k, s.State.Updates)
		}
		b := toyRunner(t, dir, &toySource{n: 5})
		b.Resume = true
		s2, err := b.Run(ctx)
		if err != nil {
			t.Fatalf("k=%d: resume: %v", k, err)
		}
		if s2.Steps >= refSum.Steps {
			t.Errorf("k=%d: resumed run ran %d micro-batches, the whole run has %d", k, s2.Steps, refSum.Steps)
		}
		sameRun(t, refDir, dir, ref.Store, b.Store)
	}
	// Cancel while loading the second micro-batch of update 5's group.
	dir := t.TempDir()
	c, cancel := context.WithCancel(ctx)
	src := &toySource{n: 5, cancel: func(epoch, pos int) {
		if epoch == 1 && pos == 3 {
			cancel()
		}
	}}
	a := toyRunner(t, dir, src)
	_, err = a.Run(c)
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	b := toyRunner(t, dir, &toySource{n: 5})
	b.Resume = true
	if _, err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
	sameRun(t, refDir, dir, ref.Store, b.Store)
}

// TestResumeRefusesOtherConfig: a checkpoint is only resumed by the run
// that wrote it.
func TestResumeRefusesOtherConfig(t *testing.T) {
	dir := t.TempDir()
	a := toyRunner(t, dir, &toySource{n: 5})
	a.StopAfter = 2
	if _, err := a.Run(context.Background()); !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	b := toyRunner(t, dir, &toySource{n: 5})
	b.Resume, b.Config = true, "toy v2"
	if _, err := b.Run(context.Background()); err == nil {
		t.Fatal("resumed a checkpoint of another configuration")
	}
}

// TestCheckpointRoundTrip: every variable (float32, int64, float64,
// uint64 RNG) and the state survive a save and load; a flipped byte is a
// checksum error.
func TestCheckpointRoundTrip(t *testing.T) {
	store := toyStore(t, golden(t))
	if _, err := NewOptimizer(store, DefaultAdamW()); err != nil {
		t.Fatal(err)
	}
	if err := store.SetRNGStateFromSeed(3); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.safetensors")
	st := State{Epoch: 2, Position: 7, Updates: 40, Written: 3, Window: map[string]Sum{"loss": {Sum: 1.5, N: 2}},
		Pending: &Row{Step: 40, Epoch: 2, LR: 1e-4, Values: map[string]float64{"loss": 0.25}}}
	if err := SaveCheckpoint(path, store, st, "toy", "cfg"); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Kind != "toy" || ck.Config != "cfg" || ck.State.Position != 7 || ck.State.Pending.Values["loss"] != 0.25 {
		t.Errorf("state %+v", ck.State)
	}
	other := model.NewStore()
	n, err := ck.Restore(other, "")
	if err != nil {
		t.Fatal(err)
	}
	if n != store.NumVariables() {
		t.Errorf("restored %d of %d variables", n, store.NumVariables())
	}
	want, got := variables(t, store), variables(t, other)
	for p, b := range want {
		if !bytes.Equal(b, got[p]) {
			t.Errorf("%s differs", p)
		}
		if v := other.GetVariable(p); v.Trainable != store.GetVariable(p).Trainable {
			t.Errorf("%s: trainable %v, want %v", p, v.Trainable, store.GetVariable(p).Trainable)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-3] ^= 0x40
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCheckpoint(path); err == nil {
		t.Error("corrupted checkpoint loaded")
	}
}

// TestMetricsFiles: CSV and JSONL columns, missing values, and resume
// keeping the first rows.
func TestMetricsFiles(t *testing.T) {
	dir := t.TempDir()
	m, err := OpenMetrics(dir, []string{"loss", "val_auc"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	r1 := Row{Step: 1, Epoch: 0, LR: 1e-4}
	r1.Set("loss", 0.5)
	r1.Set("val_auc", nanValue())
	r2 := Row{Step: 2, Epoch: 0, LR: 1e-4}
	r2.Set("loss", 0.25)
	r2.Set("val_auc", 0.75)
	for _, r := range []Row{r1, r2} {
		if err := m.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()
	csv, _ := os.ReadFile(filepath.Join(dir, MetricsCSV))
	if want := "step,epoch,lr,loss,val_auc\n1,0,0.0001,0.5,\n2,0,0.0001,0.25,0.75\n"; string(csv) != want {
		t.Errorf("csv:\n%s\nwant:\n%s", csv, want)
	}
	js, _ := os.ReadFile(filepath.Join(dir, MetricsJSONL))
	if want := "{\"step\":1,\"epoch\":0,\"lr\":0.0001,\"loss\":0.5}\n{\"step\":2,\"epoch\":0,\"lr\":0.0001,\"loss\":0.25,\"val_auc\":0.75}\n"; string(js) != want {
		t.Errorf("jsonl:\n%s\nwant:\n%s", js, want)
	}
	m2, err := OpenMetrics(dir, []string{"loss", "val_auc"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m2.Close()
	if rows, _ := ReadMetrics(filepath.Join(dir, MetricsJSONL)); len(rows) != 1 || rows[0].Values["loss"] != 0.5 {
		t.Errorf("kept rows %v", rows)
	}
	if _, err := OpenMetrics(dir, []string{"loss"}, 5); err == nil {
		t.Error("resume with more rows than the file has accepted")
	}
}

func nanValue() float64 {
	z := 0.0
	return z / z
}
