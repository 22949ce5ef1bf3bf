// Package redis runs Redis 7 clusters: standalone, replication (a primary
// and its replicas) and Redis Cluster (shards of a primary and replicas
// sharing the 16384 hash slots). It plans the steps that create and delete
// a cluster and performs each step through the agents of the cluster's
// hosts, which only install packages, write files, run commands and
// supervise processes. Everything Redis-specific (configuration, ACL users,
// replication, slots) lives here.
//
// Steps that talk to Redis itself (waiting for a node, replication and
// cluster commands, checks) do so directly from the control plane with
// go-redis, as the cluster's admin user, over the address clients use: no
// password ever goes through an agent, a command line or a process
// environment on a host.
//
// Every step handler is idempotent: it checks what is already in place and
// does only what is missing, so the task engine may run it again after a
// crash or a retry.
package redis

import (
	"context"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/taskengine"
)

// Engine plans and performs Redis cluster changes.
type Engine struct {
	// Deps are the store, dialer, catalog, CA and logger; a cluster with
	// SSL on fails to build without a CA.
	enginekit.Deps

	// connect opens a connection to a node; nil means go-redis. Tests
	// replace it with a fake Redis.
	connect connectFunc
}

// engineName names the engine in the catalog, its handlers and its logs.
const engineName = dbplane.EngineRedis

// HandlerStop is the handler of the host step that stops a node, which
// the kit performs; the plans of the other host steps come from the kit.
const HandlerStop = engineName + "." + enginekit.StepStop

// Handler names of the engine's own steps, as plans refer to them.
const (
	HandlerCreateUsers   = "redis.create_users"
	HandlerConfigure     = "redis.configure_node"
	HandlerStart         = "redis.start_node"
	HandlerVerifyReplica = "redis.verify_replication"
	HandlerCreateCluster = "redis.create_cluster"
	HandlerVerifyCluster = "redis.verify_cluster"
	// Password and parameter changes (see plan_change.go).
	HandlerSetPassword     = "redis.set_password"
	HandlerCheckParameters = "redis.check_parameters"
	HandlerApplyParameters = "redis.apply_parameters"
)

// Register registers the step handlers on a task engine.
func (e *Engine) Register(te *taskengine.Engine) { e.steps().Register(te) }

// steps are the engine's step handlers: the kit's host steps and the
// engine's own.
func (e *Engine) steps() enginekit.Steps[*step] {
	return enginekit.Steps[*step]{
		Runner: enginekit.Runner[*step]{Deps: e.Deps, Engine: engineName, Check: e.checkVersion,
			NewStep: func(k *enginekit.Step) *step { return &step{Step: k, e: e, n: node(k.On())} }},
		Own: map[string]func(context.Context, *step) error{
			HandlerCreateUsers:     e.createUsers,
			HandlerConfigure:       e.configure,
			HandlerStart:           e.start,
			HandlerVerifyReplica:   e.verifyReplication,
			HandlerCreateCluster:   e.createCluster,
			HandlerVerifyCluster:   e.verifyCluster,
			HandlerSetPassword:     e.setPassword,
			HandlerCheckParameters: e.checkParameters,
			HandlerApplyParameters: e.applyParameters,
		},
	}
}

// checkVersion rejects a cluster of a version the catalog does not know:
// its packages and configuration come from there.
func (e *Engine) checkVersion(c *dbplane.Cluster) error {
	if _, ok := e.Catalogue().Version(dbplane.EngineRedis, c.Version); !ok {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "the catalog has no Redis %q", c.Version))
	}
	return nil
}

// step is one run of a handler: the kit's step, with the node's paths.
type step struct {
	*enginekit.Step
	e *Engine
	n node

	password string // the admin password, once read
}

// adminPassword returns the cluster's admin password, read once.
func (s *step) adminPassword(ctx context.Context) (string, error) {
	if s.password != "" {
		return s.password, nil
	}
	pw, err := s.AdminPassword(ctx)
	if err != nil {
		return "", err
	}
	s.password = pw
	return pw, nil
}
