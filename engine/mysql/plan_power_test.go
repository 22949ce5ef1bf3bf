package mysql_test

import (
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/mysql"
	"github.com/dbplane/dbplane/service"
)

// The control plane stops, starts and restarts MariaDB clusters.
var _ service.PowerEngine = (*mysql.Engine)(nil)

// ancestors returns the names of the steps that must end before the
// named one starts, through any path.
func ancestors(t *testing.T, steps []dbplane.PlanStep, name string) map[string]bool {
	t.Helper()
	byKey := map[string]dbplane.PlanStep{}
	for _, s := range steps {
		byKey[s.Key] = s
	}
	seen := map[string]bool{}
	var walk func(s dbplane.PlanStep)
	walk = func(s dbplane.PlanStep) {
		for _, k := range s.After {
			up, ok := byKey[k]
			if !ok {
				t.Fatalf("step %q waits for unknown key %q", s.Name, k)
			}
			if !seen[up.Name] {
				seen[up.Name] = true
				walk(up)
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
	e := &mysql.Engine{}
	steps := e.PlanStop(newCluster("shop", dbplane.TopologyReplication, dbplane.ReplicationSync, 3))
	inOrder(t, steps, "Stop replica 1", "Stop primary")
	inOrder(t, steps, "Stop replica 2", "Stop primary")
	parallel(t, steps, "Stop replica 1", "Stop replica 2")
	// A galera cluster stops one member at a time, the primary-zone
	// member last, so that it is safe to bootstrap from.
	g := e.PlanStop(newCluster("ledger", dbplane.TopologyGalera, "", 3))
	inOrder(t, g, "Stop member 1", "Stop member 2", "Stop member 0")
	for _, s := range g {
		if s.Handler != mysql.HandlerStop {
			t.Errorf("%s runs %s", s.Name, s.Handler)
		}
	}
}

func TestPlanStart(t *testing.T) {
	e := &mysql.Engine{}
	steps := e.PlanStart(newCluster("shop", dbplane.TopologyReplication, dbplane.ReplicationSync, 3))
	inOrder(t, steps, "Start primary", "Start replica 1", "Verify replica 1", "Verify replication")
	inOrder(t, steps, "Start primary", "Start replica 2", "Verify replica 2", "Verify replication")
	parallel(t, steps, "Start replica 1", "Start replica 2")
	if solo := e.PlanStart(newCluster("one", dbplane.TopologyStandalone, "", 1)); len(solo) != 1 || solo[0].Handler != mysql.HandlerStart {
		t.Errorf("standalone start %v; want the primary's start", names(solo))
	}
	g := e.PlanStart(newCluster("ledger", dbplane.TopologyGalera, "", 3))
	boot := stepByName(t, g, "Bootstrap the most advanced member")
	if boot.Handler != mysql.HandlerBootstrapRecovered || len(boot.After) != 0 {
		t.Errorf("bootstrap step %+v; want the first, choosing its member", boot)
	}
	inOrder(t, g, "Bootstrap the most advanced member", "Join member 1", "Rejoin member 0", "Rejoin member 1", "Rejoin member 2", "Verify cluster")
	inOrder(t, g, "Join member 0", "Rejoin member 0")
	inOrder(t, g, "Join member 2", "Rejoin member 0")
	parallel(t, g, "Join member 1", "Join member 2")
}

// TestPlanRestart: one node at a time, the primary last; a galera member
// waits for the one before it to be synced.
func TestPlanRestart(t *testing.T) {
	e := &mysql.Engine{}
	steps := e.PlanRestart(newCluster("shop", dbplane.TopologyReplication, dbplane.ReplicationSync, 3))
	inOrder(t, steps, "Stop replica 1", "Start replica 1", "Verify replica 1", "Stop replica 2", "Start replica 2",
		"Verify replica 2", "Stop primary", "Start primary", "Verify replica 1 after the primary", "Verify replication")
	inOrder(t, steps, "Start primary", "Verify replica 2 after the primary", "Verify replication")
	g := e.PlanRestart(newCluster("ledger", dbplane.TopologyGalera, "", 3))
	inOrder(t, g, "Stop member 1", "Start member 1", "Stop member 2", "Start member 2", "Stop member 0", "Start member 0", "Verify cluster")
	var hs []string
	for _, s := range g {
		hs = append(hs, s.Handler)
	}
	if want := []string{mysql.HandlerStop, mysql.HandlerStartMember}; !slices.Equal(hs[:2], want) || len(g) != 7 {
		t.Errorf("galera restart handlers %v; want stop and start_member per member, then verify", hs)
	}
}

// TestPowerHandlersRegistered: every step of a stop, start or restart
// names a handler the engine registers, and none has an undo (the tasks
// prohibit rollback).
func TestPowerHandlersRegistered(t *testing.T) {
	e := &mysql.Engine{}
	registered := e.HandlerNames()
	for _, topology := range []string{dbplane.TopologyStandalone, dbplane.TopologyReplication, dbplane.TopologyGalera} {
		c := newCluster("trio", topology, dbplane.ReplicationSync, 3)
		for _, s := range append(append(e.PlanStop(c), e.PlanStart(c)...), e.PlanRestart(c)...) {
			if !slices.Contains(registered, s.Handler) || s.Undo != "" {
				t.Errorf("%s: step %q runs %q (undo %q); want a registered handler and no undo", topology, s.Name, s.Handler, s.Undo)
			}
		}
	}
}
