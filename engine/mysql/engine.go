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
	"regexp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/taskengine"
)

// Store is what the engine reads from the metadata store. dbplane.Store
// satisfies it.
type Store interface {
	enginekit.Store
	// FindHostByID tells the zone of a node's host: a galera cluster's
	// endpoints put the members of its primary zone first.
	FindHostByID(ctx context.Context, id int64) (*dbplane.Host, error)
}

// Engine plans and performs MariaDB cluster changes.
type Engine struct {
	// Deps are the store, dialer, catalog, CA and logger; a cluster with
	// SSL on fails to build without a CA.
	enginekit.Deps
}

// engineName names the engine in the catalog, its handlers and its logs.
const engineName = dbplane.EngineMySQL

// HandlerStop is the handler of the host step that stops a node, which
// the kit performs; the plans of the other host steps come from the kit.
const HandlerStop = engineName + "." + enginekit.StepStop

// Handler names of the engine's own steps, as plans refer to them.
const (
	HandlerInit              = "mysql.init_node"
	HandlerConfigure         = "mysql.configure_node"
	HandlerStart             = "mysql.start_node"
	HandlerCreateUsers       = "mysql.create_users"
	HandlerAttachReplica     = "mysql.attach_replica"
	HandlerVerifyReplica     = "mysql.verify_replica"
	HandlerVerifyReplication = "mysql.verify_replication"
	HandlerBootstrap         = "mysql.bootstrap_galera"
	HandlerJoin              = "mysql.join_galera"
	HandlerRejoin            = "mysql.rejoin_galera"
	HandlerVerifyGalera      = "mysql.verify_galera"
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

// Register registers the step handlers on a task engine.
func (e *Engine) Register(te *taskengine.Engine) { e.steps().Register(te) }

// steps are the engine's step handlers: the kit's host steps and the
// engine's own.
func (e *Engine) steps() enginekit.Steps[*step] {
	return enginekit.Steps[*step]{
		Runner: enginekit.Runner[*step]{Deps: e.Deps, Engine: engineName, Check: checkName,
			NewStep: func(k *enginekit.Step) *step { return &step{Step: k, e: e, n: node(k.On())} }},
		Own: map[string]func(context.Context, *step) error{
			HandlerInit:               e.initNode,
			HandlerConfigure:          e.configure,
			HandlerStart:              e.start,
			HandlerCreateUsers:        e.createUsers,
			HandlerAttachReplica:      e.attachReplica,
			HandlerVerifyReplica:      e.verifyReplica,
			HandlerVerifyReplication:  e.verifyReplication,
			HandlerBootstrap:          e.bootstrap,
			HandlerJoin:               e.join,
			HandlerRejoin:             e.rejoin,
			HandlerVerifyGalera:       e.verifyGalera,
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
		},
	}
}

// checkName rejects a cluster whose name cannot go into configuration
// files: it becomes wsrep_cluster_name and part of file names.
func checkName(c *dbplane.Cluster) error {
	if !namePattern.MatchString(c.Name) {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "cluster name %q is not a dbplane name", c.Name))
	}
	return nil
}

// namePattern matches the names ValidateClusterSpec lets through, and
// nothing that would need quoting in a configuration file.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// version returns the cluster's version, or the catalog default.
func (e *Engine) version(c *dbplane.Cluster) string { return e.Deps.Version(dbplane.EngineMySQL, c) }

// step is one run of a handler: the kit's step, with the node's paths.
type step struct {
	*enginekit.Step
	e *Engine
	n node
}

// primary returns the cluster's primary (a galera cluster's bootstrap
// member).
func (s *step) primary() (node, error) {
	return nodeOf(s.Cluster, enginekit.PrimaryOf(s.Cluster).Ordinal)
}
