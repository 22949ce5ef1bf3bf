package mysql_test

import (
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/mysql"
	"github.com/dbplane/dbplane/service"
)

// The control plane stops, starts and restarts MariaDB clusters.
var _ service.PowerEngine = (*mysql.Engine)(nil)

func TestPlanStop(t *testing.T) {
	e := &mysql.Engine{}
	steps := e.PlanStop(newCluster("shop", dbplane.TopologyReplication, dbplane.ReplicationSync, 3))
	enginetest.InOrder(t, steps, "Stop replica 1", "Stop primary")
	enginetest.InOrder(t, steps, "Stop replica 2", "Stop primary")
	enginetest.Parallel(t, steps, "Stop replica 1", "Stop replica 2")
	// A galera cluster stops one member at a time, the primary-zone
	// member last, so that it is safe to bootstrap from.
	g := e.PlanStop(newCluster("ledger", dbplane.TopologyGalera, "", 3))
	enginetest.InOrder(t, g, "Stop member 1", "Stop member 2", "Stop member 0")
	for _, s := range g {
		if s.Handler != mysql.HandlerStop {
			t.Errorf("%s runs %s", s.Name, s.Handler)
		}
	}
}

func TestPlanStart(t *testing.T) {
	e := &mysql.Engine{}
	steps := e.PlanStart(newCluster("shop", dbplane.TopologyReplication, dbplane.ReplicationSync, 3))
	enginetest.InOrder(t, steps, "Start primary", "Start replica 1", "Verify replica 1", "Verify replication")
	enginetest.InOrder(t, steps, "Start primary", "Start replica 2", "Verify replica 2", "Verify replication")
	enginetest.Parallel(t, steps, "Start replica 1", "Start replica 2")
	if solo := e.PlanStart(newCluster("one", dbplane.TopologyStandalone, "", 1)); len(solo) != 1 || solo[0].Handler != mysql.HandlerStart {
		t.Errorf("standalone start %v; want the primary's start", enginetest.Names(solo))
	}
	g := e.PlanStart(newCluster("ledger", dbplane.TopologyGalera, "", 3))
	boot := enginetest.StepByName(t, g, "Bootstrap the most advanced member")
	if boot.Handler != mysql.HandlerBootstrapRecovered || len(boot.After) != 0 {
		t.Errorf("bootstrap step %+v; want the first, choosing its member", boot)
	}
	enginetest.InOrder(t, g, "Bootstrap the most advanced member", "Join member 1", "Rejoin member 0", "Rejoin member 1", "Rejoin member 2", "Verify cluster")
	enginetest.InOrder(t, g, "Join member 0", "Rejoin member 0")
	enginetest.InOrder(t, g, "Join member 2", "Rejoin member 0")
	enginetest.Parallel(t, g, "Join member 1", "Join member 2")
}

// TestPlanRestart: one node at a time, the primary last; a galera member
// waits for the one before it to be synced.
func TestPlanRestart(t *testing.T) {
	e := &mysql.Engine{}
	steps := e.PlanRestart(newCluster("shop", dbplane.TopologyReplication, dbplane.ReplicationSync, 3))
	enginetest.InOrder(t, steps, "Stop replica 1", "Start replica 1", "Verify replica 1", "Stop replica 2", "Start replica 2",
		"Verify replica 2", "Stop primary", "Start primary", "Verify replica 1 after the primary", "Verify replication")
	enginetest.InOrder(t, steps, "Start primary", "Verify replica 2 after the primary", "Verify replication")
	g := e.PlanRestart(newCluster("ledger", dbplane.TopologyGalera, "", 3))
	enginetest.InOrder(t, g, "Stop member 1", "Start member 1", "Stop member 2", "Start member 2", "Stop member 0", "Start member 0", "Verify cluster")
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
	for _, topology := range []string{dbplane.TopologyStandalone, dbplane.TopologyReplication, dbplane.TopologyGalera} {
		enginetest.CheckPowerPlans(t, e, newCluster("trio", topology, dbplane.ReplicationSync, 3))
	}
}
