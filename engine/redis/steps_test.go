package redis_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/dbplane/dbplane/engine/enginekit"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
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
	ctx := context.Background()
	c := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1)
	e, agents, world := fakeEngine(c, password)
	var logs bytes.Buffer
	e.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	steps := e.PlanCreate(c)
	var log stepLog
	if err := runPlan(ctx, t, e, 1, steps, &log); err != nil {
		t.Fatal(err)
	}

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
	for what, secret := range secrets {
		for _, s := range steps {
			if strings.Contains(string(s.Params), secret) || strings.Contains(s.Description, secret) {
				t.Errorf("step %q holds the %s", s.Name, what)
			}
		}
		for _, line := range log.All() {
			if strings.Contains(line, secret) {
				t.Errorf("step log holds the %s: %s", what, line)
			}
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the engine's log holds the %s", what)
		}
		for _, a := range agents {
			for _, cmd := range a.Cmds {
				if strings.Contains(strings.Join(cmd.Argv, " ")+strings.Join(cmd.Env, " ")+string(cmd.Stdin), secret) {
					t.Errorf("host %d: command %v holds the %s", a.HostID, cmd.Argv, what)
				}
			}
			for _, inst := range a.Started {
				if strings.Contains(strings.Join(inst.Argv, " ")+strings.Join(inst.Env, " "), secret) {
					t.Errorf("host %d: instance %s holds the %s in its arguments or environment", a.HostID, inst.ID, what)
				}
			}
		}
	}
	for _, a := range agents {
		for p, content := range a.Files {
			if bytes.Contains(content, []byte(password)) {
				t.Errorf("host %d: file %s holds the admin password", a.HostID, p)
			}
		}
	}
	if !strings.Contains(logs.String(), "redis step") {
		t.Errorf("the engine logged nothing at debug level; the leak check above proves nothing:\n%s", logs.String())
	}
	if world.count("PING") == 0 {
		t.Error("no node was asked PING: the steps did not authenticate as admin")
	}
}

func TestInstances(t *testing.T) {
	ctx := context.Background()
	c := newCluster("duo", dbplane.TopologyReplication, 2, 0, 0)
	e, agents, _ := fakeEngine(c, password)
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &stepLog{}); err != nil {
		t.Fatal(err)
	}
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
	ctx := context.Background()
	c := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 1)
	e, _, world := fakeEngine(c, password)
	var log stepLog
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &log); err != nil {
		t.Fatal(err)
	}
	world.nodes["10.0.0.6:6384"].master = "10.0.0.1:6379" // follows another shard's primary
	sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err := e.RunStep(sctx, redis.HandlerVerifyCluster, 1, []byte(`{"ordinal":0}`), log.Logf)
	if err == nil || dbplane.IsPermanent(err) || !strings.Contains(err.Error(), "want a replica of node 4") {
		t.Fatalf("err = %v, want a retryable error saying node 5 should replicate node 4", err)
	}
}

func TestVerifyReplication(t *testing.T) {
	ctx := context.Background()
	c := newCluster("trio", dbplane.TopologyReplication, 3, 0, 0)
	e, agents, world := fakeEngine(c, password)
	var log stepLog
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &log); err != nil {
		t.Fatal(err)
	}
	if world.count("INFO REPLICATION") == 0 {
		t.Fatal("no INFO replication: the replicas were not verified")
	}
	if err := agents[1].StopInstance(ctx, "redis-7-0"); err != nil {
		t.Fatal(err)
	}
	// The primary down, the replica still answers: its link is down.
	sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err := e.RunStep(sctx, redis.HandlerVerifyReplica, 1, []byte(`{"ordinal":2}`), log.Logf)
	if err == nil || dbplane.IsPermanent(err) || !strings.Contains(err.Error(), "master_link_status down") {
		t.Fatalf("err = %v, want a retryable error saying the link is down", err)
	}
}

func TestUsersAgainUpdatesRunningNodes(t *testing.T) {
	ctx := context.Background()
	c := newCluster("trio", dbplane.TopologyReplication, 3, 0, 0)
	e, agents, world := fakeEngine(c, password)
	var log stepLog
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &log); err != nil {
		t.Fatal(err)
	}
	n0 := c.Nodes[0]
	before := replPassword(t, agents[1].File(t, n0.DataDir+".d/auth.conf"))
	if err := e.RunStep(ctx, redis.HandlerCreateUsers, 1, []byte(`{"ordinal":0}`), log.Logf); err != nil {
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
	ctx := context.Background()
	c := newCluster("solo", dbplane.TopologyStandalone, 1, 0, 0)
	e, agents, world := fakeEngine(c, password)
	var log stepLog
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), &log); err != nil {
		t.Fatal(err)
	}
	world.password = "another-Passw0rd"
	sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err := e.RunStep(sctx, redis.HandlerStart, 1, []byte(`{"ordinal":0}`), log.Logf)
	if err == nil || dbplane.IsPermanent(err) || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("err = %v, want a retryable error carrying WRONGPASS", err)
	}
	if !slices.ContainsFunc(log.All(), func(l string) bool { return strings.Contains(l, "fake log") }) {
		t.Error("the end of the node's log was not copied to the step's log")
	}
	if n := len(agents[1].Started); n != 2 {
		t.Errorf("%d StartInstance calls, want 2", n)
	}
}

