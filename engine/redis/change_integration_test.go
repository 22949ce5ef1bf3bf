package redis_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest/realfleet"
)

// TestRealChange changes the admin password and parameters of a real
// Redis replication cluster: afterwards every node accepts the new
// password and refuses the old one, also after a rolling restart (the ACL
// files hold it); a mutable parameter is set live and an immutable one
// (databases) by the rolling restart the plan appends, on every node; a
// value Redis refuses fails the check naming the parameter.
func TestRealChange(t *testing.T) {
	redisDB.Skip(t)
	f := realfleet.New(t, &redisDB, 3)
	c := placeReal(t, f, 4, "rchange", dbplane.TopologyReplication, 3, 0, 0)
	e, log := create(t, f, c, nil)
	defer remove(t, f, e, c, log, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store := e.Store.(*fakeStore)

	const newPassword = "N3w-Adm1n.pw"
	store.NewPW = newPassword
	if err := runPlan(ctx, t, e, 1, e.PlanPassword(c), log); err != nil {
		t.Fatalf("password: %v", err)
	}
	store.Password = newPassword // as the service commits it
	if err := runPlan(ctx, t, e, 1, e.PlanRestart(c), log); err != nil {
		t.Fatalf("restart: %v", err)
	}
	ep := e.Endpoints(c)
	all := append([]string{ep.Primary}, ep.Replicas...)
	for _, addr := range all {
		client := newClient(addr, "admin", newPassword)
		if err := client.Ping(ctx).Err(); err != nil {
			t.Errorf("%s with the new password after a restart: %v", addr, err)
		}
		client.Close()
		old := newClient(addr, "admin", realPassword)
		if err := old.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
			t.Errorf("%s with the old password: %v, want WRONGPASS", addr, err)
		}
		old.Close()
	}
	for _, n := range c.Nodes {
		acl, err := os.ReadFile(n.DataDir + ".d/users.acl")
		if err != nil || strings.Contains(string(acl), newPassword) {
			t.Errorf("users.acl of node %d: %v, or it holds the password", n.Ordinal, err)
		}
	}

	realfleet.RefuseParameter(ctx, t, e, c, "maxmemory-policy", "sometimes", log)
	realfleet.ChangeParameters(ctx, t, e, c, map[string]string{"maxmemory-policy": "allkeys-lru", "databases": "32"}, log)
	for _, addr := range all {
		client := newClient(addr, "admin", newPassword)
		for name, want := range map[string]string{"maxmemory-policy": "allkeys-lru", "databases": "32"} {
			if got, err := client.ConfigGet(ctx, name).Result(); err != nil || got[name] != want {
				t.Errorf("%s: %s = %v (%v), want %s", addr, name, got, err, want)
			}
		}
		client.Close()
	}
	for _, addr := range ep.Replicas {
		client := newClient(addr, "admin", newPassword)
		if got := infoField(t, client, "replication", "master_link_status"); got != "up" {
			t.Errorf("replica %s: master_link_status %q after the restart, want up", addr, got)
		}
		client.Close()
	}
}
