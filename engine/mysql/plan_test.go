package mysql_test

import (
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/mysql"
	"github.com/dbplane/dbplane/service"
)

func TestPlanCreate(t *testing.T) {
	e := &mysql.Engine{}
	t.Run("Standalone", func(t *testing.T) {
		steps := e.PlanCreate(newCluster("solo", dbplane.TopologyStandalone, "", 1))
		enginetest.CheckNames(t, steps, "Precheck host 0", "Install packages on host 0", "Prepare directories on host 0",
			"Init primary", "Configure primary", "Start primary", "Create users")
		enginetest.CheckOnNode(t, steps, 0)
		enginetest.CheckShape(t, steps, enginetest.Shape{
			Edges: map[string][]string{"Start primary": {"Configure primary"}, "Create users": {"Start primary"}},
			Undo: map[string]string{"Prepare directories on host 0": enginekit.Handler(dbplane.EngineMySQL, enginekit.StepRemove),
				"Start primary": mysql.HandlerStop},
		})
	})
	for _, mode := range []string{dbplane.ReplicationAsync, dbplane.ReplicationSync} {
		t.Run("Replication/"+mode, func(t *testing.T) {
			steps := e.PlanCreate(newCluster("trio", dbplane.TopologyReplication, mode, 3))
			if got := len(steps); got != 3*5+2+2*3+1 {
				t.Fatalf("%d steps, want 24: %v", got, enginetest.Names(steps))
			}
			enginetest.CheckShape(t, steps, enginetest.Shape{
				Edges: map[string][]string{
					"Precheck host 1":               nil,
					"Install packages on host 1":    {"Precheck host 1"},
					"Prepare directories on host 2": {"Install packages on host 2"},
					"Init primary":                  {"Prepare directories on host 0"},
					"Init replica 2":                {"Prepare directories on host 2"},
					"Configure replica 2":           {"Init replica 2"},
					"Start primary":                 {"Configure primary"},
					"Create users":                  {"Start primary"},
					"Start replica 1":               {"Configure replica 1"},
					"Attach replica 1":              {"Create users", "Start replica 1"},
					"Attach replica 2":              {"Create users", "Start replica 2"},
					"Verify replica 2":              {"Attach replica 2"},
					"Verify replication":            {"Verify replica 1", "Verify replica 2"},
				},
				Ordinals: map[string]int{"Precheck host 2": 2, "Init primary": 0, "Create users": 0, "Attach replica 2": 2,
					"Verify replica 1": 1, "Verify replication": 0},
				Undo: map[string]string{"Prepare directories on host 1": enginekit.Handler(dbplane.EngineMySQL, enginekit.StepRemove),
					"Start primary": mysql.HandlerStop, "Start replica 2": mysql.HandlerStop, "Attach replica 1": ""},
			})
		})
	}
	t.Run("Galera", func(t *testing.T) {
		steps := e.PlanCreate(newCluster("gal3", dbplane.TopologyGalera, "", 3))
		if got := len(steps); got != 3*5+2+2+2 {
			t.Fatalf("%d steps, want 21: %v", got, enginetest.Names(steps))
		}
		enginetest.CheckShape(t, steps, enginetest.Shape{
			Edges: map[string][]string{
				"Init member 1":      {"Prepare directories on host 1"},
				"Configure member 2": {"Init member 2"},
				"Bootstrap member 0": {"Configure member 0"},
				"Create users":       {"Bootstrap member 0", "Configure member 1", "Configure member 2"},
				// Members join together: galera has a donor serve one
				// transfer at a time.
				"Join member 1":   {"Configure member 1", "Create users"},
				"Join member 2":   {"Configure member 2", "Create users"},
				"Rejoin member 0": {"Join member 1", "Join member 2"},
				"Verify cluster":  {"Rejoin member 0"},
			},
			Ordinals: map[string]int{"Bootstrap member 0": 0, "Create users": 0, "Join member 2": 2, "Rejoin member 0": 0},
			Undo: map[string]string{"Bootstrap member 0": mysql.HandlerStop, "Join member 1": mysql.HandlerStop,
				"Prepare directories on host 2": enginekit.Handler(dbplane.EngineMySQL, enginekit.StepRemove), "Rejoin member 0": ""},
		})
	})
	t.Run("DryRunBeforePlacement", func(t *testing.T) {
		for topology, want := range map[string]int{dbplane.TopologyReplication: 24, dbplane.TopologyGalera: 21, dbplane.TopologyStandalone: 7} {
			c := newCluster("trio", topology, "", 3)
			c.Nodes = nil
			if got := len(e.PlanCreate(c)); got != want {
				t.Errorf("%s: %d steps before placement, want %d", topology, got, want)
			}
		}
	})
	t.Run("HandlersRegistered", func(t *testing.T) {
		var all []dbplane.PlanStep
		for _, topology := range []string{dbplane.TopologyStandalone, dbplane.TopologyReplication, dbplane.TopologyGalera} {
			c := newCluster("trio", topology, dbplane.ReplicationSync, 3)
			all = append(append(all, e.PlanCreate(c)...), e.PlanDelete(c)...)
		}
		enginetest.CheckRegistered(t, e.HandlerNames(), all)
	})
}

