package postgres

import (
	"context"
	"encoding/json"
	"fmt"
)

// RunStep runs the handler named name for a subtask of task taskID with the
// given parameters, as the task engine would, so that tests drive steps
// without a store of tasks.
func (e *Engine) RunStep(ctx context.Context, name string, taskID int64, params json.RawMessage, logf func(string, ...any)) error {
	fn, ok := e.handlers()[name]
	if !ok {
		return fmt.Errorf("no handler named %q", name)
	}
	return e.runner().Run(ctx, name, fn, taskID, params, logf)
}

// HandlerNames lists the handlers Register registers.
func (e *Engine) HandlerNames() []string {
	var names []string
	for name := range e.handlers() {
		names = append(names, name)
	}
	return names
}

// ScramVerifier and ScramMatches expose SCRAM verifiers for tests.
var (
	ScramVerifier = scramVerifier
	ScramMatches  = scramMatches
)
