package redis_test

import (
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/redis"
	"github.com/dbplane/dbplane/service"
)

// The control plane changes Redis clusters' passwords and parameters.
var _ service.ChangeEngine = (*redis.Engine)(nil)

// TestPlanParameterApply: a mutable change is set node by node, replicas
// first; one Redis takes only at start adds the rolling restart after.
func TestPlanParameterApply(t *testing.T) {
	c := newCluster("cache", dbplane.TopologyReplication, 3, 0, 0)
	e := &redis.Engine{}
	live := e.PlanParameterApply(c, map[string]string{"maxmemory-policy": "allkeys-lru"})
	if len(live) != 6 || live[0].Name != "Configure replica 1" || live[5].Name != "Apply the parameters on primary" {
		t.Fatalf("steps %v", enginetest.Names(live))
	}
	restart := e.PlanParameterApply(c, map[string]string{"databases": "32"})
	if len(restart) <= 6 || restart[6].Handler != redis.HandlerStop || restart[6].After[0] != live[5].Key {
		t.Fatalf("an immutable change: steps %v", enginetest.Names(restart))
	}
	if got := e.PlanParameterApply(c, map[string]string{"maxclients": ""}); len(got) != 6 {
		t.Fatalf("removing a parameter dbplane sets restarts: %v", enginetest.Names(got))
	}
}

// TestPasswordSteps: every node's ACL file and running server get the new
// password's hash, never the password; a second run, which finds the new
// password in force, changes nothing.
func TestPasswordSteps(t *testing.T) {
	const pw = "N3w-Secret-pw"
	c := newCluster("cache", dbplane.TopologyStandalone, 1, 0, 0)
	e, agents, fr := fakeEngine(c, "Old-Secret-pw")
	log := &stepLog{}
	// Twice: the fake Redis does not read the ACL file, the second run
	// sets the users of the running node.
	for range 2 {
		if err := runPlan(t.Context(), t, e, 1, e.PlanCreate(c), log); err != nil {
			t.Fatal(err)
		}
	}
	e.Store.(*fakeStore).NewPW = pw
	for range 2 {
		if err := runPlan(t.Context(), t, e, 1, e.PlanPassword(c), log); err != nil {
			t.Fatal(err)
		}
	}
	if fr.adminHash != redis.PasswordHash(pw) {
		t.Fatalf("the node's admin hash %q", fr.adminHash)
	}
	acl := agents[1].File(t, c.Nodes[0].DataDir+".d/users.acl")
	if !strings.Contains(acl, "#"+redis.PasswordHash(pw)) || strings.Contains(acl, pw) {
		t.Fatalf("users.acl:\n%s", acl)
	}
	log.CheckNoSecret(t, pw)
}
