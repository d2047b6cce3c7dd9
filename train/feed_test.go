package train

import (
	"strings"
	"testing"

	"github.com/cmrfm/cmrfm/internal/gomlxtest"
	"github.com/cmrfm/cmrfm/model/weights"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// readExec compiles an inference graph returning w·x for the variable /m/w,
// calling FeedVariables first when feed is set.
func readExec(t *testing.T, st *model.Store, feed bool) *model.Exec {
	t.Helper()
	e, err := model.NewExec(gomlxtest.Backend(t), st, func(_ *model.Scope, x *graph.Node) *graph.Node {
		g := x.Graph()
		st.SetTraining(g, false)
		if feed {
			FeedVariables(st, g)
			if st.IsTraining(g) {
				t.Error("FeedVariables left the graph marked for training")
			}
		}
		return graph.Mul(st.GetVariable("/m/w").NodeValue(g), x)
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// twoReads runs e, sets /m/w from 2 to 5, runs e again (same shapes: the
// compiled graph is reused) and returns both results.
func twoReads(t *testing.T, st *model.Store, e *model.Exec) (before, after float32) {
	t.Helper()
	x := tensors.FromValue([]float32{1})
	out, err := e.Exec1(x)
	if err != nil {
		t.Fatal(err)
	}
	before = tensors.MustCopyFlatData[float32](out)[0]
	if err := st.GetVariable("/m/w").SetValue(tensors.FromValue([]float32{5})); err != nil {
		t.Fatal(err)
	}
	out, err = e.Exec1(x)
	if err != nil {
		t.Fatal(err)
	}
	return before, tensors.MustCopyFlatData[float32](out)[0]
}

func storeWithW(t *testing.T) *model.Store {
	t.Helper()
	st := model.NewStore()
	if err := setVariable(st, "/m/w", tensors.FromValue([]float32{2})); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestUpstreamEmbedsVariablesAsConstants is the minimal reproduction of the
// GoMLX behaviour that broke training on gomlx v0.28.15+ / compute v0.1.13+
// (docs/gomlx-constant-variables.md): an inference graph compiled once and
// executed again after a variable changed still computes with the old
// value, without any error. It asserts the faulty behaviour on backends that
// advertise PreferConstantsForVariables, so it fails — and says the
// workaround can go — the day GoMLX stops doing this.
func TestUpstreamEmbedsVariablesAsConstants(t *testing.T) {
	b := gomlxtest.Backend(t)
	st := storeWithW(t)
	before, after := twoReads(t, st, readExec(t, st, false))
	if before != 2 {
		t.Fatalf("first read %g, want 2", before)
	}
	if !b.Capabilities().PreferConstantsForVariables {
		if after != 5 {
			t.Fatalf("backend %s feeds variables as parameters, yet the second read is %g, want 5", b.Name(), after)
		}
		t.Logf("backend %s does not prefer constants: nothing to reproduce", b.Name())
		return
	}
	if after != 2 {
		t.Fatalf("GoMLX no longer embeds a variable's value in a compiled inference graph (second read %g, "+
			"want the stale 2): train.FeedVariables and the guard in Optimizer.Step may be retired", after)
	}
}

// TestFeedVariablesSeesUpdates: with FeedVariables the same compiled graph
// reads the variable's current value at every execution.
func TestFeedVariablesSeesUpdates(t *testing.T) {
	st := storeWithW(t)
	before, after := twoReads(t, st, readExec(t, st, true))
	if before != 2 || after != 5 {
		t.Fatalf("reads %g then %g, want 2 then 5", before, after)
	}
}

// TestStepRefusesConstantVariables: an optimiser step built in a graph that
// would embed the weights as constants (not marked for training) fails with
// an error naming a variable, instead of silently restarting every update
// from the compiled-in weights.
func TestStepRefusesConstantVariables(t *testing.T) {
	if !gomlxtest.Backend(t).Capabilities().PreferConstantsForVariables {
		t.Skip("this backend feeds every variable as a parameter")
	}
	g := golden(t)
	store := toyStore(t, g)
	opt, err := NewOptimizer(store, DefaultAdamW())
	if err != nil {
		t.Fatal(err)
	}
	e, err := model.NewExec(gomlxtest.Backend(t), store, func(_ *model.Scope, x, y *graph.Node) []*graph.Node {
		loss := toyLoss(store, x, y)
		return []*graph.Node{loss, opt.Step(loss, Trainable(store, x.Graph(), "/model/"), true)}
	})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := weights.ToTensorF32(g.Tensors["x"])
	y, _ := weights.ToTensorF32(g.Tensors["y"])
	_, err = e.Exec(x, y)
	if err == nil || !strings.Contains(err.Error(), "/model/") || !strings.Contains(err.Error(), "not a parameter") {
		t.Fatalf("err = %v, want one naming a /model/ variable that is not a parameter", err)
	}
}
