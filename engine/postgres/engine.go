// Package postgres runs PostgreSQL clusters. It plans the steps that create
// and delete a cluster and performs each step through the agents of the
// cluster's hosts: the agents only know how to install packages, write files,
// run commands and supervise processes, and everything PostgreSQL-specific
// (initdb, configuration, users, streaming replication) lives here.
//
// Every step handler is idempotent: it checks what is already in place on
// the host and does only what is missing, so the task engine may run it
// again after a crash or a retry.
package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"

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

// Engine plans and performs PostgreSQL cluster changes.
type Engine struct {
	Store  Store
	Dialer dbplane.AgentDialer
	// Catalog gives the packages of each version and the memory of each
	// flavor; the zero value means dbplane.DefaultCatalog().
	Catalog dbplane.Catalog
	// CA issues the server certificates of clusters with SSL on; such a
	// cluster fails to build without it.
	CA     dbplane.CertIssuer
	Logger *slog.Logger
}

// Handler names of the steps, as plans refer to them.
const (
	HandlerPrecheck    = "postgresql.precheck_host"
	HandlerInstall     = "postgresql.install_packages"
	HandlerPrepare     = "postgresql.prepare_directories"
	HandlerTLS         = "postgresql.write_tls"
	HandlerInit        = "postgresql.init_primary"
	HandlerConfigure   = "postgresql.configure_node"
	HandlerStart       = "postgresql.start_node"
	HandlerStop        = "postgresql.stop_node"
	HandlerCreateUsers = "postgresql.create_users"
	HandlerBaseBackup  = "postgresql.base_backup"
	HandlerVerify      = "postgresql.verify_streaming"
	HandlerRemove      = "postgresql.remove_node"
	// Password and parameter changes (see plan_change.go).
	HandlerSetPassword     = "postgresql.set_password"
	HandlerVerifyPassword  = "postgresql.verify_password"
	HandlerCheckParameters = "postgresql.check_parameters"
	HandlerApplyParameters = "postgresql.apply_parameters"
)

// stepParams are the parameters of every step: the node it acts on. Steps
// on the cluster as a whole (init, users) act on the primary.
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
}

type stepFunc func(ctx context.Context, s *step) error

// handlers maps handler names to their functions.
func (e *Engine) handlers() map[string]stepFunc {
	return map[string]stepFunc{
		HandlerPrecheck:        e.precheck,
		HandlerInstall:         e.install,
		HandlerPrepare:         e.prepare,
		HandlerTLS:             e.writeTLS,
		HandlerInit:            e.initPrimary,
		HandlerConfigure:       e.configure,
		HandlerStart:           e.start,
		HandlerStop:            e.stop,
		HandlerCreateUsers:     e.createUsers,
		HandlerBaseBackup:      e.baseBackup,
		HandlerVerify:          e.verifyStreaming,
		HandlerRemove:          e.remove,
		HandlerSetPassword:     e.setPassword,
		HandlerVerifyPassword:  e.verifyPassword,
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
	e.logger().DebugContext(ctx, "postgresql step", "handler", name, "cluster", c.Name, "node", n.Ordinal, "host", n.HostID)
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
	if !versionPattern.MatchString(e.version(c)) {
		return nil, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "PostgreSQL version %q is not a major version", c.Version))
	}
	return c, nil
}

// versionPattern matches major versions: they become paths.
var versionPattern = regexp.MustCompile(`^[0-9]{1,3}$`)

func (e *Engine) catalog() dbplane.Catalog {
	if len(e.Catalog.Engines) == 0 {
		return dbplane.DefaultCatalog()
	}
	return e.Catalog
}

// version returns the cluster's major version, or the catalog default.
func (e *Engine) version(c *dbplane.Cluster) string {
	if c.Version != "" {
		return c.Version
	}
	ev, _ := e.catalog().Version(dbplane.EnginePostgreSQL, "")
	return ev.Version
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

// bin returns the path of a PostgreSQL program of the cluster's version.
func (s *step) bin(program string) string { return binary(s.e.version(s.c), program) }

// primary returns the cluster's primary.
func (s *step) primary() (node, error) { return nodeOf(s.c, primaryOf(s.c).Ordinal) }
