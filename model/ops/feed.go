package ops

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// FeedVariables makes every variable of store enter g as a graph parameter,
// fed with the variable's value at each execution, and leaves g's training
// flag as it was. Every graph cmrfm builds over a model.Store calls it (the
// training graphs get the same effect from being marked for training).
//
// Why: from compute v0.1.13 on, the pure-Go backend advertises
// PreferConstantsForVariables, and GoMLX (ml/model/variable.go, paramNode)
// then embeds the *current value* of every variable as a constant in any
// graph not marked for training. model.Exec compiles a graph once per input
// shape and keeps it, so such a graph goes on computing with the weights it
// was compiled with after they change, without any error
// (docs/gomlx-constant-variables.md).
//
// Frozen-weight inference (cmrfm forward, predict) feeds them too: on this
// backend the constants were not measurably faster (the matmul kernels pack
// a constant operand once, but packing is a few percent of a product), and
// they cost a copy of every weight plus its packed copy — 270 MB more peak
// memory for MViT-B — while parameters share the variables' buffers.
func FeedVariables(store *model.Store, g *graph.Graph) {
	was := store.IsTraining(g)
	store.SetTraining(g, true) // paramNode feeds variables of training graphs as parameters
	for v := range store.IterVariables() {
		v.NodeValue(g)
	}
	store.SetTraining(g, was)
}
