package redis_test

import (
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/redis"
	"github.com/dbplane/dbplane/service"
)

// The control plane stops, starts and restarts Redis clusters.
var _ service.PowerEngine = (*redis.Engine)(nil)

// ancestors returns the names of the steps that must end before the
// named one starts, through any path.
func ancestors(t *testing.T, steps []dbplane.PlanStep, name string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	var walk func(s dbplane.PlanStep)
	walk = func(s dbplane.PlanStep) {
		for _, up := range upstreamNames(t, steps, s) {
			if !seen[up] {
				seen[up] = true
				walk(stepByName(t, steps, up))
			}
		}
	}
	walk(stepByName(t, steps, name))
	return seen
}

// inOrder fails unless each named step runs after the one before it.
func inOrder(t *testing.T, steps []dbplane.PlanStep, names ...string) {
	t.Helper()
	for i := 1; i < len(names); i++ {
		if !ancestors(t, steps, names[i])[names[i-1]] {
			t.Errorf("%q does not wait for %q", names[i], names[i-1])
		}
	}
}

// parallel fails if either step waits for the other.
func parallel(t *testing.T, steps []dbplane.PlanStep, a, b string) {
	t.Helper()
	if ancestors(t, steps, a)[b] || ancestors(t, steps, b)[a] {
		t.Errorf("%q and %q do not run in parallel", a, b)
	}
}

func TestPlanStop(t *testing.T) {
	e := &redis.Engine{}
	steps := e.PlanStop(newCluster("sessions", dbplane.TopologyReplication, 3, 0, 0))
	inOrder(t, steps, "Stop replica 1", "Stop primary")
	inOrder(t, steps, "Stop replica 2", "Stop primary")
	parallel(t, steps, "Stop replica 1", "Stop replica 2")
	cl := e.PlanStop(newCluster("cache", dbplane.TopologyRedisCluster, 0, 2, 1))
	if len(cl) != 4 {
		t.Fatalf("cluster stop %v; want every node", names(cl))
	}
	inOrder(t, cl, "Stop node 1 (shard 0 replica)", "Stop node 0 (shard 0 primary)")
	inOrder(t, cl, "Stop node 1 (shard 0 replica)", "Stop node 2 (shard 1 primary)")
	parallel(t, cl, "Stop node 0 (shard 0 primary)", "Stop node 2 (shard 1 primary)")
}

func TestPlanStart(t *testing.T) {
	e := &redis.Engine{}
	steps := e.PlanStart(newCluster("sessions", dbplane.TopologyReplication, 3, 0, 0))
	inOrder(t, steps, "Start primary", "Start replica 1", "Verify replica 1")
	inOrder(t, steps, "Start primary", "Start replica 2", "Verify replica 2")
	parallel(t, steps, "Start replica 1", "Start replica 2")
	cl := e.PlanStart(newCluster("cache", dbplane.TopologyRedisCluster, 0, 2, 1))
	inOrder(t, cl, "Start node 0 (shard 0 primary)", "Start node 1 (shard 0 replica)", "Verify cluster")
	inOrder(t, cl, "Start node 2 (shard 1 primary)", "Start node 3 (shard 1 replica)", "Verify cluster")
	parallel(t, cl, "Start node 0 (shard 0 primary)", "Start node 2 (shard 1 primary)")
}

// TestPlanRestart: one node at a time, replicas before primaries, each
// checked before the next stops.
func TestPlanRestart(t *testing.T) {
	e := &redis.Engine{}
	steps := e.PlanRestart(newCluster("sessions", dbplane.TopologyReplication, 3, 0, 0))
	inOrder(t, steps, "Stop replica 1", "Start replica 1", "Verify replica 1", "Stop replica 2", "Start replica 2",
		"Verify replica 2", "Stop primary", "Start primary", "Verify replica 1 after the primary")
	inOrder(t, steps, "Start primary", "Verify replica 2 after the primary")
	cl := e.PlanRestart(newCluster("cache", dbplane.TopologyRedisCluster, 0, 2, 1))
	inOrder(t, cl, "Stop node 1 (shard 0 replica)", "Start node 1 (shard 0 replica)", "Verify cluster after node 1 (shard 0 replica)",
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
	registered := e.HandlerNames()
	for _, topology := range []string{dbplane.TopologyStandalone, dbplane.TopologyReplication, dbplane.TopologyRedisCluster} {
		c := newCluster("trio", topology, 3, 3, 1)
		for _, s := range append(append(e.PlanStop(c), e.PlanStart(c)...), e.PlanRestart(c)...) {
			if !slices.Contains(registered, s.Handler) || s.Undo != "" {
				t.Errorf("%s: step %q runs %q (undo %q); want a registered handler and no undo", topology, s.Name, s.Handler, s.Undo)
			}
		}
	}
}
