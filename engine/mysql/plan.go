package mysql

import (
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// Timeouts of the engine's own steps and waits; the kit has those every
// engine plans, and how many attempts every step gets.
const (
	joinStepTime  = 10 * time.Minute
	readyTimeout  = 90 * time.Second // a started node answering
	streamTimeout = 90 * time.Second // a replica replicating
)

// PlanCreate returns the steps that build the cluster on its placed nodes.
// Per host (in parallel): precheck, install packages, prepare directories,
// init and configure the node. Then, by topology:
//
//   - standalone: start the primary, create users;
//   - replication: start the primary and create users while the replicas
//     start; then per replica attach it to the primary and verify it, and
//     verify replication on the primary;
//   - galera: bootstrap member 0, create users, join the other members (in
//     parallel: galera has each donor serve one state transfer at a time,
//     and a member that joined serves the next), restart member 0 as an
//     ordinary member, verify.
//
// A standby (spec.standby_of) seeds its primary from a copy of its
// source's before it first starts, then attaches it to its source and
// verifies it replicates.
//
// The service appends the step that marks the cluster running after all of
// them.
func (e *Engine) PlanCreate(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	primary := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	steps := hostSteps(c, nodes)
	switch c.Topology {
	case dbplane.TopologyGalera:
		steps = append(steps, galeraSteps(c, nodes)...)
	default:
		steps = append(steps, replicationSteps(c, nodes, primary)...)
	}
	// A standby's primary starts from a copy of its source, and attaches
	// to the source once the standby stands on its own.
	steps = withSeed(c, primary, steps)
	return append(steps, standbySteps(c, primary, lastSteps(steps))...)
}

// hostSteps prepare every node on its host: precheck, install, directories,
// (with SSL) its certificate, mariadb-install-db and my.cnf.
func hostSteps(c *dbplane.Cluster, nodes []dbplane.Node) []dbplane.PlanStep {
	var steps []dbplane.PlanStep
	for _, n := range nodes {
		on := enginekit.Where(n)
		k := keyer(n)
		what := nodeWord(c, n)
		host, prepared := hostPlan(c).Prepare(c, n)
		steps = append(steps, host...)
		steps = append(steps,
			newStep(k("init"), "Init "+what, HandlerInit, n, enginekit.StartTimeout,
				fmt.Sprintf("Run mariadb-install-db for node %d on %s (root by unix_socket only)", n.Ordinal, on), prepared),
			newStep(k("configure"), "Configure "+what, HandlerConfigure, n, enginekit.ShortTimeout,
				fmt.Sprintf("Write the my.cnf of node %d", n.Ordinal), k("init")),
		)
	}
	return steps
}

// replicationSteps start a standalone or replicated cluster.
func replicationSteps(c *dbplane.Cluster, nodes []dbplane.Node, p dbplane.Node) []dbplane.PlanStep {
	kp := keyer(p)
	steps := []dbplane.PlanStep{
		enginekit.WithUndo(HandlerStop, newStep(kp("start"), "Start primary", HandlerStart, p, enginekit.StartTimeout,
			fmt.Sprintf("Start the primary on %s and wait until it answers on its socket", enginekit.Where(p)), kp("configure"))),
		newStep("my-users", "Create users", HandlerCreateUsers, p, enginekit.ShortTimeout,
			fmt.Sprintf("Create the %s accounts with the cluster's password, for the allowlist", AdminUser), kp("start")),
	}
	var verified []string
	for _, n := range nodes {
		if n.Ordinal == p.Ordinal {
			continue
		}
		k := keyer(n)
		steps = append(steps,
			enginekit.WithUndo(HandlerStop, newStep(k("start"), fmt.Sprintf("Start replica %d", n.Ordinal), HandlerStart, n, enginekit.StartTimeout,
				fmt.Sprintf("Start the replica on %s (read-only) and wait until it answers on its socket", enginekit.Where(n)), k("configure"))),
			newStep(k("attach"), fmt.Sprintf("Attach replica %d", n.Ordinal), HandlerAttachReplica, n, enginekit.ShortTimeout,
				"Create the replica's replication account on the primary and point the replica at the primary (GTID, slave_pos)",
				k("start"), "my-users"),
			newStep(k("verify"), fmt.Sprintf("Verify replica %d", n.Ordinal), HandlerVerifyReplica, n, enginekit.StartTimeout,
				fmt.Sprintf("Wait until SHOW REPLICA STATUS on replica %d shows its I/O and SQL threads running (%s)", n.Ordinal, modeOf(c)), k("attach")),
		)
		verified = append(verified, k("verify"))
	}
	if len(verified) > 0 {
		desc := "Check the primary serves every replica"
		if modeOf(c) != dbplane.ReplicationAsync {
			desc += ", with Rpl_semi_sync_master_status ON and every replica a semi-synchronous client (AFTER_SYNC)"
		}
		steps = append(steps, newStep("my-verify", "Verify replication", HandlerVerifyReplication, p, enginekit.StartTimeout, desc, verified...))
	}
	return steps
}

// configured returns the keys of the configure steps of nodes.
func configured(nodes []dbplane.Node) []string {
	var keys []string
	for _, n := range nodes {
		keys = append(keys, keyer(n)("configure"))
	}
	return keys
}

// galeraSteps start a galera cluster.
func galeraSteps(c *dbplane.Cluster, nodes []dbplane.Node) []dbplane.PlanStep {
	first := nodes[0]
	k0 := keyer(first)
	steps := []dbplane.PlanStep{
		enginekit.WithUndo(HandlerStop, newStep(k0("bootstrap"), fmt.Sprintf("Bootstrap member %d", first.Ordinal), HandlerBootstrap, first, enginekit.StartTimeout,
			fmt.Sprintf("Start member %d on %s as a new galera cluster (--wsrep-new-cluster) and wait until it is synced", first.Ordinal, enginekit.Where(first)),
			k0("configure"))),
		// It writes the state transfer account into every member's conf.d,
		// so it waits for every member's configuration, not only member 0's.
		newStep("my-users", "Create users", HandlerCreateUsers, first, enginekit.ShortTimeout,
			fmt.Sprintf("Create the %s accounts with the cluster's password, for the allowlist, and the state transfer account", AdminUser),
			append([]string{k0("bootstrap")}, configured(nodes[1:])...)...),
	}
	var joined []string
	for _, n := range nodes[1:] {
		k := keyer(n)
		steps = append(steps, enginekit.WithUndo(HandlerStop, newStep(k("join"), fmt.Sprintf("Join member %d", n.Ordinal), HandlerJoin, n, joinStepTime,
			fmt.Sprintf("Start member %d on %s; it copies the database from a donor with mariadb-backup and waits until it is synced", n.Ordinal, enginekit.Where(n)),
			"my-users", k("configure"))))
		joined = append(joined, k("join"))
	}
	steps = append(steps,
		newStep(k0("rejoin"), fmt.Sprintf("Rejoin member %d", first.Ordinal), HandlerRejoin, first, joinStepTime,
			fmt.Sprintf("Restart member %d without --wsrep-new-cluster, so that a restart never bootstraps it again", first.Ordinal), joined...),
		newStep("my-verify", "Verify cluster", HandlerVerifyGalera, first, enginekit.StartTimeout,
			fmt.Sprintf("Wait until every member is synced with wsrep_cluster_size %d", len(nodes)), k0("rejoin")),
	)
	return steps
}

// hostPlan is how the cluster's nodes are planned on their hosts.
func hostPlan(c *dbplane.Cluster) enginekit.HostPlan {
	return enginekit.HostPlan{Engine: engineName, Product: "MariaDB", User: osUser,
		Key:   func(n dbplane.Node, name string) string { return keyer(n)(name) },
		Ports: func(n dbplane.Node) string { return "the node's ports (" + portsWord(c, n) + ")" }}
}

// PlanDelete returns the steps that stop every node and remove its data,
// in parallel (a standby also drops its account on its source). The
// service releases the nodes and their ports after them.
func (e *Engine) PlanDelete(c *dbplane.Cluster) []dbplane.PlanStep {
	return append(detachStep(c), hostPlan(c).Remove(planNodes(c))...)
}

// planNodes returns the cluster's nodes by ordinal or, before placement
// (a dry run), as many unplaced nodes as the spec asks for.
func planNodes(c *dbplane.Cluster) []dbplane.Node {
	count := 1
	if c.Topology == dbplane.TopologyReplication || c.Topology == dbplane.TopologyGalera {
		count = max(c.Spec.Nodes, 1)
	}
	return enginekit.PlanNodes(c, count)
}

// keyer returns the function that names a node's steps: my-<name>-<ordinal>.
func keyer(n dbplane.Node) func(string) string {
	return func(name string) string { return fmt.Sprintf("my-%s-%d", name, n.Ordinal) }
}

// nodeWord names a node in step names: "primary", "replica 2", "member 1".
func nodeWord(c *dbplane.Cluster, n dbplane.Node) string {
	switch {
	case c.Topology == dbplane.TopologyGalera:
		return fmt.Sprintf("member %d", n.Ordinal)
	case n.Ordinal == enginekit.PrimaryOf(&dbplane.Cluster{Nodes: planNodes(c)}).Ordinal:
		return "primary"
	}
	return fmt.Sprintf("replica %d", n.Ordinal)
}

// portsWord lists a node's ports for step descriptions.
func portsWord(c *dbplane.Cluster, n dbplane.Node) string {
	switch {
	case n.Port != 0:
	case c.Topology == dbplane.TopologyGalera:
		return "SQL and galera ports"
	default:
		return "SQL port"
	}
	return joinInts(node{Node: n, Cluster: c}.ports())
}

// newStep returns a step acting on node n.
func newStep(key, name, handler string, n dbplane.Node, timeout time.Duration, desc string, after ...string) dbplane.PlanStep {
	return enginekit.NewStep(key, name, handler, n.Ordinal, timeout, desc, after...)
}
