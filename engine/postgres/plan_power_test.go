package postgres_test

import (
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/postgres"
	"github.com/dbplane/dbplane/service"
)

// The control plane stops, starts and restarts PostgreSQL clusters.
var _ service.PowerEngine = (*postgres.Engine)(nil)

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
		t.Fatalf("steps %v; want one stop per node", enginetest.Names(steps))
	}
	enginetest.InOrder(t, steps, "Stop node 1", "Stop node 0")
	enginetest.InOrder(t, steps, "Stop node 2", "Stop node 0")
	enginetest.Parallel(t, steps, "Stop node 1", "Stop node 2")
	for name, h := range handlersOf(steps) {
		if h != postgres.HandlerStop {
			t.Errorf("%s runs %s, want %s", name, h, postgres.HandlerStop)
		}
	}
	if solo := e.PlanStop(newCluster("solo", dbplane.TopologyStandalone, "", 1)); len(solo) != 1 || solo[0].Handler != postgres.HandlerStop {
		t.Errorf("standalone stop %v; want one stop", enginetest.Names(solo))
	}
}

func TestPlanStart(t *testing.T) {
	e := &postgres.Engine{}
	steps := e.PlanStart(newCluster("orders", dbplane.TopologyReplication, dbplane.ReplicationSync, 3))
	enginetest.InOrder(t, steps, "Start node 0", "Start node 1", "Verify streaming 1")
	enginetest.InOrder(t, steps, "Start node 0", "Start node 2", "Verify streaming 2")
	enginetest.Parallel(t, steps, "Start node 1", "Start node 2")
	h := handlersOf(steps)
	if h["Start node 0"] != postgres.HandlerStart || h["Verify streaming 2"] != postgres.HandlerVerify || len(steps) != 5 {
		t.Errorf("steps %v (%v); want the primary's start, then each replica's start and verify", enginetest.Names(steps), h)
	}
}

// TestPlanRestart: one node at a time, replicas first, the primary last,
// and every replica verified streaming from the restarted primary.
func TestPlanRestart(t *testing.T) {
	e := &postgres.Engine{}
	steps := e.PlanRestart(newCluster("orders", dbplane.TopologyReplication, dbplane.ReplicationQuorum, 3))
	enginetest.InOrder(t, steps, "Stop node 1", "Start node 1", "Verify streaming 1",
		"Stop node 2", "Start node 2", "Verify streaming 2",
		"Stop node 0", "Start node 0", "Verify streaming 1 after the primary")
	enginetest.InOrder(t, steps, "Start node 0", "Verify streaming 2 after the primary")
	if len(steps) != 10 {
		t.Errorf("steps %v; want 10", enginetest.Names(steps))
	}
	if solo := e.PlanRestart(newCluster("solo", dbplane.TopologyStandalone, "", 1)); len(solo) != 2 {
		t.Errorf("standalone restart %v; want stop and start", enginetest.Names(solo))
	} else {
		enginetest.InOrder(t, solo, "Stop node 0", "Start node 0")
	}
}

// TestPowerHandlersRegistered: every step of a stop, start or restart
// names a handler the engine registers, and none has an undo (the tasks
// prohibit rollback).
func TestPowerHandlersRegistered(t *testing.T) {
	e := &postgres.Engine{}
	for _, topology := range []string{dbplane.TopologyStandalone, dbplane.TopologyReplication} {
		enginetest.CheckPowerPlans(t, e, newCluster("trio", topology, dbplane.ReplicationSync, 3))
	}
}
