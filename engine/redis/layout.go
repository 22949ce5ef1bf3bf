package redis

import (
	"fmt"
	"path"
	"strconv"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// osUser is the OS account every Redis process and file belongs to. The
// Debian package creates it; one account serves every cluster on a host.
const osUser = "redis"

// serverBinary is redis-server as the Debian package installs it.
const serverBinary = "/usr/bin/redis-server"

// busPortOffset is how far above a node's port its cluster bus listens, as
// Redis does by default.
const busPortOffset = 10000

// Node roles, as placement records them for the standalone and replication
// topologies. Redis cluster nodes are shard-<S>-primary and
// shard-<S>-replica.
const (
	RolePrimary = enginekit.RolePrimary
	RoleReplica = enginekit.RoleReplica
)

// node is a node of a cluster with the names and paths dbplane gives it on
// its host. Everything a node owns on its host is either its data directory
// or its home beside it, so removing the two removes the node.
type node enginekit.Node

// instanceID names the node's process for the agent: unique on a host,
// because a host carries at most one node of a cluster.
func (n node) instanceID() string { return enginekit.InstanceID("redis", n.Node) }

// home holds what belongs to the node but is not data: its configuration,
// users, replication credentials, pid file and log. Keeping them out of the
// data directory keeps Redis (which may write only there) from touching
// them, and keeps secrets out of any copy of the data.
func (n node) home() string { return enginekit.Home(n.Node) }

func (n node) confFile() string { return path.Join(n.home(), "redis.conf") }
func (n node) aclFile() string  { return path.Join(n.home(), "users.acl") }
func (n node) authFile() string { return path.Join(n.home(), "auth.conf") }
func (n node) pidFile() string  { return path.Join(n.home(), "redis.pid") }
func (n node) logFile() string  { return path.Join(n.home(), "redis.log") }

// nodesFile is the cluster configuration Redis keeps for itself (node ids,
// epochs, slots) in a Redis cluster.
func (n node) nodesFile() string { return path.Join(n.DataDir, "nodes.conf") }

// hostPort is the address clients reach the node at.
func (n node) hostPort() string { return enginekit.JoinHostPort(n.Address, n.Port) }

// busPort is the port of the node's cluster bus.
func (n node) busPort() int { return n.Port + busPortOffset }

// ports are the TCP ports the node listens on: its port and, in a Redis
// cluster, its cluster bus port.
func (n node) ports() []int {
	if n.isRedisCluster() {
		return []int{n.Port, n.busPort()}
	}
	return []int{n.Port}
}

// shard is the node's shard: 0 outside a Redis cluster.
func (n node) shard() int { return shardOf(n.Cluster, n.Ordinal) }

// isPrimary reports whether the node is a primary: the primary of a
// replication cluster, or its shard's primary in a Redis cluster.
func (n node) isPrimary() bool { return isPrimary(n.Cluster, n.Ordinal) }

// isRedisCluster reports whether the node's cluster runs Redis Cluster.
func (n node) isRedisCluster() bool { return n.Cluster.Topology == dbplane.TopologyRedisCluster }

// perShard is how many nodes a shard of a Redis cluster has: its primary
// and its replicas; 0 for any other topology, whose nodes form one shard.
func perShard(c *dbplane.Cluster) int {
	if c.Topology == dbplane.TopologyRedisCluster {
		return 1 + max(c.Spec.ReplicasPerShard, 0)
	}
	return 0
}

// shardOf is the shard of node ordinal: nodes 0..R are shard 0 (its primary
// first), R+1..2R+1 shard 1, …, as placement assigns roles.
func shardOf(c *dbplane.Cluster, ordinal int) int {
	if per := perShard(c); per > 0 {
		return ordinal / per
	}
	return 0
}

// isPrimary reports whether node ordinal of c is a primary.
func isPrimary(c *dbplane.Cluster, ordinal int) bool {
	if per := perShard(c); per > 0 {
		return ordinal%per == 0
	}
	return ordinal == primaryOf(c)
}

// primaryOf returns the ordinal of the primary of a standalone or
// replication cluster: the node placement marked primary, or node 0.
func primaryOf(c *dbplane.Cluster) int {
	for _, n := range c.Nodes {
		if n.Role == RolePrimary {
			return n.Ordinal
		}
	}
	return 0
}

// shardPrimary returns the ordinal of the primary of node ordinal's shard.
func shardPrimary(c *dbplane.Cluster, ordinal int) int {
	if per := perShard(c); per > 0 {
		return ordinal / per * per
	}
	return primaryOf(c)
}

// roleName describes node ordinal in step names: "primary", "replica 2",
// or "node 4 (shard 1 replica)" in a Redis cluster.
func roleName(c *dbplane.Cluster, ordinal int) string {
	switch {
	case perShard(c) > 0 && isPrimary(c, ordinal):
		return fmt.Sprintf("node %d (shard %d primary)", ordinal, shardOf(c, ordinal))
	case perShard(c) > 0:
		return fmt.Sprintf("node %d (shard %d replica)", ordinal, shardOf(c, ordinal))
	case isPrimary(c, ordinal):
		return "primary"
	}
	return "replica " + strconv.Itoa(ordinal)
}

// nodeOf returns the node of c with the given ordinal.
func nodeOf(c *dbplane.Cluster, ordinal int) (node, error) {
	n, err := enginekit.NodeOf(c, ordinal)
	return node{Node: n, Cluster: c}, err
}

// allNodes returns the nodes of c by ordinal.
func allNodes(c *dbplane.Cluster) ([]node, error) {
	var out []node
	for _, m := range enginekit.SortedNodes(c) {
		n, err := nodeOf(c, m.Ordinal)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
