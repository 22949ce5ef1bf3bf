package redis_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
	"github.com/dbplane/dbplane/engine/redis"
)

const password = "Tr0ub4dor&3-pw"

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// aclLines returns the rules of each user of an ACL file.
func aclLines(t *testing.T, acl string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for line := range strings.Lines(acl) {
		f := strings.SplitN(strings.TrimSpace(line), " ", 3)
		if len(f) != 3 || f[0] != "user" {
			t.Fatalf("ACL file line %q: want user <name> <rules>", line)
		}
		out[f[1]] = f[2]
	}
	return out
}

// replPassword returns the masterauth of an auth.conf.
func replPassword(t *testing.T, auth string) string {
	t.Helper()
	d := directives(auth)
	if len(d["masteruser"]) != 1 || d["masteruser"][0] != "replicator" || len(d["masterauth"]) != 1 || len(d["masterauth"][0]) < 24 {
		t.Fatalf("auth.conf %q: want masteruser replicator and a long masterauth", auth)
	}
	return d["masterauth"][0]
}

func TestCreateLeaksNoPassword(t *testing.T) {
	c := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1)
	e, agents, world := fakeEngine(c, password)
	leaks := enginetest.RunLogged(t, e, &e.Logger, e.PlanCreate(c))
	leaks.Marker, leaks.Agents = "redis step", enginetest.KitAgents(agents)

	first := c.Nodes[0]
	acl := aclLines(t, agents[first.HostID].File(t, first.DataDir+".d/users.acl"))
	repl := replPassword(t, agents[first.HostID].File(t, first.DataDir+".d/auth.conf"))
	want := map[string]string{
		"default":    "off resetpass resetkeys resetchannels -@all",
		"admin":      "on resetpass #" + sha(password) + " ~* &* +@all",
		"replicator": "on resetpass #" + sha(repl) + " resetkeys resetchannels -@all +psync +replconf +ping",
	}
	if fmt.Sprint(acl) != fmt.Sprint(want) {
		t.Errorf("users.acl:\n%v\nwant:\n%v", acl, want)
	}
	for _, n := range c.Nodes {
		a := agents[n.HostID]
		if got := replPassword(t, a.File(t, n.DataDir+".d/auth.conf")); got != repl {
			t.Errorf("node %d has another replication password than node 0", n.Ordinal)
		}
		if got := aclLines(t, a.File(t, n.DataDir+".d/users.acl")); fmt.Sprint(got) != fmt.Sprint(acl) {
			t.Errorf("node %d has other users than node 0: %v", n.Ordinal, got)
		}
		for _, call := range a.Calls {
			if strings.HasPrefix(call, "WriteFile "+n.DataDir+".d/") && !strings.HasSuffix(call, " redis 600") {
				t.Errorf("host %d: %s: want owner redis, mode 0600", a.HostID, call)
			}
		}
	}

	secrets := map[string]string{"admin password": password, "replication password": repl}
	leaks.CheckKept(t, secrets)
	leaks.CheckNotOnStdin(t, secrets)
	leaks.CheckNotInFiles(t, map[string]string{"admin password": password})
	if world.count("PING") == 0 {
		t.Error("no node was asked PING: the steps did not authenticate as admin")
	}
}

// created returns an engine over fakes that ran the create plan of c, its
// agents, its fake Redis and the steps' log.
func created(t *testing.T, c *dbplane.Cluster) (*redis.Engine, map[int64]*fakeAgent, *fakeRedis, *stepLog) {
	t.Helper()
	e, agents, world := fakeEngine(c, password)
	log := &stepLog{}
	if err := runPlan(context.Background(), t, e, 1, e.PlanCreate(c), log); err != nil {
		t.Fatal(err)
	}
	return e, agents, world, log
}

func TestInstances(t *testing.T) {
	_, agents, _, _ := created(t, newCluster("duo", dbplane.TopologyReplication, 2, 0, 0))
	inst := agents[2].Started[0]
	want := dbplane.Instance{ID: "redis-7-1", User: "redis", Argv: []string{"/usr/bin/redis-server", "/data/h2/redis/duo-1.d/redis.conf"},
		Dir: "/data/h2/redis/duo-1.d", PIDFile: "/data/h2/redis/duo-1.d/redis.pid", Log: "/data/h2/redis/duo-1.d/redis.log",
		StopSignal: "SIGTERM", Resources: &dbplane.Resources{CPUMillis: 2000, MemoryMB: 4096}}
	if diff := cmp.Diff(want, inst); diff != "" {
		t.Errorf("instance (-want +got):\n%s", diff)
	}
}

