package mysql

import (
	"fmt"
	"maps"
	"slices"
	"strings"

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
	p := primaryOf(&dbplane.Cluster{Nodes: nodes})
	steps := []dbplane.PlanStep{newStep("my-password", "Set the admin password", HandlerSetPassword, p, shortTimeout,
		fmt.Sprintf("ALTER USER every %s account on %s with the new password's hash (never the password itself)", AdminUser, nodeWord(c, p)))}
	for _, n := range nodes {
		if n.Ordinal == p.Ordinal {
			continue
		}
		steps = append(steps, newStep(keyer(n)("password"), "Verify the password on "+nodeWord(c, n), HandlerVerifyPassword, n, startTimeout,
			fmt.Sprintf("Wait until every %s account on node %d has the new password's hash, carried by %s", AdminUser, n.Ordinal, carrier(c)),
			"my-password"))
	}
	return steps
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
	p := primaryOf(&dbplane.Cluster{Nodes: planNodes(c)})
	return []dbplane.PlanStep{withParameters(change, newStep("my-params-check", "Check the parameters", HandlerCheckParameters, p, shortTimeout,
		fmt.Sprintf("Check %s against the system variables of %s, and set the dynamic ones there", names(change), nodeWord(c, p))))}
}

// PlanParameterApply returns the steps that apply a recorded change node
// by node, the primary (or primary-zone member) last: rewrite the node's
// my.cnf from the spec, then SET GLOBAL the changed variables when all of
// them are dynamic, else restart the node (a galera member rejoins and
// syncs, a replica replicates again) before the next node's turn.
func (e *Engine) PlanParameterApply(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := primaryOf(&dbplane.Cluster{Nodes: nodes})
	order := slices.DeleteFunc(slices.Clone(nodes), func(n dbplane.Node) bool { return n.Ordinal == p.Ordinal })
	order = append(order, p)
	var steps []dbplane.PlanStep
	var last []string
	for _, n := range order {
		k := keyer(n)
		conf := newStep(k("configure"), "Configure "+nodeWord(c, n), HandlerConfigure, n, shortTimeout,
			fmt.Sprintf("Rewrite the my.cnf of node %d with the cluster's parameters", n.Ordinal), last...)
		apply := withParameters(change, newStep(k("apply"), "Apply the parameters on "+nodeWord(c, n), HandlerApplyParameters, n, startTimeout,
			fmt.Sprintf("SET GLOBAL %s on node %d if every one is dynamic, else restart it and wait until it serves", names(change), n.Ordinal), conf.Key))
		steps = append(steps, conf, apply)
		last = []string{apply.Key}
	}
	return steps
}

// withParameters adds a change to a step's parameters.
var withParameters = enginekit.WithParameters

// names lists the names of a change.
func names(change map[string]string) string {
	return strings.Join(slices.Sorted(maps.Keys(change)), ", ")
}
