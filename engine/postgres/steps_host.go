package postgres

import (
	"context"
	"path"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// precheck verifies the host of the node can take it before anything is
// changed: its agent answers, it has the volume's disk free, the node's
// socket path fits, and nothing else listens on the node's port.
func (e *Engine) precheck(ctx context.Context, s *step) error {
	k := s.Step
	a, err := enginekit.CheckHost(ctx, k)
	if err != nil {
		return err
	}
	if err := enginekit.CheckSocketPath(k, s.n.socketPath()); err != nil {
		return err
	}
	return enginekit.CheckPorts(ctx, k, a, s.n.instanceID(), []int{s.n.Port})
}

// install makes sure the packages of the cluster's version are installed.
func (e *Engine) install(ctx context.Context, s *step) error {
	return enginekit.Install(ctx, s.Step, dbplane.EnginePostgreSQL, "PostgreSQL", e.version(s.Cluster))
}

// prepare creates the node's directories, owned by postgres: the data
// directory 0700, as PostgreSQL insists, and the node's home beside it.
func (e *Engine) prepare(ctx context.Context, s *step) error {
	n := s.n
	return enginekit.Prepare(ctx, s.Step, osUser, n.home(), []enginekit.Dir{
		{Path: path.Dir(n.DataDir), Mode: 0o755},
		{Path: n.DataDir, Mode: 0o700},
		{Path: n.home(), Mode: 0o700},
	})
}

// remove stops the node if it runs and removes its data directory and
// home: the delete step of a node, and the undo of preparing its
// directories.
func (e *Engine) remove(ctx context.Context, s *step) error {
	return enginekit.Remove(ctx, s.Step, s.n.instanceID(), s.n.paths())
}

// stop stops the node: the undo of starting it.
func (e *Engine) stop(ctx context.Context, s *step) error {
	return enginekit.Stop(ctx, s.Step, s.n.instanceID())
}
