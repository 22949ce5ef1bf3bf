package postgres_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/postgres"
)

func TestPlanCreate(t *testing.T) {
	e := &postgres.Engine{}
	t.Run("Standalone", func(t *testing.T) {
		steps := e.PlanCreate(newCluster("solo", dbplane.TopologyStandalone, "", 1))
		enginetest.CheckNames(t, steps, "Precheck host 0", "Install packages on host 0", "Prepare directories on host 0",
			"Init primary", "Configure primary", "Start primary", "Create users")
		enginetest.CheckOnNode(t, steps, 0)
	})
	for _, mode := range []string{dbplane.ReplicationAsync, dbplane.ReplicationSync, dbplane.ReplicationQuorum} {
		t.Run("Replication/"+mode, func(t *testing.T) {
			steps := e.PlanCreate(newCluster("trio", dbplane.TopologyReplication, mode, 3))
			if got := len(steps); got != 3*3+4+2*4 {
				t.Fatalf("%d steps, want 21: %v", got, enginetest.Names(steps))
			}
			enginetest.CheckShape(t, steps, enginetest.Shape{
				Edges: map[string][]string{
					"Precheck host 1":               nil,
					"Install packages on host 1":    {"Precheck host 1"},
					"Prepare directories on host 2": {"Install packages on host 2"},
					"Init primary":                  {"Prepare directories on host 0", "Prepare directories on host 1", "Prepare directories on host 2"},
					"Configure primary":             {"Init primary"},
					"Start primary":                 {"Configure primary"},
					"Create users":                  {"Start primary"},
					"Base backup replica 1":         {"Create users"},
					"Base backup replica 2":         {"Create users"},
					"Configure replica 2":           {"Base backup replica 2"},
					"Start replica 2":               {"Configure replica 2"},
					"Verify streaming 1":            {"Start replica 1"},
					"Verify streaming 2":            {"Start replica 2"},
				},
				Ordinals: map[string]int{"Precheck host 2": 2, "Init primary": 0, "Create users": 0,
					"Base backup replica 2": 2, "Verify streaming 1": 1},
				Undo: map[string]string{"Prepare directories on host 1": enginekit.Handler(dbplane.EnginePostgreSQL, enginekit.StepRemove),
					"Start primary": postgres.HandlerStop, "Start replica 2": postgres.HandlerStop, "Base backup replica 1": ""},
			})
		})
	}
	t.Run("DryRunBeforePlacement", func(t *testing.T) {
		c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationSync, 3)
		c.Nodes = nil
		steps := e.PlanCreate(c)
		if got := len(steps); got != 21 {
			t.Fatalf("%d steps before placement, want 21: %v", got, enginetest.Names(steps))
		}
	})
	t.Run("HandlersRegistered", func(t *testing.T) {
		c := newCluster("trio", dbplane.TopologyReplication, "", 3)
		enginetest.CheckRegistered(t, e.HandlerNames(), append(e.PlanCreate(c), e.PlanDelete(c)...))
	})
}

func TestPlanDelete(t *testing.T) {
	steps := (&postgres.Engine{}).PlanDelete(newCluster("trio", dbplane.TopologyReplication, "", 3))
	enginetest.CheckRemoval(t, steps, 3, enginekit.Handler(dbplane.EnginePostgreSQL, enginekit.StepRemove))
}

func TestEndpoints(t *testing.T) {
	e := &postgres.Engine{}
	c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationSync, 3)
	got := e.Endpoints(c)
	want := &dbplane.Endpoints{
		Primary:  "10.0.0.1:5432",
		Replicas: []string{"10.0.0.2:5433", "10.0.0.3:5434"},
		URI:      "postgresql://admin@10.0.0.1:5432,10.0.0.2:5433,10.0.0.3:5434/postgres?target_session_attrs=read-write",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("endpoints (-want +got):\n%s", diff)
	}

	t.Run("IPv6AndRoles", func(t *testing.T) {
		c := newCluster("duo", dbplane.TopologyReplication, "", 2)
		c.Nodes[0].Address, c.Nodes[0].Role = "fd00::1", postgres.RoleReplica
		c.Nodes[1].Role = postgres.RolePrimary
		got := e.Endpoints(c)
		if got.Primary != "10.0.0.2:5433" || !slices.Equal(got.Replicas, []string{"[fd00::1]:5432"}) {
			t.Fatalf("endpoints %+v: want the node marked primary first and IPv6 in brackets", got)
		}
		if want := "postgresql://admin@10.0.0.2:5433,[fd00::1]:5432/postgres?target_session_attrs=read-write"; got.URI != want {
			t.Fatalf("URI %s, want %s", got.URI, want)
		}
	})
	t.Run("Unplaced", func(t *testing.T) {
		c.Nodes = nil
		if got := e.Endpoints(c); got != nil {
			t.Fatalf("endpoints of an unplaced cluster: %+v, want nil", got)
		}
	})
}
