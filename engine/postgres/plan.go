package postgres

import (
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// Timeouts of the engine's own steps and waits; the kit has those every
// engine plans, and how many attempts every step gets.
const (
	baseBackupTimeout = 10 * time.Minute
	readyTimeout      = 90 * time.Second // a started node accepting connections
	streamTimeout     = 90 * time.Second // a replica streaming
)

// PlanCreate returns the steps that build the cluster on its placed nodes:
// per host (in parallel) precheck, install packages and prepare
// directories (and, with SSL, write the node's certificate); then init, configure and start the primary and create the
// users; then per replica (in parallel) base backup, configure, start and
// verify streaming. The service appends the step that marks the cluster
// running after all of them.
func (e *Engine) PlanCreate(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	primary := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	var steps []dbplane.PlanStep
	var prepared []string
	for _, n := range nodes {
		host, last := hostPlan().Prepare(c, n)
		steps = append(steps, host...)
		prepared = append(prepared, last)
	}
	p := primary
	steps = append(steps,
		newStep("pg-init", "Init primary", HandlerInit, p, enginekit.StartTimeout,
			fmt.Sprintf("Run initdb for the primary (node %d) on %s", p.Ordinal, enginekit.Where(p)), prepared...),
		newStep("pg-configure-primary", "Configure primary", HandlerConfigure, p, enginekit.ShortTimeout,
			"Write postgresql.conf and pg_hba.conf of the primary", "pg-init"),
		enginekit.WithUndo(HandlerStop, newStep("pg-start-primary", "Start primary", HandlerStart, p, enginekit.StartTimeout,
			fmt.Sprintf("Start the primary on %s and wait until it accepts connections", enginekit.Where(p)), "pg-configure-primary")),
		newStep("pg-users", "Create users", HandlerCreateUsers, p, enginekit.ShortTimeout,
			fmt.Sprintf("Create the %s user with the cluster's password and the replication user", AdminUser), "pg-start-primary"),
	)
	for _, n := range nodes {
		if n.Ordinal == p.Ordinal {
			continue
		}
		k := func(name string) string { return fmt.Sprintf("pg-%s-%d", name, n.Ordinal) }
		steps = append(steps,
			newStep(k("basebackup"), fmt.Sprintf("Base backup replica %d", n.Ordinal), HandlerBaseBackup, n, baseBackupTimeout,
				fmt.Sprintf("Copy the primary to %s on %s with pg_basebackup", n.DataDir, enginekit.Where(n)), "pg-users"),
			newStep(k("configure"), fmt.Sprintf("Configure replica %d", n.Ordinal), HandlerConfigure, n, enginekit.ShortTimeout,
				"Write postgresql.conf (streaming from the primary) and pg_hba.conf of the replica", k("basebackup")),
			enginekit.WithUndo(HandlerStop, newStep(k("start"), fmt.Sprintf("Start replica %d", n.Ordinal), HandlerStart, n, enginekit.StartTimeout,
				fmt.Sprintf("Start the replica on %s and wait until it accepts connections", enginekit.Where(n)), k("configure"))),
			newStep(k("verify"), fmt.Sprintf("Verify streaming %d", n.Ordinal), HandlerVerify, n, enginekit.StartTimeout,
				fmt.Sprintf("Wait until pg_stat_replication on the primary shows replica %d streaming (%s)", n.Ordinal, modeOf(c)), k("start")),
		)
	}
	return steps
}

// hostPlan is how the cluster's nodes are planned on their hosts.
func hostPlan() enginekit.HostPlan {
	return enginekit.HostPlan{Engine: engineName, Product: "PostgreSQL", User: osUser,
		Key:   func(n dbplane.Node, name string) string { return fmt.Sprintf("pg-%s-%d", name, n.Ordinal) },
		Ports: func(n dbplane.Node) string { return fmt.Sprintf("port %d", n.Port) }}
}

// PlanDelete returns the steps that stop every node and remove its data,
// in parallel. The service releases the nodes and their ports after them.
func (e *Engine) PlanDelete(c *dbplane.Cluster) []dbplane.PlanStep {
	return hostPlan().Remove(planNodes(c))
}

// planNodes returns the cluster's nodes by ordinal or, before placement
// (a dry run), as many unplaced nodes as the spec asks for.
func planNodes(c *dbplane.Cluster) []dbplane.Node {
	count := 1
	if c.Topology == dbplane.TopologyReplication {
		count = max(c.Spec.Nodes, 1)
	}
	return enginekit.PlanNodes(c, count)
}

func modeOf(c *dbplane.Cluster) string {
	if c.Spec.ReplicationMode == "" {
		return dbplane.ReplicationAsync
	}
	return c.Spec.ReplicationMode
}

// newStep returns a step acting on node n.
func newStep(key, name, handler string, n dbplane.Node, timeout time.Duration, desc string, after ...string) dbplane.PlanStep {
	return enginekit.NewStep(key, name, handler, n.Ordinal, timeout, desc, after...)
}
