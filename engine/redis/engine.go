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
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/taskengine"
)

// Store is what the engine reads from the metadata store. dbplane.Store
// satisfies it.
type Store interface {
	FindTaskByID(ctx context.Context, id int64) (*dbplane.Task, error)
	FindClusterByID(ctx context.Context, id int64) (*dbplane.Cluster, error)
	// ClusterPassword returns the cluster's admin password, which the
	// stored spec does not hold.
	ClusterPassword(ctx context.Context, id int64) (string, error)
	// TaskPassword returns the new admin password of a password change
	// task.
	TaskPassword(ctx context.Context, taskID int64) (string, error)
}

// Engine plans and performs Redis cluster changes.
type Engine struct {
	Store  Store
	Dialer dbplane.AgentDialer
	// Catalog gives the packages of each version and the size of each
	// flavor; the zero value means dbplane.DefaultCatalog().
	Catalog dbplane.Catalog
	// CA issues the server certificates of clusters with SSL on, and
	// verifies them when the engine talks to their nodes; such a cluster
	// fails to build without it.
	CA     dbplane.CertIssuer
	Logger *slog.Logger

	// connect opens a connection to a node; nil means go-redis. Tests
	// replace it with a fake Redis.
	connect connectFunc
}

// Handler names of the steps, as plans refer to them.
const (
	HandlerPrecheck      = "redis.precheck_host"
	HandlerInstall       = "redis.install_packages"
	HandlerPrepare       = "redis.prepare_directories"
	HandlerTLS           = "redis.write_tls"
	HandlerCreateUsers   = "redis.create_users"
	HandlerConfigure     = "redis.configure_node"
	HandlerStart         = "redis.start_node"
	HandlerStop          = "redis.stop_node"
	HandlerVerifyReplica = "redis.verify_replication"
	HandlerCreateCluster = "redis.create_cluster"
	HandlerVerifyCluster = "redis.verify_cluster"
	HandlerRemove        = "redis.remove_node"
	// Password and parameter changes (see plan_change.go).
	HandlerSetPassword     = "redis.set_password"
	HandlerCheckParameters = "redis.check_parameters"
	HandlerApplyParameters = "redis.apply_parameters"
)

// stepParams are the parameters of every step: the node it acts on. Steps
// on the cluster as a whole (users, cluster creation) act on node 0.
type stepParams struct {
	Ordinal int `json:"ordinal"`
	// Parameters are the change of a parameter change's steps.
	Parameters map[string]string `json:"parameters,omitempty"`
}

// step is one run of a handler: the cluster and node it acts on.
type step struct {
	e      *Engine
	c      *dbplane.Cluster
	n      node
	taskID int64
	params map[string]string // the parameters of a parameter change
	logf   func(format string, args ...any)

	password string // the admin password, once read
}

type stepFunc func(ctx context.Context, s *step) error

// handlers maps handler names to their functions.
func (e *Engine) handlers() map[string]stepFunc {
	return map[string]stepFunc{
		HandlerPrecheck:        e.precheck,
		HandlerInstall:         e.install,
		HandlerPrepare:         e.prepare,
		HandlerTLS:             e.writeTLS,
		HandlerCreateUsers:     e.createUsers,
		HandlerConfigure:       e.configure,
		HandlerStart:           e.start,
		HandlerStop:            e.stop,
		HandlerVerifyReplica:   e.verifyReplication,
		HandlerCreateCluster:   e.createCluster,
		HandlerVerifyCluster:   e.verifyCluster,
		HandlerRemove:          e.remove,
		HandlerSetPassword:     e.setPassword,
		HandlerCheckParameters: e.checkParameters,
		HandlerApplyParameters: e.applyParameters,
	}
}

// Register registers the step handlers on a task engine.
func (e *Engine) Register(te *taskengine.Engine) {
	for name, fn := range e.handlers() {
		te.Register(name, func(ctx context.Context, run *taskengine.Run) error {
			logf := func(format string, args ...any) { run.Logf(ctx, format, args...) }
			return e.runStep(ctx, name, fn, run.Subtask.TaskID, run.Subtask.Params, logf)
		})
	}
}

// runStep loads the cluster and node of a step and runs fn on them.
func (e *Engine) runStep(ctx context.Context, name string, fn stepFunc, taskID int64, raw json.RawMessage, logf func(string, ...any)) error {
	var p stepParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return dbplane.Permanent(fmt.Errorf("while decoding the parameters of %s: %w", name, err))
	}
	c, err := e.cluster(ctx, taskID)
	if err != nil {
		return err
	}
	n, err := nodeOf(c, p.Ordinal)
	if err != nil {
		return err
	}
	e.logger().DebugContext(ctx, "redis step", "handler", name, "cluster", c.Name, "node", n.Ordinal, "host", n.HostID)
	return fn(ctx, &step{e: e, c: c, n: n, taskID: taskID, params: p.Parameters, logf: logf})
}

// cluster returns the cluster the task changes.
func (e *Engine) cluster(ctx context.Context, taskID int64) (*dbplane.Cluster, error) {
	t, err := e.Store.FindTaskByID(ctx, taskID)
	if err != nil {
		return nil, fmt.Errorf("while reading task %d: %w", taskID, err)
	}
	if t.ClusterID == 0 {
		return nil, dbplane.Permanent(fmt.Errorf("task %d has no cluster", t.ID))
	}
	c, err := e.Store.FindClusterByID(ctx, t.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("while reading cluster %d: %w", t.ClusterID, err)
	}
	if _, ok := e.catalog().Version(dbplane.EngineRedis, c.Version); !ok {
		return nil, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "the catalog has no Redis %q", c.Version))
	}
	return c, nil
}

func (e *Engine) catalog() dbplane.Catalog {
	if len(e.Catalog.Engines) == 0 {
		return dbplane.DefaultCatalog()
	}
	return e.Catalog
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// agent returns the agent of the host of n.
func (s *step) agent(ctx context.Context, n node) (dbplane.HostAgent, error) {
	a, err := s.e.Dialer.Agent(ctx, n.HostID)
	if err != nil {
		return nil, fmt.Errorf("while reaching the agent of host %d: %w", n.HostID, err)
	}
	return a, nil
}

// adminPassword returns the cluster's admin password from the store.
func (s *step) adminPassword(ctx context.Context) (string, error) {
	if s.password != "" {
		return s.password, nil
	}
	pw, err := s.e.Store.ClusterPassword(ctx, s.c.ID)
	taskengine.Redact(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("while reading the admin password of cluster %s: %w", s.c.Name, err)
	}
	if pw == "" {
		return "", dbplane.Permanent(fmt.Errorf("cluster %s has no admin password", s.c.Name))
	}
	s.password = pw
	return pw, nil
}
