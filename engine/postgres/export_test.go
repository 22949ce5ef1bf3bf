package postgres

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
)

// RunStep runs the handler named name for a subtask of task taskID with the
// given parameters, as the task engine would, so that tests drive steps
// without a store of tasks.
func (e *Engine) RunStep(ctx context.Context, name string, taskID int64, params json.RawMessage, logf func(string, ...any)) error {
	return e.steps().RunStep(ctx, name, taskID, params, logf)
}

// HandlerNames lists the handlers Register registers.
func (e *Engine) HandlerNames() []string { return slices.Collect(maps.Keys(e.steps().Handlers())) }

// ScramVerifier and ScramMatches expose SCRAM verifiers for tests.
var (
	ScramVerifier = scramVerifier
	ScramMatches  = scramMatches
)
