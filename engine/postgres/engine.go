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
	"regexp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/taskengine"
)

// Engine plans and performs PostgreSQL cluster changes.
type Engine struct {
	// Deps are the store, dialer, catalog, CA and logger; a cluster with
	// SSL on fails to build without a CA.
	enginekit.Deps
}

// engineName names the engine in the catalog, its handlers and its logs.
const engineName = dbplane.EnginePostgreSQL

// HandlerStop is the handler of the host step that stops a node, which
// the kit performs; the plans of the other host steps come from the kit.
const HandlerStop = engineName + "." + enginekit.StepStop

// Handler names of the engine's own steps, as plans refer to them.
const (
	HandlerInit        = "postgresql.init_primary"
	HandlerConfigure   = "postgresql.configure_node"
	HandlerStart       = "postgresql.start_node"
	HandlerCreateUsers = "postgresql.create_users"
	HandlerBaseBackup  = "postgresql.base_backup"
	HandlerVerify      = "postgresql.verify_streaming"
	// Password and parameter changes (see plan_change.go).
	HandlerSetPassword     = "postgresql.set_password"
	HandlerVerifyPassword  = "postgresql.verify_password"
	HandlerCheckParameters = "postgresql.check_parameters"
	HandlerApplyParameters = "postgresql.apply_parameters"
)

// Register registers the step handlers on a task engine.
func (e *Engine) Register(te *taskengine.Engine) { e.steps().Register(te) }

// steps are the engine's step handlers: the kit's host steps and the
// engine's own.
func (e *Engine) steps() enginekit.Steps[*step] {
	return enginekit.Steps[*step]{
		Runner: enginekit.Runner[*step]{Deps: e.Deps, Engine: engineName, Check: e.check,
			NewStep: func(k *enginekit.Step) *step { return &step{Step: k, e: e, n: node(k.On())} }},
		Own: map[string]func(context.Context, *step) error{
			HandlerInit:            e.initPrimary,
			HandlerConfigure:       e.configure,
			HandlerStart:           e.start,
			HandlerCreateUsers:     e.createUsers,
			HandlerBaseBackup:      e.baseBackup,
			HandlerVerify:          e.verifyStreaming,
			HandlerSetPassword:     e.setPassword,
			HandlerVerifyPassword:  e.verifyPassword,
			HandlerCheckParameters: e.checkParameters,
			HandlerApplyParameters: e.applyParameters,
		},
	}
}

// check rejects a cluster whose version cannot become a path.
func (e *Engine) check(c *dbplane.Cluster) error {
	if !versionPattern.MatchString(e.version(c)) {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "PostgreSQL version %q is not a major version", c.Version))
	}
	return nil
}

// versionPattern matches major versions: they become paths.
var versionPattern = regexp.MustCompile(`^[0-9]{1,3}$`)

// version returns the cluster's major version, or the catalog default.
func (e *Engine) version(c *dbplane.Cluster) string {
	return e.Deps.Version(dbplane.EnginePostgreSQL, c)
}

// step is one run of a handler: the kit's step, with the node's paths.
type step struct {
	*enginekit.Step
	e *Engine
	n node
}

// bin returns the path of a PostgreSQL program of the cluster's version.
func (s *step) bin(program string) string { return binary(s.e.version(s.Cluster), program) }

// primary returns the cluster's primary.
func (s *step) primary() (node, error) {
	return nodeOf(s.Cluster, enginekit.PrimaryOf(s.Cluster).Ordinal)
}

// on returns the step of the same task acting on node m.
func (s *step) on(m node) *step {
	k := *s.Step
	k.Node = m.Node
	return &step{Step: &k, e: s.e, n: m}
}