func TestRedisClusterIsIdempotent(t *testing.T) {
	ctx := context.Background()
	c := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1)
	e, _, world := fakeEngine(c, password)
	var log stepLog
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &log); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int {
		out := map[string]int{}
		for _, cmd := range []string{"CLUSTER MEET", "CLUSTER ADDSLOTSRANGE", "CLUSTER REPLICATE", "CLUSTER SET-CONFIG-EPOCH"} {
			out[cmd] = world.count(cmd)
		}
		return out
	}
	first := counts()
	if want := map[string]int{"CLUSTER MEET": 5, "CLUSTER ADDSLOTSRANGE": 3, "CLUSTER REPLICATE": 3, "CLUSTER SET-CONFIG-EPOCH": 6}; fmt.Sprint(first) != fmt.Sprint(want) {
		t.Fatalf("commands %v, want %v", first, want)
	}
	var slots []string
	for _, cmd := range world.commands() {
		if len(cmd.args) < 2 {
			continue
		}
		if cmd.args[1] == "ADDSLOTSRANGE" || cmd.args[1] == "REPLICATE" {
			slots = append(slots, cmd.addr+" "+strings.Join(cmd.args[1:], " "))
		}
	}
	cmds := world.commands()
	lastSlots := slices.IndexFunc(cmds, func(c sentCommand) bool {
		return len(c.args) > 1 && c.args[1] == "ADDSLOTSRANGE" && c.args[2] == "10922"
	})
	firstMeet := slices.IndexFunc(cmds, func(c sentCommand) bool { return len(c.args) > 1 && c.args[1] == "MEET" })
	if lastSlots < 0 || firstMeet < lastSlots {
		t.Errorf("the last ADDSLOTSRANGE is command %d, the first MEET %d: want every primary's slots before any meeting", lastSlots, firstMeet)
	}
	id := func(ordinal int) string { return world.nodes[fmt.Sprintf("10.0.0.%d:%d", ordinal+1, 6379+ordinal)].id }
	want := []string{"10.0.0.1:6379 ADDSLOTSRANGE 0 5460", "10.0.0.3:6381 ADDSLOTSRANGE 5461 10921", "10.0.0.5:6383 ADDSLOTSRANGE 10922 16383",
		"10.0.0.2:6380 REPLICATE " + id(0), "10.0.0.4:6382 REPLICATE " + id(2), "10.0.0.6:6384 REPLICATE " + id(4)}
	if fmt.Sprint(slots) != fmt.Sprint(want) {
		t.Errorf("slots and replicas:\n%v\nwant:\n%v", slots, want)
	}

	// The whole plan again, as after a crash of the control plane: it
	// finds every slot assigned and every replica attached.
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &log); err != nil {
		t.Fatalf("create again: %v", err)
	}
	if again := counts(); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("a re-run sent %v, want nothing more than %v", again, first)
	}
	if !slices.ContainsFunc(log.All(), func(l string) bool { return strings.Contains(l, "already holds slots 5461-10921") }) {
		t.Error("the re-run did not log that the slots were in place")
	}

	t.Run("ForeignSlotsAreAConflict", func(t *testing.T) {
		world.nodes["10.0.0.3:6381"].slots = [][2]int{{5461, 10000}}
		err := e.RunStep(ctx, redis.HandlerCreateCluster, 1, []byte(`{"ordinal":0}`), log.Logf)
		if !dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != dbplane.KindConflict {
			t.Fatalf("err = %v, want a permanent conflict", err)
		}
	})
}

// TestRedisClusterSpreadsSlots: nodes see another's slots and role as they
// were when they last heard from it after their handshake, and the nodes
// that were met hear from the others late; "Create cluster" has each
// primary meet again the nodes that do not see its slots yet, and each
// replica node 0, so that the cluster is whole at once.
func TestRedisClusterSpreadsSlots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1)
	e, _, world := fakeEngine(c, password)
	world.slowSlots = true
	var log stepLog
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &log); err != nil {
		t.Fatal(err)
	}
	if n := world.count("CLUSTER MEET"); n <= 5 {
		t.Errorf("%d MEETs, want more than the 5 that introduce the nodes", n)
	}
}

func TestVerifyCluster(t *testing.T) {
	e, _, world, log := created(t, newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1))
	world.nodes["10.0.0.6:6384"].master = "10.0.0.1:6379" // follows another shard's primary
	err := enginetest.RunFor(context.Background(), e, redis.HandlerVerifyCluster, 0, 500*time.Millisecond, log)
	enginetest.WantRetryable(t, err, "want a replica of node 4")
}

func TestVerifyReplication(t *testing.T) {
	ctx := context.Background()
	e, agents, world, log := created(t, newCluster("trio", dbplane.TopologyReplication, 3, 0, 0))
	if world.count("INFO REPLICATION") == 0 {
		t.Fatal("no INFO replication: the replicas were not verified")
	}
	if err := agents[1].StopInstance(ctx, "redis-7-0"); err != nil {
		t.Fatal(err)
	}
	// The primary down, the replica still answers: its link is down.
	err := enginetest.RunFor(ctx, e, redis.HandlerVerifyReplica, 2, 500*time.Millisecond, log)
	enginetest.WantRetryable(t, err, "master_link_status down")
}

