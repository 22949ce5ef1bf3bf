package redis_test

import (
	"fmt"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/redis"
)

// newCluster returns a placed cluster on hosts 1..n at 10.0.0.1.., as the
// control plane hands it to the engine: for redis-cluster, shards × (1 +
// replicas) nodes with placement's roles; otherwise nodes nodes.
func newCluster(name, topology string, nodes, shards, replicas int) *dbplane.Cluster {
	if topology == dbplane.TopologyRedisCluster {
		nodes = shards * (1 + replicas)
	}
	c := enginetest.NewCluster(dbplane.EngineRedis, "7.0", name, topology, nodes)
	c.Spec.Shards, c.Spec.ReplicasPerShard, c.Spec.Persistence = shards, replicas, "rdb"
	enginetest.PlaceNodes(c, 6379, func(i int) string { return role(topology, replicas, i) })
	for i := range c.Nodes {
		c.Nodes[i].MemoryMB = 4096
	}
	return c
}

// role is the role placement gives node ordinal.
func role(topology string, replicas, ordinal int) string {
	switch {
	case topology == dbplane.TopologyRedisCluster && ordinal%(1+replicas) == 0:
		return fmt.Sprintf("shard-%d-primary", ordinal/(1+replicas))
	case topology == dbplane.TopologyRedisCluster:
		return fmt.Sprintf("shard-%d-replica", ordinal/(1+replicas))
	case ordinal == 0:
		return redis.RolePrimary
	}
	return redis.RoleReplica
}

// fakeEngine returns an engine over fakes for c, its agents by host, and
// the fake Redis its nodes run on.
func fakeEngine(c *dbplane.Cluster, password string) (*redis.Engine, map[int64]*fakeAgent, *fakeRedis) {
	world := newFakeRedis(password)
	agents, dialer := enginetest.Agents(c, func(hostID int64) *fakeAgent { return newFakeAgent(hostID, world) })
	e := &redis.Engine{Deps: enginekit.Deps{Store: &fakeStore{TaskID: 1, Cluster: c, Password: password}, Dialer: dialer}}
	e.SetConnect(world.connect)
	return e, agents, world
}

// The plan runners and the step log are the kit's.
type stepLog = enginetest.Log

var (
	runPlan  = enginetest.RunPlan
	runStep  = enginetest.RunStep
	undoPlan = enginetest.UndoPlan
)

// The plan assertions tls_test.go calls are the kit's.
var (
	stepByName    = enginetest.StepByName
	upstreamNames = enginetest.UpstreamNames
)
