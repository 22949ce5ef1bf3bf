package mysql

import (
	"fmt"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// PlanPassword returns the steps of an admin password change: set the new
// password (its mysql_native_password hash) on every admin account of the
// primary (a galera cluster's primary-zone member), from which replication
// or galera carries the account change to every other node; then check
// each other node holds the new hash. The service stores the password
// after them.
func (e *Engine) PlanPassword(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	set := newStep("my-password", "Set the admin password", HandlerSetPassword, p, enginekit.ShortTimeout,
		fmt.Sprintf("ALTER USER every %s account on %s with the new password's hash (never the password itself)", AdminUser, nodeWord(c, p)))
	return enginekit.SetThenVerify(set, nodes, p, func(n dbplane.Node, after string) dbplane.PlanStep {
		return newStep(keyer(n)("password"), "Verify the password on "+nodeWord(c, n), HandlerVerifyPassword, n, enginekit.StartTimeout,
			fmt.Sprintf("Wait until every %s account on node %d has the new password's hash, carried by %s", AdminUser, n.Ordinal, carrier(c)),
			after)
	})
}

func carrier(c *dbplane.Cluster) string {
	if c.Topology == dbplane.TopologyGalera {
		return "galera"
	}
	return "replication"
}

// PlanParameterCheck returns the step that checks a change against the
// primary before anything changes: every parameter must be a system
// variable of the running server, and a dynamic one takes its new value
// there at once (SET GLOBAL), so that a value MariaDB refuses fails the
// task before the spec or any file changes.
func (e *Engine) PlanParameterCheck(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep {
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: planNodes(c)})
	return []dbplane.PlanStep{enginekit.WithParameters(change, newStep("my-params-check", "Check the parameters", HandlerCheckParameters, p, enginekit.ShortTimeout,
		fmt.Sprintf("Check %s against the system variables of %s, and set the dynamic ones there", enginekit.Names(change), nodeWord(c, p))))}
}

// PlanParameterApply returns the steps that apply a recorded change node
// by node, the primary (or primary-zone member) last: rewrite the node's
// my.cnf from the spec, then SET GLOBAL the changed variables when all of
// them are dynamic, else restart the node (a galera member rejoins and
// syncs, a replica replicates again) before the next node's turn.
func (e *Engine) PlanParameterApply(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	order := enginekit.PrimariesLast(nodes, func(n dbplane.Node) bool { return n.Ordinal == p.Ordinal })
	return enginekit.ApplyInTurn(order, change, func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return newStep(keyer(n)("configure"), "Configure "+nodeWord(c, n), HandlerConfigure, n, enginekit.ShortTimeout,
			fmt.Sprintf("Rewrite the my.cnf of node %d with the cluster's parameters", n.Ordinal), after...)
	}, func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return newStep(keyer(n)("apply"), "Apply the parameters on "+nodeWord(c, n), HandlerApplyParameters, n, enginekit.StartTimeout,
			fmt.Sprintf("SET GLOBAL %s on node %d if every one is dynamic, else restart it and wait until it serves", enginekit.Names(change), n.Ordinal), after...)
	})
}
