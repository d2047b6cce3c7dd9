package pretrain

import (
	"context"
	"testing"
	"time"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

func TestScratchTiming(t *testing.T) {
	c := buildCohort(t, 40, 48, 16, 1)
	cfg := TinyConfig()
	cfg.Data.Store = c.Root
	cfg.Data.ValSplit = ""
	mc, err := cfg.ModelConfig()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewData(cfg, mc, c.Index, c.Reports, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := d.Train.Epoch(context.Background(), 0, 0)
	t0 := time.Now()
	b, err := ep.Next()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first batch %s, dims %v", time.Since(t0), b.ClipDims)
	ep.Close()
	store := model.NewStore()
	tw := NewTowers(store)
	opt := optimizer.Adam().LearningRate(1e-3).Done()
	exec, err := model.NewExec(gomlxtest.Backend(t), store, func(_ *model.Scope, xs []*graph.Node) *graph.Node {
		store.SetTraining(xs[0].Graph(), true)
		_, l := Loss(tw, mc, xs[0], xs[1], xs[2])
		opt.UpdateGraph(store.RootScope(), xs[0].Graph(), l.Loss)
		return l.Loss
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.InitializeVariables(gomlxtest.Backend(t), nil); err != nil {
		t.Log(err)
	}
	in, err := Inputs(mc, b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		t0 := time.Now()
		out, err := exec.Call(in[0], in[1], in[2])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("step %d: loss %v in %s", i, out[0], time.Since(t0))
	}
	t.Logf("params %d", store.NumParameters())
}
