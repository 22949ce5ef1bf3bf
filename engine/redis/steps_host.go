package redis

import (
	"context"
	"path"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// maxPort is the highest TCP port.
const maxPort = 65535

// precheck verifies the host of the node can take it before anything is
// changed: its agent answers, it has the volume's disk free, and nothing
// else listens on the node's port (nor, in a Redis cluster, on its cluster
// bus port).
func (e *Engine) precheck(ctx context.Context, s *step) error {
	n := s.n
	if n.isRedisCluster() && n.busPort() > maxPort {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
			"node %d listens on port %d, so its cluster bus would need port %d, above %d", n.Ordinal, n.Port, n.busPort(), maxPort))
	}
	k := s.Step
	a, err := enginekit.CheckHost(ctx, k)
	if err != nil {
		return err
	}
	ports := []int{n.Port}
	if n.isRedisCluster() {
		ports = append(ports, n.busPort())
	}
	return enginekit.CheckPorts(ctx, k, a, n.instanceID(), ports)
}

// install makes sure the packages of the cluster's version are installed.
func (e *Engine) install(ctx context.Context, s *step) error {
	return enginekit.Install(ctx, s.Step, dbplane.EngineRedis, "Redis", s.Cluster.Version)
}

// prepare creates the node's directories, owned by redis and 0700: the
// data directory, where Redis writes its snapshots, append-only files and
// cluster state, and the node's home beside it.
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

// run runs a command and fails when it exits non-zero.
var run = enginekit.Run

// tail returns the last n bytes of s, trimmed.
var tail = enginekit.Tail
