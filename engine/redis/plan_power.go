package redis

import (
	"fmt"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// PlanStop returns the steps that stop the cluster's nodes: the replicas
// (in parallel), then the primaries, so that no replica of a Redis cluster
// fails over for a primary that is being stopped on purpose. Redis saves
// its data when it stops (an RDB snapshot, or the append-only file). The
// service records the nodes stopped after them.
func (e *Engine) PlanStop(c *dbplane.Cluster) []dbplane.PlanStep {
	return enginekit.StopSteps(planNodes(c), primaryIn(c), false, func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return stopStep(c, n, after...)
	})
}

// primaryIn returns whether a node is a primary of c.
func primaryIn(c *dbplane.Cluster) func(dbplane.Node) bool {
	return func(n dbplane.Node) bool { return isPrimary(c, n.Ordinal) }
}

// PlanStart returns the steps that start a stopped cluster: the primaries
// (in parallel), then each replica once its primary answers; then a
// replication cluster verifies each replica's link, and a Redis cluster
// (whose nodes.conf kept slots and roles) that it is whole again.
func (e *Engine) PlanStart(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	steps := enginekit.StartSteps(nodes, primaryIn(c), func(n dbplane.Node) int { return shardPrimary(c, n.Ordinal) },
		func(n dbplane.Node, after ...string) dbplane.PlanStep { return startStep(c, n, after...) }, nil)
	var started []string
	for _, s := range steps {
		started = append(started, s.Key)
	}
	switch c.Topology {
	case dbplane.TopologyReplication:
		steps = append(steps, verifyReplicaSteps(c, nodes)...)
	case dbplane.TopologyRedisCluster:
		steps = append(steps, verifyClusterStep("redis-cluster-verify", started...))
	}
	return steps
}

// PlanRestart returns the steps of a rolling restart, one node at a time:
// the replicas, then the primaries. Each node is stopped, started and
// checked before the next stops: a replica's link to its primary is up
// again; in a Redis cluster, the cluster is ok. After a replication
// cluster's primary restarts, every replica's link is checked again.
func (e *Engine) PlanRestart(c *dbplane.Cluster) []dbplane.PlanStep {
	order := enginekit.PrimariesLast(planNodes(c), primaryIn(c))
	steps := enginekit.OneAtATime(order, func(n dbplane.Node, after []string) []dbplane.PlanStep {
		k := stepKey(n.Ordinal)
		stop := stopStep(c, n, after...)
		start := startStep(c, n, stop.Key)
		switch {
		case c.Topology == dbplane.TopologyRedisCluster:
			v := verifyClusterStep(k("verify-cluster"), start.Key)
			v.Name = fmt.Sprintf("Verify cluster after %s", roleName(c, n.Ordinal))
			return []dbplane.PlanStep{stop, start, v}
		case !isPrimary(c, n.Ordinal):
			return []dbplane.PlanStep{stop, start, verifyReplicaStep(c, n, k("verify"), start.Key)}
		}
		return []dbplane.PlanStep{stop, start}
	})
	if c.Topology != dbplane.TopologyReplication {
		return steps
	}
	return append(steps, enginekit.VerifyAgain(enginekit.Replicas(order, primaryIn(c)), func(n dbplane.Node, after ...string) dbplane.PlanStep {
		return verifyReplicaStep(c, n, stepKey(n.Ordinal)("reverify"), after...)
	}, enginekit.LastKey(steps)...)...)
}

func stopStep(c *dbplane.Cluster, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(stepKey(n.Ordinal)("stop"), "Stop "+roleName(c, n.Ordinal), HandlerStop, n.Ordinal, enginekit.StartTimeout,
		fmt.Sprintf("Stop redis-server on %s (it saves its data first); its data stays", enginekit.Where(n)), after...)
}

func startStep(c *dbplane.Cluster, n dbplane.Node, after ...string) dbplane.PlanStep {
	return newStep(stepKey(n.Ordinal)("start"), "Start "+roleName(c, n.Ordinal), HandlerStart, n.Ordinal, enginekit.StartTimeout,
		fmt.Sprintf("Start redis-server on %s and wait until it answers PING as %s", enginekit.Where(n), AdminUser), after...)
}

func verifyReplicaStep(c *dbplane.Cluster, n dbplane.Node, key string, after ...string) dbplane.PlanStep {
	return newStep(key, "Verify "+roleName(c, n.Ordinal), HandlerVerifyReplica, n.Ordinal, enginekit.StartTimeout,
		fmt.Sprintf("Wait until INFO replication on replica %d shows master_link_status:up and the primary lists it online", n.Ordinal), after...)
}

func verifyClusterStep(key string, after ...string) dbplane.PlanStep {
	return newStep(key, "Verify cluster", HandlerVerifyCluster, 0, clusterTimeout,
		"Wait until every node reports cluster_state:ok with all slots assigned and all nodes known, and every replica's link is up", after...)
}