func TestPlanDelete(t *testing.T) {
	steps := (&mysql.Engine{}).PlanDelete(newCluster("gal3", dbplane.TopologyGalera, "", 3))
	enginetest.CheckRemoval(t, steps, 3, enginekit.Handler(dbplane.EngineMySQL, enginekit.StepRemove))
}

func TestEndpoints(t *testing.T) {
	t.Run("Replication", func(t *testing.T) {
		c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationSync, 3)
		got := (&mysql.Engine{}).Endpoints(c)
		want := &dbplane.Endpoints{Primary: "10.0.0.1:3306", Replicas: []string{"10.0.0.2:3307", "10.0.0.3:3308"},
			URI: "mysql://admin@10.0.0.1:3306/"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("endpoints (-want +got):\n%s", diff)
		}
	})
	t.Run("IPv6AndRoles", func(t *testing.T) {
		c := newCluster("duo1", dbplane.TopologyReplication, "", 2)
		c.Nodes[0].Role, c.Nodes[1].Role = mysql.RoleReplica, mysql.RolePrimary
		c.Nodes[1].Address = "fd00::2"
		got := (&mysql.Engine{}).Endpoints(c)
		want := &dbplane.Endpoints{Primary: "[fd00::2]:3307", Replicas: []string{"10.0.0.1:3306"}, URI: "mysql://admin@[fd00::2]:3307/"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("endpoints (-want +got):\n%s", diff)
		}
	})
	for _, tc := range []struct {
		name        string
		primaryZone string
		zones       map[int64]string
		want        *dbplane.Endpoints
	}{
		{"GaleraNoPrimaryZone", "", map[int64]string{1: "z1", 2: "z2", 3: "z3"},
			&dbplane.Endpoints{Primary: "10.0.0.1:3306", Replicas: []string{"10.0.0.2:3307", "10.0.0.3:3308"}, URI: "mysql://admin@10.0.0.1:3306/"}},
		{"GaleraPrimaryZone", "z3", map[int64]string{1: "z1", 2: "z2", 3: "z3"},
			&dbplane.Endpoints{Primary: "10.0.0.3:3308", Replicas: []string{"10.0.0.1:3306", "10.0.0.2:3307"}, URI: "mysql://admin@10.0.0.3:3308/"}},
		{"GaleraTwoInPrimaryZone", "z2", map[int64]string{1: "z1", 2: "z2", 3: "z2"},
			&dbplane.Endpoints{Primary: "10.0.0.2:3307", Replicas: []string{"10.0.0.3:3308", "10.0.0.1:3306"}, URI: "mysql://admin@10.0.0.2:3307/"}},
		{"GaleraUnknownHost", "z3", map[int64]string{1: "z1", 3: "z3"},
			&dbplane.Endpoints{Primary: "10.0.0.1:3306", Replicas: []string{"10.0.0.2:3307", "10.0.0.3:3308"}, URI: "mysql://admin@10.0.0.1:3306/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster("gal3", dbplane.TopologyGalera, "", 3)
			c.Spec.PrimaryZone = tc.primaryZone
			e := &mysql.Engine{Deps: enginekit.Deps{Store: &fakeStore{Cluster: c, Zones: tc.zones}, Logger: slog.New(slog.DiscardHandler)}}
			if diff := cmp.Diff(tc.want, e.Endpoints(c)); diff != "" {
				t.Fatalf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("Unplaced", func(t *testing.T) {
		c := newCluster("trio", dbplane.TopologyReplication, "", 3)
		c.Nodes = nil
		if got := (&mysql.Engine{}).Endpoints(c); got != nil {
			t.Fatalf("endpoints of an unplaced cluster: %+v, want nil", got)
		}
	})
}

// The service plans clusters through the engine, which reads the metadata
// store.
var (
	_ service.ClusterEngine = (*mysql.Engine)(nil)
	_ mysql.Store           = dbplane.Store(nil)
)
