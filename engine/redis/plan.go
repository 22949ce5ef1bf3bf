package redis

import (
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// Timeouts of the engine's own steps and waits; the kit has those every
// engine plans, and how many attempts every step gets.
const (
	clusterTimeout = 3 * time.Minute
	readyTimeout   = 60 * time.Second // a started node answering
)

// PlanCreate returns the steps that build the cluster on its placed nodes:
// per host (in parallel) precheck, install packages, prepare directories,
// (with SSL) write the node's certificate and write its configuration; once every host is prepared, the
// users of every node; then every node starts (in parallel, but a replica
// after its primary). A replication cluster then verifies each replica's
// link to the primary; a Redis cluster is joined ("Create cluster": slots
// and replicas as dbplane's roles say) and verified. The service appends
// the step that marks the cluster running after all of them.
func (e *Engine) PlanCreate(c *dbplane.Cluster) []dbplane.PlanStep {
	nodes := planNodes(c)
	var steps, starts []dbplane.PlanStep
	var prepared []string
	for _, n := range nodes {
		k := stepKey(n.Ordinal)
		host, configAfter := hostPlan(c).Prepare(c, n)
		steps = append(steps, host...)
		steps = append(steps, newStep(k("configure"), "Configure "+roleName(c, n.Ordinal), HandlerConfigure, n.Ordinal, enginekit.ShortTimeout,
			configureDesc(c, n), configAfter))
		prepared = append(prepared, k("prepare"))
	}
	steps = append(steps, newStep("redis-users", "Create users", HandlerCreateUsers, 0, enginekit.ShortTimeout,
		fmt.Sprintf("Write the ACL users (default off, %s with the cluster's password, %s for replication) and the replication credentials of every node",
			AdminUser, replicationUser), prepared...))
	for _, n := range nodes {
		k := stepKey(n.Ordinal)
		after := []string{k("configure"), "redis-users"}
		if c.Topology == dbplane.TopologyReplication && !isPrimary(c, n.Ordinal) {
			// A replica that finds no primary tries again only a second
			// later.
			after = append(after, stepKey(primaryOf(c))("start"))
		}
		starts = append(starts, enginekit.WithUndo(HandlerStop, newStep(k("start"), "Start "+roleName(c, n.Ordinal), HandlerStart, n.Ordinal, enginekit.StartTimeout,
			fmt.Sprintf("Start redis-server on %s and wait until it answers PING as %s", enginekit.Where(n), AdminUser), after...)))
	}
	steps = append(steps, starts...)
	switch c.Topology {
	case dbplane.TopologyReplication:
		steps = append(steps, verifyReplicaSteps(c, nodes)...)
	case dbplane.TopologyRedisCluster:
		steps = append(steps, clusterSteps(c, starts)...)
	}
	return steps
}

// verifyReplicaSteps wait for each replica's link to the primary.
func verifyReplicaSteps(c *dbplane.Cluster, nodes []dbplane.Node) []dbplane.PlanStep {
	p := primaryOf(c)
	var steps []dbplane.PlanStep
	for _, n := range nodes {
		if n.Ordinal == p {
			continue
		}
		k := stepKey(n.Ordinal)
		steps = append(steps, newStep(k("verify"), "Verify "+roleName(c, n.Ordinal), HandlerVerifyReplica, n.Ordinal, enginekit.StartTimeout,
			fmt.Sprintf("Wait until INFO replication on replica %d shows master_link_status:up and the primary lists it online", n.Ordinal),
			k("start"), stepKey(p)("start")))
	}
	return steps
}

// clusterSteps join the started nodes into a Redis cluster and verify it.
func clusterSteps(c *dbplane.Cluster, starts []dbplane.PlanStep) []dbplane.PlanStep {
	var started []string
	for _, s := range starts {
		started = append(started, s.Key)
	}
	var split string
	for i, r := range slotRanges(max(c.Spec.Shards, 1)) {
		if i > 0 {
			split += ", "
		}
		split += fmt.Sprintf("shard %d %s", i, r)
	}
	return []dbplane.PlanStep{
		newStep("redis-cluster-create", "Create cluster", HandlerCreateCluster, 0, clusterTimeout,
			fmt.Sprintf("Meet all %d nodes, assign the %d slots to the shard primaries (%s) and attach each replica to its shard's primary",
				c.Spec.Shards*(1+c.Spec.ReplicasPerShard), totalSlots, split), started...),
		newStep("redis-cluster-verify", "Verify cluster", HandlerVerifyCluster, 0, clusterTimeout,
			"Wait until every node reports cluster_state:ok with all slots assigned and all nodes known, and every replica's link is up",
			"redis-cluster-create"),
	}
}

// hostPlan is how the cluster's nodes are planned on their hosts.
func hostPlan(c *dbplane.Cluster) enginekit.HostPlan {
	return enginekit.HostPlan{Engine: engineName, Product: "Redis", User: osUser,
		Key:   func(n dbplane.Node, name string) string { return stepKey(n.Ordinal)(name) },
		Ports: func(n dbplane.Node) string { return portsOf(c, n) }}
}

// PlanDelete returns the steps that stop every node and remove its data,
// in parallel. The service releases the nodes and their ports after them.
func (e *Engine) PlanDelete(c *dbplane.Cluster) []dbplane.PlanStep {
	return hostPlan(c).Remove(planNodes(c))
}

// configureDesc describes the configuration of node n.
func configureDesc(c *dbplane.Cluster, n dbplane.Node) string {
	desc := fmt.Sprintf("Write redis.conf of node %d: bind its address, protected mode, ACL file, %s persistence", n.Ordinal, persistence(c))
	if c.Spec.SSL {
		desc += ", TLS only (clients, replication and cluster bus)"
	}
	switch {
	case c.Topology == dbplane.TopologyRedisCluster:
		desc += ", cluster mode with the bus on port+10000"
	case !isPrimary(c, n.Ordinal):
		desc += fmt.Sprintf(", replica of node %d", primaryOf(c))
	}
	return desc
}

// portsOf names the ports the precheck of n checks.
func portsOf(c *dbplane.Cluster, n dbplane.Node) string {
	if n.Port == 0 {
		if c.Topology == dbplane.TopologyRedisCluster {
			return "the node's port and cluster bus port"
		}
		return "the node's port"
	}
	if c.Topology == dbplane.TopologyRedisCluster {
		return fmt.Sprintf("ports %d and %d", n.Port, n.Port+busPortOffset)
	}
	return fmt.Sprintf("port %d", n.Port)
}

// planNodes returns the cluster's nodes by ordinal or, before placement
// (a dry run), as many unplaced nodes as the spec asks for.
func planNodes(c *dbplane.Cluster) []dbplane.Node {
	count := 1
	switch c.Topology {
	case dbplane.TopologyReplication:
		count = max(c.Spec.Nodes, 1)
	case dbplane.TopologyRedisCluster:
		count = max(c.Spec.Shards*(1+c.Spec.ReplicasPerShard), 1)
	}
	return enginekit.PlanNodes(c, count)
}

// stepKey returns the function that names the steps of node ordinal.
func stepKey(ordinal int) func(string) string {
	return func(name string) string { return fmt.Sprintf("redis-%s-%d", name, ordinal) }
}

// newStep returns a step acting on node ordinal.
func newStep(key, name, handler string, ordinal int, timeout time.Duration, desc string, after ...string) dbplane.PlanStep {
	return enginekit.NewStep(key, name, handler, ordinal, timeout, desc, after...)
}
