package enginekit

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/taskengine"
)

// Params are the parameters of every step: the node it acts on. Steps on
// the cluster as a whole act on a node the engine chooses (its primary).
type Params struct {
	Ordinal int `json:"ordinal"`
	// Parameters are the change of a parameter change's steps.
	Parameters map[string]string `json:"parameters,omitempty"`
}

// Step is one run of a handler: the cluster and node it acts on. Engines
// wrap it in a step of their own that adds the node's paths.
type Step struct {
	Deps    Deps
	Cluster *dbplane.Cluster
	Node    dbplane.Node
	TaskID  int64
	Params  map[string]string // the parameters of a parameter change
	Logf    func(format string, args ...any)
}

// Agent returns the agent of the host of n.
func (s *Step) Agent(ctx context.Context, n dbplane.Node) (dbplane.HostAgent, error) {
	a, err := s.Deps.Dialer.Agent(ctx, n.HostID)
	if err != nil {
		return nil, fmt.Errorf("while reaching the agent of host %d: %w", n.HostID, err)
	}
	return a, nil
}

// Runner turns a subtask into an engine's step S and runs a handler on it.
type Runner[S any] struct {
	Deps Deps
	// Engine names the engine in debug logs ("postgresql step").
	Engine string
	// Check rejects a loaded cluster the engine cannot act on; nil accepts
	// every cluster.
	Check func(c *dbplane.Cluster) error
	// NewStep wraps the kit's step in the engine's.
	NewStep func(s *Step) S
}

// Run decodes raw, loads the cluster of task taskID and the node raw names,
// and runs fn on them. name is the handler's, for errors and logs.
func (r Runner[S]) Run(ctx context.Context, name string, fn func(context.Context, S) error, taskID int64, raw json.RawMessage, logf func(string, ...any)) error {
	var p Params
	if err := json.Unmarshal(raw, &p); err != nil {
		return dbplane.Permanent(fmt.Errorf("while decoding the parameters of %s: %w", name, err))
	}
	c, err := r.Deps.Cluster(ctx, taskID)
	if err != nil {
		return err
	}
	if r.Check != nil {
		if err := r.Check(c); err != nil {
			return err
		}
	}
	n, err := NodeOf(c, p.Ordinal)
	if err != nil {
		return err
	}
	r.Deps.Log().DebugContext(ctx, r.Engine+" step", "handler", name, "cluster", c.Name, "node", n.Ordinal, "host", n.HostID)
	return fn(ctx, r.NewStep(&Step{Deps: r.Deps, Cluster: c, Node: n, TaskID: taskID, Params: p.Parameters, Logf: logf}))
}

// Register registers each handler on te: a run of it goes through r.
func Register[S any](te *taskengine.Engine, r Runner[S], handlers map[string]func(context.Context, S) error) {
	for name, fn := range handlers {
		te.Register(name, func(ctx context.Context, run *taskengine.Run) error {
			logf := func(format string, args ...any) { run.Logf(ctx, format, args...) }
			return r.Run(ctx, name, fn, run.Subtask.TaskID, run.Subtask.Params, logf)
		})
	}
}

// NodeOf returns the node of c with the given ordinal, with its cluster's
// ID set. A node without a data directory, port or address cannot be acted
// on, now or on a retry.
func NodeOf(c *dbplane.Cluster, ordinal int) (dbplane.Node, error) {
	for _, n := range c.Nodes {
		if n.Ordinal == ordinal {
			if n.DataDir == "" || n.Port == 0 || n.Address == "" {
				return dbplane.Node{}, dbplane.Permanent(fmt.Errorf("node %d of cluster %s has no data directory, port or address", ordinal, c.Name))
			}
			n.ClusterID = c.ID
			return n, nil
		}
	}
	return dbplane.Node{}, dbplane.Permanent(dbplane.Errorf(dbplane.KindNotFound, "cluster %s has no node %d", c.Name, ordinal))
}

// StepParams returns the parameters of a step on node ordinal.
func StepParams(ordinal int) json.RawMessage {
	params, _ := json.Marshal(Params{Ordinal: ordinal}) // cannot fail: an int
	return params
}

// Steps are an engine's step handlers: its own, by name, and how a run of
// one becomes the engine's step S. The kit adds the host steps.
type Steps[S HostStep] struct {
	Runner[S]
	Own map[string]func(context.Context, S) error
}

// Handlers returns every handler of the engine by name: its own and the
// host steps.
func (st Steps[S]) Handlers() map[string]func(context.Context, S) error {
	return HostHandlers(st.Engine, maps.Clone(st.Own))
}

// Register registers every handler on te.
func (st Steps[S]) Register(te *taskengine.Engine) { Register(te, st.Runner, st.Handlers()) }

// RunStep runs the handler named name for a subtask of task taskID with
// the given parameters, as the task engine would, so that tests drive
// steps without a store of tasks.
func (st Steps[S]) RunStep(ctx context.Context, name string, taskID int64, params json.RawMessage, logf func(string, ...any)) error {
	fn, ok := st.Handlers()[name]
	if !ok {
		return fmt.Errorf("no handler named %q", name)
	}
	return st.Run(ctx, name, fn, taskID, params, logf)
}
