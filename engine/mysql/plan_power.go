package mysql

import (
	"fmt"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// PlanStop returns the steps that stop the cluster's nodes. A standalone or
// replicated cluster stops its replicas (in parallel), then its primary. A
// galera cluster stops one member at a time, the primary-zone member last:
// each member leaves the cluster cleanly, so the last one holds every write
// and its grastate.dat says it is safe to bootstrap the cluster from. The
// service records the nodes stopped after them.
func (e *Engine) PlanStop(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes, isPrimary := powerNodes(c)
	return enginekit.StopSteps(nodes, isPrimary, c.Topology == dbplane.TopologyGalera, func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return stopStep(c, n, after...)
	})
}

// powerNodes returns the nodes of c and which of them is the primary (or
// primary-zone member).
func powerNodes(c *dbplane.Cluster) ([]dbplane.Node, func(dbplane.Node) bool) {
	nodes := planNodes(c)
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	return nodes, func(n dbplane.Node) bool { return n.Ordinal == p.Ordinal }
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
	nodes, isPrimary := powerNodes(c)
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	if c.Topology == dbplane.TopologyGalera {
		return galeraStartSteps(c, nodes, p)
	}
	var verified []string
	steps := enginekit.StartSteps(nodes, isPrimary, func(dbplane.Node) int { return p.Ordinal },
		func(n dbplane.Node, after ...string) dbplane.PlanStep { return startStep(c, n, after...) },
		func(n dbplane.Node, after string) []dbplane.PlanStep {
			v := verifyReplicaStep(c, n, keyer(n)("verify"), after)
			verified = append(verified, v.Key)
			return []dbplane.PlanStep{v}
		})
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
			fmt.Sprintf("Start member %d on %s unless it runs, and wait until it is synced", n.Ordinal, enginekit.Where(n)), "my-bootstrap")
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
	return append(steps, verifyGaleraStep(p, len(nodes), last...))
}

// verifyGaleraStep checks that each of the members of a galera cluster is
// synced.
func verifyGaleraStep(p dbplane.Node, members int, after ...string) dbplane.PlanStep {
	return newStep("my-verify", "Verify cluster", HandlerVerifyGalera, p, enginekit.StartTimeout,
		fmt.Sprintf("Wait until every member is synced with wsrep_cluster_size %d", members), after...)
}

// PlanRestart returns the steps of a rolling restart, one node at a time,
// the primary (or primary-zone member) last. A replica is stopped, started
// and verified replicating before the next; after the primary, every
// replica is verified again. A galera member is stopped and started as an
// ordinary member, which catches up by incremental transfer, and the next
// one stops only once it is synced: the others keep the cluster's quorum
// and serve meanwhile.
func (e *Engine) PlanRestart(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes, isPrimary := powerNodes(c)
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: nodes})
	order := enginekit.PrimariesLast(nodes, isPrimary)
	galera := c.Topology == dbplane.TopologyGalera
	steps := enginekit.OneAtATime(order, func(n dbplane.Node, after []string) []dbplane.PlanStep {
		k := keyer(n)
		stop := stopStep(c, n, after...)
		switch {
		case galera:
			return []dbplane.PlanStep{stop, newStep(k("start"), fmt.Sprintf("Start member %d", n.Ordinal), HandlerStartMember, n, joinStepTime,
				fmt.Sprintf("Start member %d on %s as an ordinary member and wait until it is synced", n.Ordinal, enginekit.Where(n)), stop.Key)}
		case isPrimary(n):
			return []dbplane.PlanStep{stop, startStep(c, n, stop.Key)}
		}
		start := startStep(c, n, stop.Key)
		return []dbplane.PlanStep{stop, start, verifyReplicaStep(c, n, k("verify"), start.Key)}
	})
	if galera {
		return append(steps, verifyGaleraStep(p, len(nodes), enginekit.LastKey(steps)...))
	}
	again := enginekit.VerifyAgain(enginekit.Replicas(nodes, isPrimary), func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return verifyReplicaStep(c, n, keyer(n)("reverify"), after...)
	}, enginekit.LastKey(steps)...)
	var verified []string
	for _, v := range again {
		verified = append(verified, v.Key)
	}
	return append(append(steps, again...), verifyReplicationSteps(c, p, verified)...)
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
	return []dbplane.PlanStep{newStep("my-verify", "Verify replication", HandlerVerifyReplication, p, enginekit.StartTimeout, desc, verified...)}
}

func stopStep(c *dbplane.Cluster, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(keyer(n)("stop"), "Stop "+nodeWord(c, n), HandlerStop, n, enginekit.StartTimeout,
		fmt.Sprintf("Stop node %d on %s (a clean shutdown); its data stays", n.Ordinal, enginekit.Where(n)), after...)
}

func startStep(c *dbplane.Cluster, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(keyer(n)("start"), "Start "+nodeWord(c, n), HandlerStart, n, enginekit.StartTimeout,
		fmt.Sprintf("Start node %d on %s and wait until it answers on its socket", n.Ordinal, enginekit.Where(n)), after...)
}

func verifyReplicaStep(c *dbplane.Cluster, n dbplane.Node, key string, after ...string) dbplane.PlanStep {
	return newStep(key, fmt.Sprintf("Verify replica %d", n.Ordinal), HandlerVerifyReplica, n, enginekit.StartTimeout,
		fmt.Sprintf("Wait until SHOW REPLICA STATUS on replica %d shows its I/O and SQL threads running (%s)", n.Ordinal, modeOf(c)), after...)
}
