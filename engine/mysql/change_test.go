package mysql_test

import (
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/mysql"
	"github.com/dbplane/dbplane/service"
)

// The control plane changes MariaDB clusters' passwords and parameters.
var _ service.ChangeEngine = (*mysql.Engine)(nil)

func TestPlanPassword(t *testing.T) {
	c := newCluster("orders", dbplane.TopologyReplication, dbplane.ReplicationAsync, 3)
	steps := (&mysql.Engine{}).PlanPassword(c)
	if len(steps) != 3 || steps[0].Handler != mysql.HandlerSetPassword {
		t.Fatalf("steps %v", enginetest.Names(steps))
	}
	enginetest.InOrder(t, steps, "Set the admin password", "Verify the password on replica 1")
	enginetest.Parallel(t, steps, "Verify the password on replica 1", "Verify the password on replica 2")
}

// TestPasswordSteps: the primary's admin accounts get the new password's
// hash; the password itself is in no command, script or log line; the
// replicas are verified to hold the hash.
func TestPasswordSteps(t *testing.T) {
	const pw = "N3w-Secret-pw"
	c := newCluster("orders", dbplane.TopologyReplication, dbplane.ReplicationAsync, 2)
	e, agents := fakeEngine(c, "Old-Secret-pw")
	e.Store.(*fakeStore).NewPW = pw
	for _, a := range agents {
		a.adminHosts = []string{"127.0.0.0/255.0.0.0", "::1"}
	}
	agents[2].adminHash = mysql.NativeHash(pw) // what replication carries
	log := &stepLog{}
	if err := runPlan(t.Context(), t, e, 1, e.PlanPassword(c), log); err != nil {
		t.Fatal(err)
	}
	alters := agents[1].scripts("ALTER USER")
	if len(alters) != 1 || strings.Count(alters[0], mysql.NativeHash(pw)) != 2 || !strings.Contains(alters[0], "'admin'@'::1'") {
		t.Fatalf("ALTER USER scripts on the primary: %q", alters)
	}
	for _, a := range agents {
		a.CheckNoSecret(t, pw)
	}
	log.CheckNoSecret(t, pw)
	if len(agents[2].scripts("ALTER USER")) != 0 {
		t.Fatal("the replica was altered directly: replication carries the change")
	}

	// A task without a new password fails for good.
	e.Store.(*fakeStore).NewPW = ""
	err := runStep(t.Context(), e, 1, e.PlanPassword(c)[0], log)
	if !dbplane.IsPermanent(err) {
		t.Fatalf("without a new password: %v, want a permanent error", err)
	}
}

func TestPlanParameters(t *testing.T) {
	c := newCluster("orders", dbplane.TopologyGalera, "", 3)
	e := &mysql.Engine{}
	change := map[string]string{"max_connections": "300"}
	check := e.PlanParameterCheck(c, change)
	if len(check) != 1 || check[0].Handler != mysql.HandlerCheckParameters || !strings.Contains(string(check[0].Params), `"max_connections":"300"`) {
		t.Fatalf("check steps %+v", check)
	}
	apply := e.PlanParameterApply(c, change)
	if len(apply) != 6 || len(apply[0].After) != 0 {
		t.Fatalf("apply steps %v; the first must wait for nothing (the service puts it after recording)", enginetest.Names(apply))
	}
	enginetest.InOrder(t, apply, "Configure member 1", "Apply the parameters on member 1", "Configure member 2",
		"Apply the parameters on member 2", "Configure member 0", "Apply the parameters on member 0")
}

// TestParameterSteps: the check refuses what is not a system variable and
// what MariaDB refuses, naming the parameter; a dynamic change is applied
// with SET GLOBAL, one that needs a restart restarts the node, and a
// removed parameter goes back to dbplane's value.
func TestParameterSteps(t *testing.T) {
	c := newCluster("orders", dbplane.TopologyStandalone, "", 1)
	e, agents := fakeEngine(c, "Old-Secret-pw")
	a := agents[1]
	log := &stepLog{}
	check := func(change map[string]string) error {
		return runStep(t.Context(), e, 1, e.PlanParameterCheck(c, change)[0], log)
	}
	apply := func(change map[string]string) error {
		c.Spec.Parameters = dbplane.MergeParameters(c.Spec.Parameters, change) // as the service records it
		return runPlan(t.Context(), t, e, 1, e.PlanParameterApply(c, change), log)
	}

	if err := check(map[string]string{"max_connections": "300", "thread_handling": "pool-of-threads"}); err != nil {
		t.Fatal(err)
	}
	if got := a.scripts("SET GLOBAL"); len(got) != 1 || got[0] != "SET GLOBAL max_connections = 300;\n" {
		t.Fatalf("SET GLOBAL scripts %q: want the dynamic one only", got)
	}
	err := check(map[string]string{"no_such_thing": "1", "port": "1"})
	wantFields(t, err, "parameters[port]")
	err = check(map[string]string{"no_such_thing": "1"})
	wantFields(t, err, "parameters[no_such_thing]")
	a.refuse = "wait_timeout"
	err = check(map[string]string{"wait_timeout": "forever"})
	wantFields(t, err, "parameters[wait_timeout]")
	a.refuse = ""

	if err := apply(map[string]string{"max_connections": "300", "wait_timeout": "64K"}); err != nil {
		t.Fatal(err)
	}
	if got := a.scripts("SET GLOBAL wait_timeout"); got[len(got)-1] != "SET GLOBAL wait_timeout = 65536;\n" {
		t.Fatalf("SET GLOBAL wait_timeout: %q", got)
	}
	if conf := a.File(t, "/data/h1/mysql/orders-0.d/my.cnf"); !strings.Contains(conf, "max_connections = 300\n") {
		t.Fatalf("my.cnf lacks the parameter:\n%s", conf)
	}
	if n := a.CountCalls("StopInstance"); n != 0 {
		t.Fatalf("a dynamic change stopped the node %d times", n)
	}
	if err := apply(map[string]string{"thread_handling": "pool-of-threads"}); err != nil {
		t.Fatal(err)
	}
	if a.CountCalls("StopInstance") != 1 || a.CountCalls("StartInstance") != 1 {
		t.Fatalf("a change needing a restart: calls %v", a.Calls)
	}
	if err := apply(map[string]string{"max_connections": ""}); err != nil {
		t.Fatal(err)
	}
	if got := a.scripts("SET GLOBAL max_connections"); got[len(got)-1] == "SET GLOBAL max_connections = 300;\n" ||
		!strings.HasPrefix(got[len(got)-1], "SET GLOBAL max_connections = ") {
		t.Fatalf("a removed parameter went back to %q", got[len(got)-1])
	}
}

// wantFields fails unless err is a permanent KindInvalid error naming
// exactly field.
func wantFields(t *testing.T, err error, field string) {
	t.Helper()
	fs := dbplane.ErrorFields(err)
	if dbplane.ErrorKind(err) != dbplane.KindInvalid || !dbplane.IsPermanent(err) || len(fs) != 1 || fs[0].Field != field {
		t.Fatalf("err %v (fields %+v), want a permanent invalid error naming %s", err, fs, field)
	}
}
