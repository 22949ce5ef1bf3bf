// Package mysql runs MariaDB clusters (dbplane's "mysql" engine): a
// standalone server, a primary with GTID replicas (asynchronous, or
// lossless semi-synchronous), or a galera cluster. It plans the steps that
// create and delete a cluster and performs each step through the agents of
// the cluster's hosts: the agents only know how to install packages, write
// files, run commands and supervise processes, and everything
// MariaDB-specific (mariadb-install-db, configuration, accounts,
// replication, galera) lives here.
//
// Every step handler is idempotent: it checks what is already in place on
// the host and does only what is missing, so the task engine may run it
// again after a crash or a retry.
package mysql

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
	// FindHostByID tells the zone of a node's host: a galera cluster's
	// endpoints put the members of its primary zone first.
	FindHostByID(ctx context.Context, id int64) (*dbplane.Host, error)
	// TaskPassword returns the new admin password of a password change
	// task.
	TaskPassword(ctx context.Context, taskID int64) (string, error)
}

// Engine plans and performs MariaDB cluster changes.
type Engine struct {
	Store  Store
	Dialer dbplane.AgentDialer
	// Catalog gives the packages of each version and the size of each
	// flavor; the zero value means dbplane.DefaultCatalog().
	Catalog dbplane.Catalog
	// CA issues the server certificates of clusters with SSL on; such a
	// cluster fails to build without it.
	CA     dbplane.CertIssuer
	Logger *slog.Logger
}

// Handler names of the steps, as plans refer to them.
const (
	HandlerPrecheck          = "mysql.precheck_host"
	HandlerInstall           = "mysql.install_packages"
	HandlerPrepare           = "mysql.prepare_directories"
	HandlerTLS               = "mysql.write_tls"
	HandlerInit              = "mysql.init_node"
	HandlerConfigure         = "mysql.configure_node"
	HandlerStart             = "mysql.start_node"
	HandlerStop              = "mysql.stop_node"
	HandlerCreateUsers       = "mysql.create_users"
	HandlerAttachReplica     = "mysql.attach_replica"
	HandlerVerifyReplica     = "mysql.verify_replica"
	HandlerVerifyReplication = "mysql.verify_replication"
	HandlerBootstrap         = "mysql.bootstrap_galera"
	HandlerJoin              = "mysql.join_galera"
	HandlerRejoin            = "mysql.rejoin_galera"
	HandlerVerifyGalera      = "mysql.verify_galera"
	HandlerRemove            = "mysql.remove_node"
	// HandlerBootstrapRecovered starts a stopped galera cluster from its
	// most advanced member; HandlerStartMember starts one member.
	HandlerBootstrapRecovered = "mysql.bootstrap_recovered"
	HandlerStartMember        = "mysql.start_member"
	// Password and parameter changes (see plan_change.go).
	HandlerSetPassword     = "mysql.set_password"
	HandlerVerifyPassword  = "mysql.verify_password"
	HandlerCheckParameters = "mysql.check_parameters"
	HandlerApplyParameters = "mysql.apply_parameters"
)

// stepParams are the parameters of every step: the node it acts on. Steps
// on the cluster as a whole (users, verification) act on the primary.
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
		HandlerPrecheck:           e.precheck,
		HandlerInstall:            e.install,
		HandlerPrepare:            e.prepare,
		HandlerTLS:                e.writeTLS,
		HandlerInit:               e.initNode,
		HandlerConfigure:          e.configure,
		HandlerStart:              e.start,
		HandlerStop:               e.stop,
		HandlerCreateUsers:        e.createUsers,
		HandlerAttachReplica:      e.attachReplica,
		HandlerVerifyReplica:      e.verifyReplica,
		HandlerVerifyReplication:  e.verifyReplication,
		HandlerBootstrap:          e.bootstrap,
		HandlerJoin:               e.join,
		HandlerRejoin:             e.rejoin,
		HandlerVerifyGalera:       e.verifyGalera,
		HandlerRemove:             e.remove,
		HandlerBootstrapRecovered: e.bootstrapRecovered,
		HandlerStartMember:        e.startMember,
		HandlerSetPassword:        e.setPassword,
		HandlerVerifyPassword:     e.verifyPassword,
		HandlerCheckParameters:    e.checkParameters,
		HandlerApplyParameters:    e.applyParameters,
		HandlerAttachStandby:      e.attachStandby,
		HandlerVerifyStandby:      e.verifyStandby,
		HandlerDetachStandby:      e.detachStandby,
		HandlerSeedStandby:        e.seedStandby,
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
	e.logger().DebugContext(ctx, "mysql step", "handler", name, "cluster", c.Name, "node", n.Ordinal, "host", n.HostID)
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
	if !namePattern.MatchString(c.Name) {
		// The name becomes wsrep_cluster_name and part of file names.
		return nil, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "cluster name %q is not a dbplane name", c.Name))
	}
	return c, nil
}

// namePattern matches the names ValidateClusterSpec lets through, and
// nothing that would need quoting in a configuration file.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

func (e *Engine) catalog() dbplane.Catalog {
	if len(e.Catalog.Engines) == 0 {
		return dbplane.DefaultCatalog()
	}
	return e.Catalog
}

// version returns the cluster's version, or the catalog default.
func (e *Engine) version(c *dbplane.Cluster) string {
	if c.Version != "" {
		return c.Version
	}
	ev, _ := e.catalog().Version(dbplane.EngineMySQL, "")
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

// primary returns the cluster's primary (a galera cluster's bootstrap
// member).
func (s *step) primary() (node, error) { return nodeOf(s.c, primaryOf(s.c).Ordinal) }
