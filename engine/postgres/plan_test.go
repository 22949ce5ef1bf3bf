package postgres_test

import (
	"encoding/json"
	"github.com/dbplane/dbplane/engine/enginekit"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/postgres"
)

func names(steps []dbplane.PlanStep) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name)
	}
	return out
}

func stepByName(t *testing.T, steps []dbplane.PlanStep, name string) dbplane.PlanStep {
	t.Helper()
	for _, s := range steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %q in %v", name, names(steps))
	return dbplane.PlanStep{}
}

// upstreamNames returns the names of the steps a step waits for.
func upstreamNames(t *testing.T, steps []dbplane.PlanStep, s dbplane.PlanStep) []string {
	t.Helper()
	var out []string
	for _, k := range s.After {
		i := slices.IndexFunc(steps, func(u dbplane.PlanStep) bool { return u.Key == k })
		if i < 0 {
			t.Fatalf("step %q waits for unknown key %q", s.Name, k)
		}
		out = append(out, steps[i].Name)
	}
	slices.Sort(out)
	return out
}

func ordinal(t *testing.T, s dbplane.PlanStep) int {
	t.Helper()
	var p struct{ Ordinal *int }
	if err := json.Unmarshal(s.Params, &p); err != nil || p.Ordinal == nil {
		t.Fatalf("step %q params %s: want {\"ordinal\":N} (%v)", s.Name, s.Params, err)
	}
	return *p.Ordinal
}

func TestPlanCreate(t *testing.T) {
	e := &postgres.Engine{}
	t.Run("Standalone", func(t *testing.T) {
		steps := e.PlanCreate(newCluster("solo", dbplane.TopologyStandalone, "", 1))
		want := []string{"Precheck host 0", "Install packages on host 0", "Prepare directories on host 0",
			"Init primary", "Configure primary", "Start primary", "Create users"}
		if diff := cmp.Diff(want, names(steps)); diff != "" {
			t.Fatalf("steps (-want +got):\n%s", diff)
		}
		for _, s := range steps {
			if ordinal(t, s) != 0 {
				t.Errorf("step %q acts on node %d, want 0", s.Name, ordinal(t, s))
			}
		}
	})
	for _, mode := range []string{dbplane.ReplicationAsync, dbplane.ReplicationSync, dbplane.ReplicationQuorum} {
		t.Run("Replication/"+mode, func(t *testing.T) {
			steps := e.PlanCreate(newCluster("trio", dbplane.TopologyReplication, mode, 3))
			if got := len(steps); got != 3*3+4+2*4 {
				t.Fatalf("%d steps, want 21: %v", got, names(steps))
			}
			keys := map[string]bool{}
			for _, s := range steps {
				if keys[s.Key] {
					t.Fatalf("key %q twice", s.Key)
				}
				keys[s.Key] = true
				if s.Timeout <= 0 || s.MaxAttempts <= 0 || s.Description == "" {
					t.Errorf("step %q: timeout %s, attempts %d, description %q", s.Name, s.Timeout, s.MaxAttempts, s.Description)
				}
			}
			edges := map[string][]string{
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
			}
			for name, want := range edges {
				if diff := cmp.Diff(want, upstreamNames(t, steps, stepByName(t, steps, name))); diff != "" {
					t.Errorf("upstreams of %q (-want +got):\n%s", name, diff)
				}
			}
			for name, want := range map[string]int{"Precheck host 2": 2, "Init primary": 0, "Create users": 0,
				"Base backup replica 2": 2, "Verify streaming 1": 1} {
				if got := ordinal(t, stepByName(t, steps, name)); got != want {
					t.Errorf("step %q acts on node %d, want %d", name, got, want)
				}
			}
			for name, want := range map[string]string{"Prepare directories on host 1": enginekit.Handler(dbplane.EnginePostgreSQL, enginekit.StepRemove),
				"Start primary": postgres.HandlerStop, "Start replica 2": postgres.HandlerStop, "Base backup replica 1": ""} {
				if got := stepByName(t, steps, name).Undo; got != want {
					t.Errorf("undo of %q = %q, want %q", name, got, want)
				}
			}
		})
	}
	t.Run("DryRunBeforePlacement", func(t *testing.T) {
		c := newCluster("trio", dbplane.TopologyReplication, dbplane.ReplicationSync, 3)
		c.Nodes = nil
		steps := e.PlanCreate(c)
		if got := len(steps); got != 21 {
			t.Fatalf("%d steps before placement, want 21: %v", got, names(steps))
		}
	})
	t.Run("HandlersRegistered", func(t *testing.T) {
		registered := e.HandlerNames()
		for _, s := range append(e.PlanCreate(newCluster("trio", dbplane.TopologyReplication, "", 3)),
			e.PlanDelete(newCluster("trio", dbplane.TopologyReplication, "", 3))...) {
			for _, h := range []string{s.Handler, s.Undo} {
				if h != "" && !slices.Contains(registered, h) {
					t.Errorf("step %q uses handler %q, which is not registered", s.Name, h)
				}
			}
		}
	})
}

func TestPlanDelete(t *testing.T) {
	steps := (&postgres.Engine{}).PlanDelete(newCluster("trio", dbplane.TopologyReplication, "", 3))
	want := []string{"Stop and remove node 0", "Stop and remove node 1", "Stop and remove node 2"}
	if diff := cmp.Diff(want, names(steps)); diff != "" {
		t.Fatalf("steps (-want +got):\n%s", diff)
	}
	for i, s := range steps {
		if len(s.After) != 0 || s.Handler != enginekit.Handler(dbplane.EnginePostgreSQL, enginekit.StepRemove) || ordinal(t, s) != i {
			t.Errorf("step %q: after %v, handler %q, node %d; want parallel %q on node %d", s.Name, s.After, s.Handler, ordinal(t, s), enginekit.Handler(dbplane.EnginePostgreSQL, enginekit.StepRemove), i)
		}
	}
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
