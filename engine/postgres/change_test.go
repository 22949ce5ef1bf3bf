package postgres_test

import (
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/postgres"
	"github.com/dbplane/dbplane/service"
)

// The control plane changes PostgreSQL clusters' passwords and parameters.
var _ service.ChangeEngine = (*postgres.Engine)(nil)

func TestScramMatches(t *testing.T) {
	v, err := postgres.ScramVerifier("N3w-Password")
	if err != nil {
		t.Fatal(err)
	}
	if !postgres.ScramMatches(v, "N3w-Password") || postgres.ScramMatches(v, "N3w-Passwore") {
		t.Fatalf("verifier %s: matches its password, and only it", v)
	}
	for _, bad := range []string{"", "md5abc", "SCRAM-SHA-256$x:y$z:w", strings.Replace(v, "4096", "0", 1)} {
		if postgres.ScramMatches(bad, "N3w-Password") {
			t.Fatalf("%q matches", bad)
		}
	}
}

// TestPasswordSteps: the primary's admin role gets a verifier of the new
// password, never the password; each replica is verified to hold it.
func TestPasswordSteps(t *testing.T) {
	const pw = "N3w-Secret-pw"
	c := newCluster("orders", dbplane.TopologyReplication, dbplane.ReplicationAsync, 2)
	e, agents := fakeEngine(c, "Old-Secret-pw")
	e.Store.(*fakeStore).NewPW = pw
	steps := e.PlanPassword(c)
	if len(steps) != 2 || steps[0].Handler != postgres.HandlerSetPassword || steps[1].After[0] != steps[0].Key {
		t.Fatalf("steps %+v", steps)
	}
	// What replication carries: the replica answers the primary's verifier.
	log := &stepLog{}
	if err := runStep(t.Context(), e, 1, steps[0], log); err != nil {
		t.Fatal(err)
	}
	if !postgres.ScramMatches(agents[1].verifier, pw) {
		t.Fatalf("the primary holds %q", agents[1].verifier)
	}
	agents[2].verifier = agents[1].verifier
	if err := runStep(t.Context(), e, 1, steps[1], log); err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		a.CheckNoSecret(t, pw)
	}
}

// TestParameterPlans: replicas go first unless the change lowers a
// parameter a hot standby needs as high as its primary's.
func TestParameterPlans(t *testing.T) {
	c := newCluster("orders", dbplane.TopologyReplication, dbplane.ReplicationAsync, 3)
	e := &postgres.Engine{}
	first := func(change map[string]string) string {
		return e.PlanParameterApply(c, change)[0].Name
	}
	if got := first(map[string]string{"work_mem": "8MB"}); got != "Configure node 1" {
		t.Fatalf("a work_mem change starts with %q", got)
	}
	if got := first(map[string]string{"max_connections": "1000"}); got != "Configure node 1" {
		t.Fatalf("raising max_connections starts with %q", got)
	}
	if got := first(map[string]string{"max_connections": "20"}); got != "Configure node 0" {
		t.Fatalf("lowering max_connections starts with %q, want the primary", got)
	}
	check := e.PlanParameterCheck(c, map[string]string{"work_mem": "8MB"})
	if len(check) != 1 || !strings.Contains(string(check[0].Params), `"work_mem":"8MB"`) {
		t.Fatalf("check %+v", check)
	}
}

// TestParameterSteps: unknown names and refused values fail the check,
// naming the parameter; a reloadable change reloads, a postmaster one
// restarts the node.
func TestParameterSteps(t *testing.T) {
	c := newCluster("orders", dbplane.TopologyStandalone, "", 1)
	e, agents := fakeEngine(c, "Old-Secret-pw")
	a := agents[1]
	log := &stepLog{}
	check := func(change map[string]string) error {
		return runStep(t.Context(), e, 1, e.PlanParameterCheck(c, change)[0], log)
	}
	if err := check(map[string]string{"work_mem": "8MB"}); err != nil {
		t.Fatal(err)
	}
	for change, field := range map[string]string{"no_such": "parameters[no_such]", "work_mem": "parameters[work_mem]"} {
		a.refuse = "'bogus'"
		err := check(map[string]string{change: "bogus"})
		if fs := dbplane.ErrorFields(err); !dbplane.IsPermanent(err) || len(fs) != 1 || fs[0].Field != field {
			t.Fatalf("%s: %v, want a permanent error naming %s", change, err, field)
		}
	}
	a.refuse = ""
	apply := func(change map[string]string) {
		t.Helper()
		c.Spec.Parameters = dbplane.MergeParameters(c.Spec.Parameters, change)
		if err := runPlan(t.Context(), t, e, 1, e.PlanParameterApply(c, change), log); err != nil {
			t.Fatal(err)
		}
	}
	apply(map[string]string{"work_mem": "8MB"})
	if got := countScripts(a, "pg_reload_conf"); got != 1 || a.CountCalls("StopInstance") != 0 {
		t.Fatalf("a user parameter: %d reloads, calls %v", got, a.Calls)
	}
	if conf := a.File(t, "/data/h1/postgresql/orders-0/postgresql.conf"); !strings.Contains(conf, "work_mem = '8MB'") && !strings.Contains(conf, "work_mem = 8MB") {
		t.Fatalf("postgresql.conf lacks the parameter:\n%s", conf)
	}
	apply(map[string]string{"shared_buffers": "256MB"})
	if a.CountCalls("StopInstance") != 1 || a.CountCalls("StartInstance") != 1 {
		t.Fatalf("a postmaster parameter: calls %v", a.Calls)
	}
}

func countScripts(a *fakeAgent, substr string) int {
	n := 0
	for _, c := range a.Commands("psql") {
		if strings.Contains(string(c.Stdin), substr) {
			n++
		}
	}
	return n
}
