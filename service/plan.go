package service

import (
	"fmt"
	"strconv"

	"github.com/dbplane/dbplane"
)

// Handler names of the cluster task steps.
const (
	HandlerCheckPlacement = "cluster.check_placement"
	HandlerMarkRunning    = "cluster.mark_running"
	HandlerCheckRemovable = "cluster.check_removable"
)

// planCreateCluster plans the create task of c. Engine steps (package
// install, init, replicas…) come with the agent; until then placement is
// the first step, so creation stops there with a clear error when the fleet
// has no hosts for the cluster.
func planCreateCluster(c *dbplane.Cluster) dbplane.TaskPlan {
	return dbplane.TaskPlan{
		Name:    fmt.Sprintf("Create %s cluster %s", c.Engine, c.Name),
		Kind:    dbplane.TaskKindClusterCreate,
		Context: clusterContext(c),
		Steps: []dbplane.PlanStep{
			{Key: "place", Name: "Check placement", Handler: HandlerCheckPlacement,
				Description: fmt.Sprintf("Find %d ONLINE hosts, one per node, spread over the cluster's zones", nodeCount(c))},
			{Key: "running", Name: "Mark cluster running", Handler: HandlerMarkRunning, After: []string{"place"},
				Description: "Verify every node is in place and mark the cluster running"},
		},
	}
}

// planDeleteCluster plans the delete task of c. Deleting data cannot be
// undone, so the task prohibits rollback.
func planDeleteCluster(c *dbplane.Cluster) dbplane.TaskPlan {
	return dbplane.TaskPlan{
		Name:             fmt.Sprintf("Delete %s cluster %s", c.Engine, c.Name),
		Kind:             dbplane.TaskKindClusterDelete,
		ClusterID:        c.ID,
		ProhibitRollback: true,
		Context:          clusterContext(c),
		Steps: []dbplane.PlanStep{
			{Key: "removable", Name: "Check no node is left", Handler: HandlerCheckRemovable,
				Description: "Verify the cluster has no node left before its record is removed"},
		},
	}
}

func clusterContext(c *dbplane.Cluster) map[string]string {
	return map[string]string{
		"cluster_name": c.Name,
		"engine":       c.Engine,
		"version":      c.Version,
		"topology":     c.Topology,
		"nodes":        strconv.Itoa(nodeCount(c)),
	}
}

// nodeCount is the number of nodes the cluster's spec asks for.
func nodeCount(c *dbplane.Cluster) int {
	if c.Topology == dbplane.TopologyRedisCluster && c.Spec.Shards > 0 {
		return c.Spec.Shards * (1 + c.Spec.ReplicasPerShard)
	}
	return max(c.Spec.Nodes, 1)
}
