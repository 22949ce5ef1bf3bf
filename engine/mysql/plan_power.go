package mysql

import (
	"fmt"

	"github.com/dbplane/dbplane"
)

// PlanStop returns the steps that stop the cluster's nodes. A standalone or
// replicated cluster stops its replicas (in parallel), then its primary. A
// galera cluster stops one member at a time, the primary-zone member last:
// each member leaves the cluster cleanly, so the last one holds every write
// and its grastate.dat says it is safe to bootstrap the cluster from. The
// service records the nodes stopped after them.
func (e *Engine) PlanStop(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := primaryOf(&dbplane.Cluster{Nodes: nodes})
	var steps []dbplane.PlanStep
	var before []string
	for _, n := range nodes {
		if n.Ordinal == p.Ordinal {
			continue
		}
		var after []string
		if c.Topology == dbplane.TopologyGalera {
			after = lastKey(steps)
		}
		s := stopStep(c, n, after...)
		steps = append(steps, s)
		before = append(before, s.Key)
	}
	if c.Topology == dbplane.TopologyGalera {
		before = lastKey(steps)
	}
	return append(steps, stopStep(c, p, before...))
}

// lastKey returns the key of the last step, if any.
func lastKey(steps []dbplane.PlanStep) []string {
	if len(steps) == 0 {
		return nil
	}
	return []string{steps[len(steps)-1].Key}
}

// PlanStart returns the steps that start a stopped cluster. A standalone or
// replicated cluster starts its primary, then its replicas (in parallel),
// which resume replicating where they stopped, and verifies replication.
// A galera cluster is bootstrapped from its most advanced member (the one
// grastate.dat says is safe to bootstrap from, else the highest recovered
// seqno); the other members join it (in parallel: they catch up by
// incremental transfer); then the bootstrapped member is restarted as an
// ordinary member, and every member is verified synced.
func (e *Engine) PlanStart(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := primaryOf(&dbplane.Cluster{Nodes: nodes})
	if c.Topology == dbplane.TopologyGalera {
		return galeraStartSteps(c, nodes, p)
	}
	steps := []dbplane.PlanStep{startStep(c, p)}
	var verified []string
	for _, n := range nodes {
		if n.Ordinal == p.Ordinal {
			continue
		}
		start := startStep(c, n, keyer(p)("start"))
		v := verifyReplicaStep(c, n, keyer(n)("verify"), start.Key)
		steps = append(steps, start, v)
		verified = append(verified, v.Key)
	}
	return append(steps, verifyReplicationSteps(c, p, verified)...)
}

// galeraStartSteps start a stopped galera cluster.
func galeraStartSteps(c *dbplane.Cluster, nodes []dbplane.Node, p dbplane.Node) []dbplane.PlanStep {
	steps := []dbplane.PlanStep{
		newStep("my-bootstrap", "Bootstrap the most advanced member", HandlerBootstrapRecovered, p, joinStepTime,
			"Read every member's grastate.dat (recovering the position of a member that did not stop cleanly with mariadbd --wsrep-recover), "+
				"and start the member that is safe to bootstrap from, else the one with the highest seqno, as a new galera cluster (--wsrep-new-cluster)"),
	}
	var joined []string
	for _, n := range nodes {
		s := newStep(keyer(n)("join"), fmt.Sprintf("Join member %d", n.Ordinal), HandlerStartMember, n, joinStepTime,
			fmt.Sprintf("Start member %d on %s unless it runs, and wait until it is synced", n.Ordinal, where(n)), "my-bootstrap")
		steps = append(steps, s)
		joined = append(joined, s.Key)
	}
	last := joined
	for _, n := range nodes {
		s := newStep(keyer(n)("rejoin"), fmt.Sprintf("Rejoin member %d", n.Ordinal), HandlerRejoin, n, joinStepTime,
			fmt.Sprintf("Restart member %d without --wsrep-new-cluster if it was the one bootstrapped, so that a restart never bootstraps it again", n.Ordinal),
			last...)
		steps = append(steps, s)
		last = []string{s.Key}
	}
	return append(steps, newStep("my-verify", "Verify cluster", HandlerVerifyGalera, p, startTimeout,
		fmt.Sprintf("Wait until every member is synced with wsrep_cluster_size %d", len(nodes)), last...))
}

