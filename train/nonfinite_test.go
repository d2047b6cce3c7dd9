package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// withoutSkipped drops the skip counter from a variables snapshot.
func withoutSkipped(vs map[string][]byte) map[string][]byte {
	delete(vs, "/"+ScopeOptimizer+"/"+VarSkipped)
	return vs
}

func sameVariables(t *testing.T, what string, a, b map[string][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d variables vs %d", what, len(a), len(b))
	}
	for p, x := range a {
		if !bytes.Equal(x, b[p]) {
			t.Errorf("%s: variable %s differs", what, p)
		}
	}
}

// TestNonFiniteUpdateSkipped: a batch whose loss is NaN or infinite leaves
// every variable — parameters, moments, update count, accumulators — bit
// for bit as it was, counts one skip, and the next finite update gives
// exactly what it gives when the bad batch never came; also when the bad
// batch is a micro-batch of an accumulation group.
func TestNonFiniteUpdateSkipped(t *testing.T) {
	g := golden(t)
	x, _ := weights.ToTensorF32(g.Tensors["x"])
	y, _ := weights.ToTensorF32(g.Tensors["y"])
	bad := func(v float32) *tensors.Tensor {
		ys := tensors.MustCopyFlatData[float32](y)
		ys[1] = v
		return tensors.FromFlatDataAndDimensions(ys, y.Shape().Dimensions...)
	}
	for _, acc := range []int{1, 2} {
		run := func(badAt int, badY *tensors.Tensor) (*model.Store, *Optimizer) {
			store := toyStore(t, g)
			cfg := DefaultAdamW()
			cfg.LR, cfg.WeightDecay, cfg.ClipNorm, cfg.Accumulate = 0.05, 0.1, 1, acc
			opt, err := NewOptimizer(store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			micro, apply := stepExec(t, store, opt, false), stepExec(t, store, opt, true)
			// Groups of acc micro-batches; group badAt (if ≥ 0) has the
			// bad target in its first micro-batch.
			for grp := 0; grp < 3; grp++ {
				before := variables(t, store)
				for m := 0; m < acc; m++ {
					yy := y
					if grp == badAt && m == 0 {
						yy = badY
					}
					e := micro
					if m == acc-1 {
						e = apply
					}
					if _, err := e.Exec(x, yy); err != nil {
						t.Fatal(err)
					}
				}
				if grp == badAt {
					sameVariables(t, "after the skipped update", withoutSkipped(before), withoutSkipped(variables(t, store)))
				}
			}
			return store, opt
		}
		_, copt := run(-1, nil)
		for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), 3e38} {
			store, opt := run(1, bad(v))
			n, err := opt.Skipped()
			if err != nil || n != 1 {
				t.Errorf("accumulate %d, target %g: %d skipped (%v), want 1", acc, v, n, err)
			}
			// Three groups with the middle one skipped = two clean updates.
			ref := toyStore(t, g)
			cfg := copt.Config()
			ropt, _ := NewOptimizer(ref, cfg)
			rm, ra := stepExec(t, ref, ropt, false), stepExec(t, ref, ropt, true)
			for grp := 0; grp < 2; grp++ {
				for m := 0; m < acc; m++ {
					e := rm
					if m == acc-1 {
						e = ra
					}
					if _, err := e.Exec(x, y); err != nil {
						t.Fatal(err)
					}
				}
			}
			sameVariables(t, "skipped run vs two clean updates", withoutSkipped(variables(t, ref)), withoutSkipped(variables(t, store)))
			if u, _ := opt.Updates(); u != 2 {
				t.Errorf("accumulate %d: %d updates counted, want 2", acc, u)
			}
		}
		if n, _ := copt.Skipped(); n != 0 {
			t.Errorf("clean run skipped %d", n)
		}
	}
}

// nanSource wraps the toy source, making the targets of the given
// positions of epoch 0 NaN.
type nanSource struct {
	toySource
	bad map[int]bool
}

type nanIter struct {
	Iterator[toyBatch]
	bad map[int]bool
	pos int
}

func (s *nanSource) Open(ctx context.Context, epoch, pos int) (Iterator[toyBatch], error) {
	it, err := s.toySource.Open(ctx, epoch, pos)
	if err != nil {
		return nil, err
	}
	bad := s.bad
	if epoch != 0 {
		bad = nil
	}
	return &nanIter{Iterator: it, bad: bad, pos: pos}, nil
}

func (it *nanIter) Next() (toyBatch, int, error) {
	b, next, err := it.Iterator.Next()
	if err == nil && it.bad[it.pos] {
		ys := tensors.MustCopyFlatData[float32](b.y)
		ys[0] = float32(math.NaN())
		b.y = tensors.FromFlatDataAndDimensions(ys, b.y.Shape().Dimensions...)
	}
	it.pos = next
	return b, next, err
}

// TestRunnerSkipsBadBatches: the loop keeps going past batches with a NaN
// loss (their values never reach the metrics), reports how many it
// skipped, and stops with ErrBadBatches once there are more than
// MaxBadBatches.
func TestRunnerSkipsBadBatches(t *testing.T) {
	src := &nanSource{toySource: toySource{n: 6}, bad: map[int]bool{1: true, 4: true}}
	r := toyRunner(t, t.TempDir(), &src.toySource)
	r.Source = src
	r.Trainer.MaxBadBatches = 2
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 2 {
		t.Errorf("%d skipped, want 2", sum.Skipped)
	}
	for _, row := range sum.Rows {
		for _, c := range []string{"loss", "grad_norm"} {
			if v, ok := row.Get(c); ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
				t.Errorf("metrics row %d: %s = %g", row.Step, c, v)
			}
		}
	}
	r = toyRunner(t, t.TempDir(), &src.toySource)
	r.Source = src
	r.Trainer.MaxBadBatches = 1
	_, err = r.Run(context.Background())
	if !errors.Is(err, ErrBadBatches) || !strings.Contains(err.Error(), "2 (max_bad_batches 1)") {
		t.Fatalf("got %v, want ErrBadBatches", err)
	}
}
