package service

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/dbplane/dbplane"
)

// ClusterEngine plans the steps of one database engine's cluster changes.
// Engine packages (engine/postgres, …) implement it and register the
// handlers their steps name on the task engine.
type ClusterEngine interface {
	// PlanCreate returns the steps that bring up c's placed nodes.
	PlanCreate(c *dbplane.Cluster) []dbplane.PlanStep
	// PlanDelete returns the steps that stop c's nodes and remove their
	// data.
	PlanDelete(c *dbplane.Cluster) []dbplane.PlanStep
	// Endpoints tells clients where to connect to c.
	Endpoints(c *dbplane.Cluster) *dbplane.Endpoints
	// CheckParameters refuses engine parameters the engine will not take
	// (ones dbplane manages itself, or unknown ones), so that a bad
	// parameter is a 400 at once rather than a failed step later. Every
	// engine has parameters, so every engine checks them.
	CheckParameters(params map[string]string) error
}

// Handler names of the service's own cluster steps.
const (
	HandlerMarkRunning  = "cluster.mark_running"
	HandlerReleaseNodes = "cluster.release_nodes"
)

// planCreateCluster plans the create task of c, whose nodes are placed: the
// engine's steps, then marking the cluster running.
func planCreateCluster(c *dbplane.Cluster, e ClusterEngine) dbplane.TaskPlan {
	steps := e.PlanCreate(c)
	steps = append(steps, dbplane.PlanStep{Key: "running", Name: "Mark cluster running", Handler: HandlerMarkRunning,
		After: sinks(steps), Description: "Verify every node is in place and mark the cluster running"})
	return dbplane.TaskPlan{
		Name:    fmt.Sprintf("Create %s cluster %s", c.Engine, c.Name),
		Kind:    dbplane.TaskKindClusterCreate,
		Context: clusterContext(c),
		Steps:   steps,
	}
}

// planDeleteCluster plans the delete task of c: the engine's steps, then
// releasing the nodes' hosts and ports. Deleting data cannot be undone, so
// the task prohibits rollback.
func planDeleteCluster(c *dbplane.Cluster, e ClusterEngine) dbplane.TaskPlan {
	steps := e.PlanDelete(c)
	steps = append(steps, dbplane.PlanStep{Key: "release", Name: "Release nodes", Handler: HandlerReleaseNodes,
		After: sinks(steps), Description: "Free the hosts and ports of the cluster's nodes"})
	return dbplane.TaskPlan{
		Name:             fmt.Sprintf("Delete %s cluster %s", c.Engine, c.Name),
		Kind:             dbplane.TaskKindClusterDelete,
		ClusterID:        c.ID,
		ProhibitRollback: true,
		Context:          clusterContext(c),
		Steps:            steps,
	}
}

// sinks returns the keys of the steps no other step follows.
func sinks(steps []dbplane.PlanStep) []string {
	followed := map[string]bool{}
	for _, s := range steps {
		for _, up := range s.After {
			followed[up] = true
		}
	}
	var keys []string
	for _, s := range steps {
		if !followed[s.Key] && !slices.Contains(keys, s.Key) {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

func clusterContext(c *dbplane.Cluster) map[string]string {
	return map[string]string{
		"cluster_name": c.Name,
		"engine":       c.Engine,
		"version":      c.Version,
		"topology":     c.Topology,
		"nodes":        strconv.Itoa(c.Spec.NodeCount()),
	}
}
