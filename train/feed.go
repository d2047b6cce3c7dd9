package train

import (
	"fmt"

	"github.com/cmrfm/cmrfm/model/ops"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph building reads best unqualified
	"github.com/gomlx/gomlx/ml/model"
)

// FeedVariables makes every variable of store enter g as a graph parameter,
// fed with the variable's value at each execution, and leaves g's training
// flag as it was. Call it first in any graph that is executed again after
// the weights change — validation between training updates, an embedder
// used while a model trains — and that is not marked for training.
//
// Why: from compute v0.1.13 on, the pure-Go backend advertises
// PreferConstantsForVariables, and GoMLX (ml/model/variable.go, paramNode)
// then embeds the *current value* of every variable as a constant in any
// graph not marked for training (Store.SetTraining). model.Exec compiles a
// graph once per input shape and keeps it, so a validation graph compiled
// at epoch 1 keeps scoring epoch 1's weights for the rest of the run, and a
// graph that updates a variable without being marked for training starts
// every update from the weights it was compiled with. Neither fails: the
// numbers are silently wrong. docs/gomlx-constant-variables.md has the
// reproduction (TestUpstreamEmbedsVariablesAsConstants) and the report.
// It is [ops.FeedVariables], which the model packages' inference graphs call.
func FeedVariables(store *model.Store, g *Graph) { ops.FeedVariables(store, g) }

// fedAsParameter panics, naming the variable and the remedy, unless v enters
// g as a graph parameter: a variable updated by a graph must be read from its
// current value at each execution, not from a constant fixed at compile time.
func fedAsParameter(v *model.Variable, g *Graph) *Node {
	n := v.NodeValue(g)
	if n.Type() != NodeTypeParameter {
		panic(fmt.Errorf("train: variable %s enters the graph as a %s, not a parameter: a graph that "+
			"updates variables must be marked for training (Store.SetTraining(g, true)) or call "+
			"train.FeedVariables before using them", v.Path(), n.Type()))
	}
	return n
}
