package redis_test

import (
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/redis"
	"github.com/dbplane/dbplane/service"
)

// The control plane stops, starts and restarts Redis clusters.
var _ service.PowerEngine = (*redis.Engine)(nil)

func TestPlanStop(t *testing.T) {
	e := &redis.Engine{}
	steps := e.PlanStop(newCluster("sessions", dbplane.TopologyReplication, 3, 0, 0))
	enginetest.InOrder(t, steps, "Stop replica 1", "Stop primary")
	enginetest.InOrder(t, steps, "Stop replica 2", "Stop primary")
	enginetest.Parallel(t, steps, "Stop replica 1", "Stop replica 2")
	cl := e.PlanStop(newCluster("cache", dbplane.TopologyRedisCluster, 0, 2, 1))
	if len(cl) != 4 {
		t.Fatalf("cluster stop %v; want every node", enginetest.Names(cl))
	}
	enginetest.InOrder(t, cl, "Stop node 1 (shard 0 replica)", "Stop node 0 (shard 0 primary)")
	enginetest.InOrder(t, cl, "Stop node 1 (shard 0 replica)", "Stop node 2 (shard 1 primary)")
	enginetest.Parallel(t, cl, "Stop node 0 (shard 0 primary)", "Stop node 2 (shard 1 primary)")
}

func TestPlanStart(t *testing.T) {
	e := &redis.Engine{}
	steps := e.PlanStart(newCluster("sessions", dbplane.TopologyReplication, 3, 0, 0))
	enginetest.InOrder(t, steps, "Start primary", "Start replica 1", "Verify replica 1")
	enginetest.InOrder(t, steps, "Start primary", "Start replica 2", "Verify replica 2")
	enginetest.Parallel(t, steps, "Start replica 1", "Start replica 2")
	cl := e.PlanStart(newCluster("cache", dbplane.TopologyRedisCluster, 0, 2, 1))
	enginetest.InOrder(t, cl, "Start node 0 (shard 0 primary)", "Start node 1 (shard 0 replica)", "Verify cluster")
	enginetest.InOrder(t, cl, "Start node 2 (shard 1 primary)", "Start node 3 (shard 1 replica)", "Verify cluster")
	enginetest.Parallel(t, cl, "Start node 0 (shard 0 primary)", "Start node 2 (shard 1 primary)")
}

// TestPlanRestart: one node at a time, replicas before primaries, each
// checked before the next stops.
func TestPlanRestart(t *testing.T) {
	e := &redis.Engine{}
	steps := e.PlanRestart(newCluster("sessions", dbplane.TopologyReplication, 3, 0, 0))
	enginetest.InOrder(t, steps, "Stop replica 1", "Start replica 1", "Verify replica 1", "Stop replica 2", "Start replica 2",
		"Verify replica 2", "Stop primary", "Start primary", "Verify replica 1 after the primary")
	enginetest.InOrder(t, steps, "Start primary", "Verify replica 2 after the primary")
	cl := e.PlanRestart(newCluster("cache", dbplane.TopologyRedisCluster, 0, 2, 1))
	enginetest.InOrder(t, cl, "Stop node 1 (shard 0 replica)", "Start node 1 (shard 0 replica)", "Verify cluster after node 1 (shard 0 replica)",
		"Stop node 3 (shard 1 replica)", "Start node 3 (shard 1 replica)", "Verify cluster after node 3 (shard 1 replica)",
		"Stop node 0 (shard 0 primary)", "Start node 0 (shard 0 primary)", "Verify cluster after node 0 (shard 0 primary)",
		"Stop node 2 (shard 1 primary)", "Start node 2 (shard 1 primary)", "Verify cluster after node 2 (shard 1 primary)")
	for _, s := range cl {
		if s.Handler == redis.HandlerVerifyCluster && len(s.After) != 1 {
			t.Errorf("%s waits for %v; want the start before it", s.Name, s.After)
		}
	}
}

// TestPowerHandlersRegistered: every step of a stop, start or restart
// names a handler the engine registers, and none has an undo (the tasks
// prohibit rollback).
func TestPowerHandlersRegistered(t *testing.T) {
	e := &redis.Engine{}
	for _, topology := range []string{dbplane.TopologyStandalone, dbplane.TopologyReplication, dbplane.TopologyRedisCluster} {
		enginetest.CheckPowerPlans(t, e, newCluster("trio", topology, 3, 3, 1))
	}
}
