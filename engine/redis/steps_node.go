package redis

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// configure writes the node's redis.conf.
func (e *Engine) configure(ctx context.Context, s *step) error {
	n := s.n
	mem, vcpus, err := e.size(s)
	if err != nil {
		return err
	}
	conf, err := renderConf(n, mem, vcpus)
	if err != nil {
		return err
	}
	if err := enginekit.Configure(ctx, s.Step, dbplane.File{Path: n.confFile(), Owner: osUser, Mode: 0o600, Content: conf}); err != nil {
		return err
	}
	what := "primary"
	switch {
	case n.isRedisCluster():
		what = fmt.Sprintf("cluster node of shard %d, cluster bus on port %d", n.shard(), n.busPort())
	case !n.isPrimary():
		what = fmt.Sprintf("replica of node %d", primaryOf(s.Cluster))
	}
	s.Logf("wrote %s of node %d (%s): listen on %s, maxmemory %s, persistence %s",
		n.confFile(), n.Ordinal, what, n.hostPort(), dbplane.EngineSettings(dbplane.EngineRedis, mem, vcpus)["maxmemory"], persistence(s.Cluster))
	return nil
}

// persistence is the cluster's persistence mode.
func persistence(c *dbplane.Cluster) string {
	if c.Spec.Persistence == "" {
		return PersistenceRDB
	}
	return c.Spec.Persistence
}

// size returns the memory of the node (what placement promised it, or its
// flavor's) and the vCPUs of its flavor (0 when the catalog does not know
// the flavor: then the CPU is not limited).
func (e *Engine) size(s *step) (int64, int, error) {
	f, ok := e.Catalogue().Flavor(s.Cluster.Spec.Flavor)
	mem := s.n.MemoryMB
	if mem == 0 && ok {
		mem = int64(f.MemoryGB) * 1024
	}
	if mem == 0 {
		return 0, 0, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "the catalog has no flavor %q", s.Cluster.Spec.Flavor))
	}
	return mem, f.VCPUs, nil
}

// start has the agent supervise the node's redis-server and waits until
// the node answers PING as the admin user.
func (e *Engine) start(ctx context.Context, s *step) error {
	n := s.n
	mem, vcpus, err := e.size(s)
	if err != nil {
		return err
	}
	inst := dbplane.Instance{
		ID:         n.instanceID(),
		User:       osUser,
		Argv:       []string{serverBinary, n.confFile()},
		Dir:        n.home(),
		PIDFile:    n.pidFile(),
		Log:        n.logFile(),
		StopSignal: "SIGTERM",
		Resources:  &dbplane.Resources{CPUMillis: vcpus * 1000, MemoryMB: mem},
	}
	if _, err := enginekit.Start(ctx, s.Step, inst, s.waitReady); err != nil {
		return err
	}
	s.Logf("node %d answers on %s", n.Ordinal, n.hostPort())
	return nil
}

// waitReady polls the node with PING, as the admin user, until it answers.
func (s *step) waitReady(ctx context.Context, _ dbplane.HostAgent) error {
	return enginekit.WaitReady(ctx, s.Step, readyTimeout, "answer", func(ctx context.Context) error { return s.ping(ctx, s.n) })
}

// ping sends PING to n over a new connection, so that each try dials
// anew.
func (s *step) ping(ctx context.Context, n node) error {
	c, err := s.open(ctx, n)
	if err != nil {
		return err
	}
	defer c.Close()
	pong, err := command(ctx, c, n, "PING")
	if err == nil && pong != "PONG" {
		err = fmt.Errorf("node %d answered PING with %q", n.Ordinal, pong)
	}
	return err
}
