package postgres_test

import (
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/postgres"
	"github.com/dbplane/dbplane/service"
)

// The control plane stops, starts and restarts PostgreSQL clusters.
var _ service.PowerEngine = (*postgres.Engine)(nil)

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
			t.Errorf("%q does not wait for %q in %v", names[i], names[i-1], names)
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

func handlersOf(steps []dbplane.PlanStep) map[string]string {
	out := map[string]string{}
	for _, s := range steps {
		out[s.Name] = s.Handler
	}
	return out
}

func TestPlanStop(t *testing.T) {
	e := &postgres.Engine{}
	steps := e.PlanStop(newCluster("orders", dbplane.TopologyReplication, dbplane.ReplicationSync, 3))
	if len(steps) != 3 {
		t.Fatalf("steps %v; want one stop per node", names(steps))
	}
	inOrder(t, steps, "Stop node 1", "Stop node 0")
	inOrder(t, steps, "Stop node 2", "Stop node 0")
	parallel(t, steps, "Stop node 1", "Stop node 2")
	for name, h := range handlersOf(steps) {
		if h != postgres.HandlerStop {
			t.Errorf("%s runs %s, want %s", name, h, postgres.HandlerStop)
		}
	}
	if solo := e.PlanStop(newCluster("solo", dbplane.TopologyStandalone, "", 1)); len(solo) != 1 || solo[0].Handler != postgres.HandlerStop {
		t.Errorf("standalone stop %v; want one stop", names(solo))
	}
}

func TestPlanStart(t *testing.T) {
	e := &postgres.Engine{}
	steps := e.PlanStart(newCluster("orders", dbplane.TopologyReplication, dbplane.ReplicationSync, 3))
	inOrder(t, steps, "Start node 0", "Start node 1", "Verify streaming 1")
	inOrder(t, steps, "Start node 0", "Start node 2", "Verify streaming 2")
	parallel(t, steps, "Start node 1", "Start node 2")
	h := handlersOf(steps)
	if h["Start node 0"] != postgres.HandlerStart || h["Verify streaming 2"] != postgres.HandlerVerify || len(steps) != 5 {
		t.Errorf("steps %v (%v); want the primary's start, then each replica's start and verify", names(steps), h)
	}
}

// TestPlanRestart: one node at a time, replicas first, the primary last,
// and every replica verified streaming from the restarted primary.
func TestPlanRestart(t *testing.T) {
	e := &postgres.Engine{}
	steps := e.PlanRestart(newCluster("orders", dbplane.TopologyReplication, dbplane.ReplicationQuorum, 3))
	inOrder(t, steps, "Stop node 1", "Start node 1", "Verify streaming 1",
		"Stop node 2", "Start node 2", "Verify streaming 2",
		"Stop node 0", "Start node 0", "Verify streaming 1 after the primary")
	inOrder(t, steps, "Start node 0", "Verify streaming 2 after the primary")
	if len(steps) != 10 {
		t.Errorf("steps %v; want 10", names(steps))
	}
	if solo := e.PlanRestart(newCluster("solo", dbplane.TopologyStandalone, "", 1)); len(solo) != 2 {
		t.Errorf("standalone restart %v; want stop and start", names(solo))
	} else {
		inOrder(t, solo, "Stop node 0", "Start node 0")
	}
}

// TestPowerHandlersRegistered: every step of a stop, start or restart
// names a handler the engine registers, and none has an undo (the tasks
// prohibit rollback).
func TestPowerHandlersRegistered(t *testing.T) {
	e := &postgres.Engine{}
	registered := e.HandlerNames()
	for _, topology := range []string{dbplane.TopologyStandalone, dbplane.TopologyReplication} {
		c := newCluster("trio", topology, dbplane.ReplicationSync, 3)
		for _, s := range append(append(e.PlanStop(c), e.PlanStart(c)...), e.PlanRestart(c)...) {
			if !slices.Contains(registered, s.Handler) || s.Undo != "" {
				t.Errorf("%s: step %q runs %q (undo %q); want a registered handler and no undo", topology, s.Name, s.Handler, s.Undo)
			}
		}
	}
}