// PlanRestart returns the steps of a rolling restart, one node at a time,
// the primary (or primary-zone member) last. A replica is stopped, started
// and verified replicating before the next; after the primary, every
// replica is verified again. A galera member is stopped and started as an
// ordinary member, which catches up by incremental transfer, and the next
// one stops only once it is synced: the others keep the cluster's quorum
// and serve meanwhile.
func (e *Engine) PlanRestart(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	p := primaryOf(&dbplane.Cluster{Nodes: nodes})
	var order []dbplane.Node
	for _, n := range nodes {
		if n.Ordinal != p.Ordinal {
			order = append(order, n)
		}
	}
	order = append(order, p)
	var steps []dbplane.PlanStep
	var last, verified []string
	for _, n := range order {
		k := keyer(n)
		stop := stopStep(c, n, last...)
		steps = append(steps, stop)
		if c.Topology == dbplane.TopologyGalera {
			start := newStep(k("start"), fmt.Sprintf("Start member %d", n.Ordinal), HandlerStartMember, n, joinStepTime,
				fmt.Sprintf("Start member %d on %s as an ordinary member and wait until it is synced", n.Ordinal, where(n)), stop.Key)
			steps = append(steps, start)
			last = []string{start.Key}
			continue
		}
		start := startStep(c, n, stop.Key)
		steps = append(steps, start)
		last = []string{start.Key}
		if n.Ordinal != p.Ordinal {
			v := verifyReplicaStep(c, n, k("verify"), start.Key)
			steps = append(steps, v)
			last = []string{v.Key}
		}
	}
	if c.Topology == dbplane.TopologyGalera {
		return append(steps, newStep("my-verify", "Verify cluster", HandlerVerifyGalera, p, startTimeout,
			fmt.Sprintf("Wait until every member is synced with wsrep_cluster_size %d", len(nodes)), last...))
	}
	for _, n := range order[:len(order)-1] {
		v := verifyReplicaStep(c, n, keyer(n)("reverify"), last...)
		v.Name += " after the primary"
		steps = append(steps, v)
		verified = append(verified, v.Key)
	}
	return append(steps, verifyReplicationSteps(c, p, verified)...)
}

// verifyReplicationSteps check the primary serves every replica, when
// there are replicas.
func verifyReplicationSteps(c *dbplane.Cluster, p dbplane.Node, verified []string) []dbplane.PlanStep {
	if len(verified) == 0 {
		return nil
	}
	desc := "Check the primary serves every replica"
	if modeOf(c) != dbplane.ReplicationAsync {
		desc += ", with Rpl_semi_sync_master_status ON and every replica a semi-synchronous client (AFTER_SYNC)"
	}
	return []dbplane.PlanStep{newStep("my-verify", "Verify replication", HandlerVerifyReplication, p, startTimeout, desc, verified...)}
}

func stopStep(c *dbplane.Cluster, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(keyer(n)("stop"), "Stop "+nodeWord(c, n), HandlerStop, n, startTimeout,
		fmt.Sprintf("Stop node %d on %s (a clean shutdown); its data stays", n.Ordinal, where(n)), after...)
}

func startStep(c *dbplane.Cluster, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(keyer(n)("start"), "Start "+nodeWord(c, n), HandlerStart, n, startTimeout,
		fmt.Sprintf("Start node %d on %s and wait until it answers on its socket", n.Ordinal, where(n)), after...)
}

func verifyReplicaStep(c *dbplane.Cluster, n dbplane.Node, key string, after ...string) dbplane.PlanStep {
	return newStep(key, fmt.Sprintf("Verify replica %d", n.Ordinal), HandlerVerifyReplica, n, startTimeout,
		fmt.Sprintf("Wait until SHOW REPLICA STATUS on replica %d shows its I/O and SQL threads running (%s)", n.Ordinal, modeOf(c)), after...)
}
