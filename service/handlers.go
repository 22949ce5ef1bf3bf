package service

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/taskengine"
)

// RegisterHandlers registers the service's own cluster step handlers on an
// engine. Steps find their cluster through their task: a cluster's id is
// only known once its create task is stored.
func RegisterHandlers(e *taskengine.Engine, store dbplane.Store) {
	h := handlers{store: store}
	e.Register(HandlerMarkRunning, h.markRunning)
	e.Register(HandlerReleaseNodes, h.releaseNodes)
	e.Register(HandlerMarkStopped, h.markStopped)
	e.Register(HandlerCommitPassword, h.commitPassword)
	e.Register(HandlerRecordParameters, h.recordParameters)
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

// markRunning verifies every node of the cluster is in place. The task's
// success then marks the cluster running, in the same transaction.
func (h handlers) markRunning(ctx context.Context, run *taskengine.Run) error {
	c, err := h.cluster(ctx, run)
	if err != nil {
		return err
	}
	if need := c.Spec.NodeCount(); len(c.Nodes) != need {
		return dbplane.Permanent(fmt.Errorf("cluster %s has %d of its %d nodes", c.Name, len(c.Nodes), need))
	}
	if err := h.store.SetNodesStatus(ctx, c.ID, "running"); err != nil {
		return err
	}
	run.Logf(ctx, "cluster %s has its %d nodes", c.Name, len(c.Nodes))
	return nil
}

// releaseNodes forgets the cluster's nodes once the engine removed them, so
// their hosts and ports can take other nodes.
func (h handlers) releaseNodes(ctx context.Context, run *taskengine.Run) error {
	c, err := h.cluster(ctx, run)
	if err != nil {
		return err
	}
	if err := h.store.DeleteNodes(ctx, c.ID); err != nil {
		return err
	}
	run.Logf(ctx, "released %d nodes of cluster %s", len(c.Nodes), c.Name)
	return nil
}

// markStopped records every node of the cluster stopped once the engine
// stopped them. The task's success then marks the cluster stopped, in the
// same transaction.
func (h handlers) markStopped(ctx context.Context, run *taskengine.Run) error {
	c, err := h.cluster(ctx, run)
	if err != nil {
		return err
	}
	if err := h.store.SetNodesStatus(ctx, c.ID, "stopped"); err != nil {
		return err
	}
	run.Logf(ctx, "the %d nodes of cluster %s are stopped", len(c.Nodes), c.Name)
	return nil
}
