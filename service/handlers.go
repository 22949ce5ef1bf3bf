package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/taskengine"
)

// RegisterHandlers registers the cluster step handlers on an engine. Steps
// find their cluster through their task: a cluster's id is only known once
// its create task is stored.
func RegisterHandlers(e *taskengine.Engine, store dbplane.Store) {
	h := handlers{store: store}
	e.Register(HandlerCheckPlacement, h.checkPlacement)
	e.Register(HandlerMarkRunning, h.markRunning)
	e.Register(HandlerCheckRemovable, h.checkRemovable)
}

type handlers struct {
	store dbplane.Store
}

// cluster returns the cluster the run's task changes.
func (h handlers) cluster(ctx context.Context, run *taskengine.Run) (*dbplane.Cluster, error) {
	t, err := h.store.FindTaskByID(ctx, run.Subtask.TaskID)
	if err != nil {
		return nil, err
	}
	if t.ClusterID == 0 {
		return nil, dbplane.Permanent(fmt.Errorf("task %d has no cluster", t.ID))
	}
	return h.store.FindClusterByID(ctx, t.ClusterID)
}

// checkPlacement verifies the fleet has one ONLINE host per node in the
// cluster's zones, or fails permanently saying what is missing.
func (h handlers) checkPlacement(ctx context.Context, run *taskengine.Run) error {
	c, err := h.cluster(ctx, run)
	if err != nil {
		return err
	}
	online := dbplane.HostOnline
	hosts, _, err := h.store.FindHosts(ctx, dbplane.HostFilter{Status: &online, Limit: dbplane.MaxPageSize})
	if err != nil {
		return err
	}
	need, zones := nodeCount(c), c.Spec.Zones
	usable := 0
	perZone := map[string]int{}
	for _, host := range hosts {
		if len(zones) == 0 || slices.Contains(zones, host.Zone) {
			usable++
			perZone[host.Zone]++
		}
	}
	run.Logf(ctx, "cluster %s needs %d hosts; %d ONLINE hosts, %d of them usable", c.Name, need, len(hosts), usable)
	if usable < need {
		where := "in the fleet"
		if len(zones) > 0 {
			where = fmt.Sprintf("in zones %v", zones)
		}
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindUnplaceable,
			"cluster %s needs %d ONLINE hosts (one node per host) %s; %d are available", c.Name, need, where, usable))
	}
	for _, z := range zones {
		if perZone[z] == 0 {
			return dbplane.Permanent(dbplane.Errorf(dbplane.KindUnplaceable, "zone %s has no ONLINE host", z))
		}
	}
	return nil
}

// markRunning verifies every node of the cluster is in place. The task's
// success then marks the cluster running, in the same transaction.
func (h handlers) markRunning(ctx context.Context, run *taskengine.Run) error {
	c, err := h.cluster(ctx, run)
	if err != nil {
		return err
	}
	if need := nodeCount(c); len(c.Nodes) != need {
		return dbplane.Permanent(fmt.Errorf("cluster %s has %d of its %d nodes", c.Name, len(c.Nodes), need))
	}
	return nil
}

// checkRemovable verifies no node of the cluster is left, so that removing
// its record forgets nothing that still runs.
func (h handlers) checkRemovable(ctx context.Context, run *taskengine.Run) error {
	c, err := h.cluster(ctx, run)
	if err != nil {
		return err
	}
	if n := len(c.Nodes); n > 0 {
		return fmt.Errorf("cluster %s still has %d nodes", c.Name, n)
	}
	run.Logf(ctx, "cluster %s has no node left", c.Name)
	return nil
}