func TestPrecheck(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		setup  func(c *dbplane.Cluster, a *fakeAgent)
		kind   dbplane.Kind
		substr string
	}{
		{"BusPortTaken", func(c *dbplane.Cluster, a *fakeAgent) {
			a.SS = "LISTEN 0 511 10.0.0.1:16379 0.0.0.0:*\n"
		}, dbplane.KindConflict, "port 16379"},
		{"PortTakenOnWildcard", func(c *dbplane.Cluster, a *fakeAgent) {
			a.SS = "LISTEN 0 511 *:6379 *:*\n"
		}, dbplane.KindConflict, "port 6379"},
		{"BusPortTooHigh", func(c *dbplane.Cluster, a *fakeAgent) { c.Nodes[0].Port = 60000 }, dbplane.KindInvalid, "above 65535"},
		{"NoDisk", func(c *dbplane.Cluster, a *fakeAgent) { a.DiskGB = 1 }, dbplane.KindUnplaceable, "needs 10 GB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 0)
			e, agents, _ := fakeEngine(c, password)
			tc.setup(c, agents[1])
			err := e.RunStep(ctx, enginekit.Handler(dbplane.EngineRedis, enginekit.StepPrecheck), 1, []byte(`{"ordinal":0}`), (&stepLog{}).Logf)
			if !dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != tc.kind || !strings.Contains(err.Error(), tc.substr) {
				t.Fatalf("err = %v, want a permanent %s error about %q", err, tc.kind, tc.substr)
			}
		})
	}
	t.Run("OwnListenerIsFine", func(t *testing.T) {
		c := newCluster("shards", dbplane.TopologyRedisCluster, 0, 3, 0)
		e, agents, _ := fakeEngine(c, password)
		agents[1].SS = "LISTEN 0 511 10.0.0.1:6379 0.0.0.0:*\nLISTEN 0 511 10.0.0.1:16379 0.0.0.0:*\n"
		agents[1].Running["redis-7-0"] = true
		if err := e.RunStep(ctx, enginekit.Handler(dbplane.EngineRedis, enginekit.StepPrecheck), 1, []byte(`{"ordinal":0}`), (&stepLog{}).Logf); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRollbackAndDeleteLeaveNothing(t *testing.T) {
	for _, rollback := range []bool{false, true} {
		t.Run(fmt.Sprint("rollback=", rollback), func(t *testing.T) {
			ctx := context.Background()
			c := newCluster("trio", dbplane.TopologyReplication, 3, 0, 0)
			e, agents, world := fakeEngine(c, password)
			var log stepLog
			steps := e.PlanCreate(c)
			if err := runPlan(ctx, t, e, 1, steps, &log); err != nil {
				t.Fatal(err)
			}
			if rollback {
				if err := undoPlan(ctx, e, 1, steps, &log); err != nil {
					t.Fatal(err)
				}
			} else if err := runPlan(ctx, t, e, 1, e.PlanDelete(c), &log); err != nil {
				t.Fatal(err)
			}
			for _, n := range c.Nodes {
				a := agents[n.HostID]
				if len(a.Running) > 0 || len(a.Files) > 0 {
					t.Errorf("host %d keeps instances %v and files %v", a.HostID, a.Running, a.Files)
				}
				if !a.Dirs["/data/h"+fmt.Sprint(n.HostID)+"/redis"] || len(a.Dirs) != 1 {
					t.Errorf("host %d keeps directories %v, want only the shared parent", a.HostID, a.Dirs)
				}
			}
			if len(world.nodes) != 0 {
				t.Errorf("nodes left: %v", world.nodes)
			}
		})
	}
}

func TestUnknownVersionIsPermanent(t *testing.T) {
	c := newCluster("solo", dbplane.TopologyStandalone, 1, 0, 0)
	c.Version = "6.2\nloadmodule /tmp/x.so"
	e, _, _ := fakeEngine(c, password)
	err := e.RunStep(context.Background(), enginekit.Handler(dbplane.EngineRedis, enginekit.StepPrecheck), 1, []byte(`{"ordinal":0}`), (&stepLog{}).Logf)
	if !dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != dbplane.KindInvalid {
		t.Fatalf("err = %v, want a permanent invalid error", err)
	}
}
