package postgres

import (
	"cmp"
	"fmt"
	"strconv"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// PlanPassword returns the steps of an admin password change: set the
// SCRAM verifier of the new password on the primary's admin role, which
// streaming replication carries to every replica; then check each
// replica holds a verifier of the new password. The service stores the
// password after them.
func (e *Engine) PlanPassword(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	set := newStep("pg-password", "Set the admin password", HandlerSetPassword, p, enginekit.ShortTimeout,
		fmt.Sprintf("ALTER ROLE %s on the primary with the SCRAM-SHA-256 verifier of the new password (never the password itself)", AdminUser))
	return enginekit.SetThenVerify(set, nodes, p, func(n dbplane.Node, after string) dbplane.PlanStep {
		return newStep(fmt.Sprintf("pg-password-%d", n.Ordinal), fmt.Sprintf("Verify the password on replica %d", n.Ordinal),
			HandlerVerifyPassword, n, enginekit.StartTimeout,
			fmt.Sprintf("Wait until replica %d holds the new password's verifier, carried by streaming replication", n.Ordinal), after)
	})
}

// PlanParameterCheck returns the step that checks a change on the primary
// before anything changes: every parameter must be one of pg_settings, and
// every value one PostgreSQL accepts (ALTER SYSTEM SET validates it; it is
// reset at once, as dbplane's postgresql.conf holds the parameters).
func (e *Engine) PlanParameterCheck(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep {
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: planNodes(c)})
	return []dbplane.PlanStep{enginekit.WithParameters(change, newStep("pg-params-check", "Check the parameters", HandlerCheckParameters, p, enginekit.ShortTimeout,
		fmt.Sprintf("Check %s against pg_settings and PostgreSQL's own validation on the primary", enginekit.Names(change))))}
}

// PlanParameterApply returns the steps that apply a recorded change node
// by node, replicas first, the primary last: rewrite the node's
// postgresql.conf from the spec, then reload it, or restart the node
// (waiting until a replica streams again) when a changed parameter's
// context is postmaster.
func (e *Engine) PlanParameterApply(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	isP := func(n dbplane.Node) bool { return n.Ordinal == p.Ordinal }
	order := enginekit.PrimariesLast(nodes, isP)
	if e.lowersStandbyBound(c, p, change) {
		order = append([]dbplane.Node{p}, enginekit.Replicas(nodes, isP)...)
	}
	return enginekit.ApplyInTurn(order, change, func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return newStep(fmt.Sprintf("pg-configure-%d", n.Ordinal), fmt.Sprintf("Configure node %d", n.Ordinal), HandlerConfigure, n, enginekit.ShortTimeout,
			fmt.Sprintf("Rewrite the postgresql.conf of node %d with the cluster's parameters", n.Ordinal), after...)
	}, func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return newStep(fmt.Sprintf("pg-apply-%d", n.Ordinal), fmt.Sprintf("Apply the parameters on node %d", n.Ordinal),
			HandlerApplyParameters, n, enginekit.StartTimeout,
			fmt.Sprintf("Reload node %d (pg_reload_conf), or restart it when %s holds a parameter of context postmaster", n.Ordinal, enginekit.Names(change)), after...)
	})
}

// standbyBound are the parameters a hot standby needs at least as high as
// its primary's, with PostgreSQL's defaults: a replica restarted with a
// lower value than its primary runs does not replay, so a change that
// lowers one restarts the primary first, and one that raises it last.
var standbyBound = map[string]int{
	"max_connections": 100, "max_worker_processes": 8, "max_prepared_transactions": 0, "max_locks_per_transaction": 64,
}

// lowersStandbyBound reports whether the change lowers one of the
// parameters of standbyBound below its current value: the spec's, else
// dbplane's (max_connections follows the node's size), else PostgreSQL's.
func (e *Engine) lowersStandbyBound(c *dbplane.Cluster, p dbplane.Node, change map[string]string) bool {
	byDefault := func(k string) int {
		if f, ok := e.Catalogue().Flavor(c.Spec.Flavor); ok && k == "max_connections" {
			mem := cmp.Or(p.MemoryMB, int64(f.MemoryGB)*1024)
			if v, err := strconv.Atoi(dbplane.EngineSettings(dbplane.EnginePostgreSQL, mem, f.VCPUs)[k]); err == nil {
				return v
			}
		}
		return standbyBound[k]
	}
	for k := range standbyBound {
		v, ok := change[k]
		if !ok {
			continue
		}
		current, err := strconv.Atoi(c.Spec.Parameters[k])
		if err != nil {
			current = byDefault(k)
		}
		next, err := strconv.Atoi(v)
		if v == "" {
			next, err = byDefault(k), nil
		}
		if err == nil && next < current {
			return true
		}
	}
	return false
}
