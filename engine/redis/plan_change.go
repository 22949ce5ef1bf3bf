package redis

import (
	"fmt"
	"slices"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// PlanPassword returns the steps of an admin password change: on every
// node (in parallel: Redis does not replicate its users), the ACL file and
// the running server get the new password's SHA-256, and the node is
// checked to accept it. The replication user and its credentials
// (masteruser, masterauth) do not change. The service stores the password
// after them.
func (e *Engine) PlanPassword(c *dbplane.Cluster) []dbplane.PlanStep {
	var steps []dbplane.PlanStep
	for _, n := range planNodes(c) {
		steps = append(steps, newStep(stepKey(n.Ordinal)("password"), "Set the admin password on "+roleName(c, n.Ordinal),
			HandlerSetPassword, n.Ordinal, enginekit.ShortTimeout,
			fmt.Sprintf("Rewrite users.acl of node %d with the new password's SHA-256, ACL SETUSER %s on the running node, and check it accepts the new password",
				n.Ordinal, AdminUser)))
	}
	return steps
}

// PlanParameterCheck returns the step that checks a change on node 0
// before anything changes: every parameter must be one CONFIG GET knows,
// and every new value of a mutable one is set there (CONFIG SET), which is
// how Redis validates it.
func (e *Engine) PlanParameterCheck(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep {
	return []dbplane.PlanStep{enginekit.WithParameters(change, newStep("redis-params-check", "Check the parameters", HandlerCheckParameters, 0, enginekit.ShortTimeout,
		fmt.Sprintf("Check %s with CONFIG GET on node 0, and CONFIG SET the mutable ones there", enginekit.Names(change))))}
}

// PlanParameterApply returns the steps that apply a recorded change: on
// every node, one at a time, replicas first, rewrite redis.conf from the
// spec and CONFIG SET the changed parameters. A change that Redis takes
// only at start (a parameter of immutableParameters, or one removed that
// dbplane does not set itself) is followed by the rolling restart of the
// cluster.
func (e *Engine) PlanParameterApply(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep {
	steps := enginekit.ApplyInTurn(restartOrder(c), change, func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return newStep(stepKey(n.Ordinal)("configure"), "Configure "+roleName(c, n.Ordinal), HandlerConfigure, n.Ordinal, enginekit.ShortTimeout,
			fmt.Sprintf("Rewrite the redis.conf of node %d with the cluster's parameters", n.Ordinal), after...)
	}, func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return newStep(stepKey(n.Ordinal)("apply"), "Apply the parameters on "+roleName(c, n.Ordinal), HandlerApplyParameters,
			n.Ordinal, enginekit.ShortTimeout, fmt.Sprintf("CONFIG SET %s on node %d", enginekit.Names(change), n.Ordinal), after...)
	})
	last := enginekit.LastKey(steps)
	if !needsRestart(change) {
		return steps
	}
	restart := e.PlanRestart(c)
	for i := range restart {
		if len(restart[i].After) == 0 {
			restart[i].After = last
		}
	}
	return append(steps, restart...)
}

// restartOrder is the order of a rolling change: replicas, then primaries.
func restartOrder(c *dbplane.Cluster) []dbplane.Node {
	return enginekit.PrimariesLast(planNodes(c), primaryIn(c))
}

// immutableParameters are the Redis 7 parameters CONFIG SET refuses to
// change on a running server (and dbplane lets a spec set).
var immutableParameters = map[string]bool{
	"databases": true, "io-threads": true, "io-threads-do-reads": true, "tcp-backlog": true,
	"always-show-logo": true, "disable-thp": true, "locale-collate": true, "ignore-warnings": true,
	"lua-replicate-commands": true,
}

// needsRestart reports whether a change takes effect only at start.
func needsRestart(change map[string]string) bool {
	for k, v := range change {
		if immutableParameters[k] || v == "" && !dbplaneSets(k) {
			return true
		}
	}
	return false
}

// dbplaneSets reports whether dbplane writes a value of parameter k
// itself, which a removed parameter goes back to.
func dbplaneSets(k string) bool {
	return slices.Contains([]string{"maxmemory", "maxmemory-policy", "maxclients", "repl-diskless-sync-delay"}, k)
}