func TestUsersAgainUpdatesRunningNodes(t *testing.T) {
	c := newCluster("trio", dbplane.TopologyReplication, 3, 0, 0)
	e, agents, world, log := created(t, c)
	n0 := c.Nodes[0]
	before := replPassword(t, agents[1].File(t, n0.DataDir+".d/auth.conf"))
	if err := e.RunStep(context.Background(), redis.HandlerCreateUsers, 1, enginekit.StepParams(0), log.Logf); err != nil {
		t.Fatal(err)
	}
	after := replPassword(t, agents[1].File(t, n0.DataDir+".d/auth.conf"))
	if after == before {
		t.Fatal("the replication password did not change")
	}
	for _, n := range c.Nodes {
		fn := world.nodes[fmt.Sprintf("%s:%d", n.Address, n.Port)]
		if got := fn.config["masterauth"]; got != after {
			t.Errorf("node %d runs with another masterauth than its auth.conf", n.Ordinal)
		}
		if got := strings.Join(fn.users["replicator"], " "); !strings.Contains(got, "#"+sha(after)) {
			t.Errorf("node %d runs replicator with rules %q, want the new password's hash", n.Ordinal, got)
		}
		if got := replPassword(t, agents[n.HostID].File(t, n.DataDir+".d/auth.conf")); got != after {
			t.Errorf("node %d: auth.conf not rewritten", n.Ordinal)
		}
	}
}

func TestStartWaitsForTheAdminPassword(t *testing.T) {
	e, agents, world, log := created(t, newCluster("solo", dbplane.TopologyStandalone, 1, 0, 0))
	world.password = "another-Passw0rd"
	err := enginetest.RunFor(context.Background(), e, redis.HandlerStart, 0, 500*time.Millisecond, log)
	enginetest.WantRetryable(t, err, "WRONGPASS")
	if !slices.ContainsFunc(log.All(), func(l string) bool { return strings.Contains(l, "fake log") }) {
		t.Error("the end of the node's log was not copied to the step's log")
	}
	if n := len(agents[1].Started); n != 2 {
		t.Errorf("%d StartInstance calls, want 2", n)
	}
}

func TestPrecheck(t *testing.T) {
	cases := append(enginetest.ListenerCases("10.0.0.1", 6379),
		enginetest.PrecheckCase{Name: "BusPortTaken", SS: "LISTEN 0 511 10.0.0.1:16379 0.0.0.0:*\n", Kind: dbplane.KindConflict, Says: "port 16379"},
		enginetest.PrecheckCase{Name: "BusPortTooHigh", Node: func(n *dbplane.Node) { n.Port = 60000 }, Kind: dbplane.KindInvalid, Says: "above 65535"},
		enginetest.PrecheckCase{Name: "NoDisk", DiskGB: 1, Kind: dbplane.KindUnplaceable, Says: "needs 10 GB"},
		enginetest.PrecheckCase{Name: "OwnListenerIsFine", SS: "LISTEN 0 511 10.0.0.1:6379 0.0.0.0:*\nLISTEN 0 511 10.0.0.1:16379 0.0.0.0:*\n", Running: true})
	enginetest.CheckPrecheck(t, enginekit.Handler(dbplane.EngineRedis, enginekit.StepPrecheck), "redis-7-0", cases,
		func(enginetest.PrecheckCase) enginetest.Prechecked {
			c := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 0)
			e, agents, _ := fakeEngine(c, password)
			return enginetest.Prechecked{Engine: e, Cluster: c, Agent: agents[1].Agent}
		})
}

func TestRollbackAndDeleteLeaveNothing(t *testing.T) {
	c := newCluster("trio", dbplane.TopologyReplication, 3, 0, 0)
	e, agents, world := fakeEngine(c, password)
	gone := func(t *testing.T) {
		if len(world.nodes) != 0 {
			t.Errorf("nodes left: %v", world.nodes)
		}
	}
	enginetest.CheckRollbackAndDelete(t, enginetest.Teardown{Engine: e, Nodes: c.Nodes, Agents: enginetest.KitAgents(agents),
		Create: e.PlanCreate(c), Delete: e.PlanDelete(c), Gone: gone})
}

func TestStepErrors(t *testing.T) {
	e, _, _ := fakeEngine(newCluster("solo", dbplane.TopologyStandalone, 1, 0, 0), password)
	enginetest.CheckStepErrors(t, e, &e.Dialer, redis.HandlerStart)
}

func TestUnknownVersionIsPermanent(t *testing.T) {
	c := newCluster("solo", dbplane.TopologyStandalone, 1, 0, 0)
	c.Version = "6.2\nloadmodule /tmp/x.so"
	e, _, _ := fakeEngine(c, password)
	err := e.RunStep(context.Background(), enginekit.Handler(dbplane.EngineRedis, enginekit.StepPrecheck), 1, enginekit.StepParams(0), (&stepLog{}).Logf)
	enginetest.WantPermanent(t, err, dbplane.KindInvalid)
}
