package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

// powerCluster stops, starts or restarts a cluster through the API, waits
// for the task and checks the cluster and its nodes end in want.
func powerCluster(tb testing.TB, cp *testControlPlane, verb string, id int64, want dbplane.ClusterStatus) *dbplane.Cluster {
	tb.Helper()
	ctx := context.Background()
	calls := map[string]func(context.Context, int64, bool) (*dbplane.Task, error){
		"stop": cp.client.StopCluster, "start": cp.client.StartCluster, "restart": cp.client.RestartCluster,
	}
	task, err := calls[verb](ctx, id, false)
	if err != nil {
		tb.Fatalf("%s cluster %d: %v", verb, id, err)
	}
	if task = waitTask(tb, cp.client, task.ID); task.Status != dbplane.TaskSuccessful {
		tb.Fatalf("%s task ended %s: %v", verb, task.Status, failedSubtasks(task))
	}
	c, err := cp.client.FindClusterByID(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	if c.Status != want {
		tb.Fatalf("cluster is %s after %s; want %s", c.Status, verb, want)
	}
	for _, n := range c.Nodes {
		if n.Status != string(want) {
			tb.Errorf("node %d is %s after %s; want %s", n.Ordinal, n.Status, verb, want)
		}
	}
	return c
}

// TestPostgresStopStart: a stopped replicated PostgreSQL cluster has no
// process left and refuses to stop again; started, it serves writes on the
// primary that reach the replica.
func TestPostgresStopStart(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 2)
	spec := validSpec("orders")
	spec.Nodes, spec.ReplicationMode = 2, dbplane.ReplicationAsync
	c := createCluster(t, cp, spec)
	ctx := context.Background()

	powerCluster(t, cp, "stop", c.ID, dbplane.ClusterStopped)
	if pids := processesUnder(root); len(pids) != 0 {
		t.Fatalf("processes %v still run after stop", pids)
	}
	if _, err := cp.client.StopCluster(ctx, c.ID, false); dbplane.ErrorKind(err) != dbplane.KindConflict {
		t.Fatalf("stopping a stopped cluster: %v; want a conflict", err)
	}
	powerCluster(t, cp, "start", c.ID, dbplane.ClusterRunning)
	primary := connect(t, c.Endpoints.URI)
	if _, err := primary.Exec(ctx, `CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders VALUES (1, 'book')`); err != nil {
		t.Fatalf("writing on the primary after start: %v", err)
	}
	replica := connect(t, c.Endpoints.Replicas[0])
	waitFor(t, "the row on the replica", func() (bool, error) {
		var item string
		err := replica.QueryRow(ctx, `SELECT item FROM orders WHERE id = 1`).Scan(&item)
		return item == "book", err
	})
	deleteAndCheckGone(t, cp, root, c)
}

// TestRedisRestart: a rolling restart of a replicated Redis cluster keeps
// its data, and each replica's link to the primary is up at the end.
func TestRedisRestart(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 2)
	c := createCluster(t, cp, redisSpec("sessions", dbplane.TopologyReplication, 2))
	ctx := context.Background()
	if err := redisClient(t, c.Endpoints.Primary).Set(ctx, "user:1", "ada", 0).Err(); err != nil {
		t.Fatalf("SET on the primary: %v", err)
	}
	before := processesUnder(root)
	powerCluster(t, cp, "restart", c.ID, dbplane.ClusterRunning)
	for _, pid := range processesUnder(root) {
		for _, old := range before {
			if pid == old {
				t.Errorf("process %d runs since before the restart", pid)
			}
		}
	}
	replica := redisClient(t, c.Endpoints.Replicas[0])
	info, err := replica.Info(ctx, "replication").Result()
	if err != nil || !strings.Contains(info, "master_link_status:up") {
		t.Fatalf("INFO replication after restart = %q, %v; want master_link_status:up", info, err)
	}
	if v, err := replica.Get(ctx, "user:1").Result(); v != "ada" {
		t.Fatalf("GET on the replica after restart = %q, %v; want the key written before", v, err)
	}
	deleteAndCheckGone(t, cp, root, c)
}

// TestMariaDBGaleraStopStart: a Galera cluster stopped whole is started
// again by bootstrapping from its most advanced member, and all 3 members
// are back with the writes made before the stop; a rolling restart keeps
// it whole.
func TestMariaDBGaleraStopStart(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 3)
	c := createCluster(t, cp, mysqlSpec("ledger", dbplane.TopologyGalera, 3, "zone-1", "zone-2", "zone-3"))
	m0 := openMySQL(t, fmt.Sprintf("%s:%d", c.Nodes[0].Address, c.Nodes[0].Port))
	for _, q := range []string{`CREATE DATABASE ledger`, `CREATE TABLE ledger.entries (id int PRIMARY KEY)`, `INSERT INTO ledger.entries VALUES (1)`} {
		if _, err := m0.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	m0.Close()

	powerCluster(t, cp, "stop", c.ID, dbplane.ClusterStopped)
	if pids := processesUnder(root); len(pids) != 0 {
		t.Fatalf("processes %v still run after stop", pids)
	}
	powerCluster(t, cp, "start", c.ID, dbplane.ClusterRunning)
	// Member 0 stopped last, so galera marked it safe to bootstrap from.
	if log := bootstrapLog(t, cp, c.ID); !strings.Contains(log, "bootstrapping the cluster from member 0") {
		t.Errorf("bootstrap log:\n%s\nwant member 0 chosen", log)
	}
	checkGalera := func(when string) {
		for _, n := range c.Nodes {
			db := openMySQL(t, fmt.Sprintf("%s:%d", n.Address, n.Port))
			var name, size string
			if err := db.QueryRow(`SHOW STATUS LIKE 'wsrep_cluster_size'`).Scan(&name, &size); err != nil || size != "3" {
				t.Fatalf("member %d %s: wsrep_cluster_size = %q, %v; want 3", n.Ordinal, when, size, err)
			}
			var rows int
			if err := db.QueryRow(`SELECT COUNT(*) FROM ledger.entries`).Scan(&rows); err != nil || rows != 1 {
				t.Fatalf("member %d %s: %d rows, %v; want the row written before the stop", n.Ordinal, when, rows, err)
			}
			db.Close()
		}
	}
	checkGalera("after start")
	powerCluster(t, cp, "restart", c.ID, dbplane.ClusterRunning)
	checkGalera("after restart")

	// As if every member had crashed: no seqno and nobody safe to
	// bootstrap from. Start recovers each member's position with
	// mariadbd --wsrep-recover.
	powerCluster(t, cp, "stop", c.ID, dbplane.ClusterStopped)
	for _, n := range c.Nodes {
		forgetGaleraState(t, filepath.Join(n.DataDir, "grastate.dat"))
	}
	powerCluster(t, cp, "start", c.ID, dbplane.ClusterRunning)
	if log := bootstrapLog(t, cp, c.ID); !strings.Contains(log, "recovered with --wsrep-recover") {
		t.Errorf("bootstrap log:\n%s\nwant positions recovered", log)
	}
	checkGalera("after a start from recovered positions")
	deleteAndCheckGone(t, cp, root, c)
}

// forgetGaleraState rewrites a stopped member's grastate.dat as a crash
// leaves it: seqno -1, not safe to bootstrap from.
func forgetGaleraState(tb testing.TB, path string) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "seqno:"):
			line = "seqno:   -1"
		case strings.HasPrefix(line, "safe_to_bootstrap:"):
			line = "safe_to_bootstrap: 0"
		}
		out = append(out, line)
	}
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o660); err != nil {
		tb.Fatal(err)
	}
}

// bootstrapLog returns the log of the bootstrap step of a cluster's start
// task.
func bootstrapLog(tb testing.TB, cp *testControlPlane, clusterID int64) string {
	tb.Helper()
	ctx := context.Background()
	kind := dbplane.TaskKindClusterStart
	tasks, _, err := cp.client.FindTasks(ctx, dbplane.TaskFilter{ClusterID: &clusterID, Kind: &kind})
	if err != nil || len(tasks) == 0 {
		tb.Fatalf("start tasks %v, %v; want some", tasks, err)
	}
	// Tasks are listed newest first.
	task, err := cp.client.FindTaskByID(ctx, tasks[0].ID)
	if err != nil {
		tb.Fatal(err)
	}
	for _, st := range task.Subtasks {
		if st.Handler == "mysql.bootstrap_recovered" {
			lines, err := cp.client.SubtaskLog(ctx, task.ID, st.ID)
			if err != nil {
				tb.Fatal(err)
			}
			var out []string
			for _, l := range lines {
				out = append(out, l.Message)
			}
			return strings.Join(out, "\n")
		}
	}
	tb.Fatal("the start task has no bootstrap step")
	return ""
}

// TestRedisClusterStopStart: a Redis cluster of 3 shards stopped whole
// starts again from its nodes.conf, ok with all slots, and a rolling
// restart keeps it so.
func TestRedisClusterStopStart(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 6)
	spec := redisSpec("cache", dbplane.TopologyRedisCluster, 0)
	spec.Shards, spec.ReplicasPerShard = 3, 1
	c := createCluster(t, cp, spec)
	ctx := context.Background()
	n0 := redisClient(t, fmt.Sprintf("%s:%d", c.Nodes[0].Address, c.Nodes[0].Port))

	powerCluster(t, cp, "stop", c.ID, dbplane.ClusterStopped)
	if pids := processesUnder(root); len(pids) != 0 {
		t.Fatalf("processes %v still run after stop", pids)
	}
	powerCluster(t, cp, "start", c.ID, dbplane.ClusterRunning)
	for _, verb := range []string{"start", "restart"} {
		if verb == "restart" {
			powerCluster(t, cp, "restart", c.ID, dbplane.ClusterRunning)
		}
		info, err := n0.ClusterInfo(ctx).Result()
		if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") {
			t.Fatalf("CLUSTER INFO after %s = %q, %v; want cluster_state:ok with 16384 slots", verb, info, err)
		}
	}
	deleteAndCheckGone(t, cp, root, c)
}

// TestMariaDBReplicationStopStart: a semi-synchronously replicated MariaDB
// cluster stopped, started and restarted still replicates a write on its
// primary, with semi-sync on.
func TestMariaDBReplicationStopStart(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 2)
	c := createCluster(t, cp, mysqlSpec("shop", dbplane.TopologyReplication, 2))
	powerCluster(t, cp, "stop", c.ID, dbplane.ClusterStopped)
	if pids := processesUnder(root); len(pids) != 0 {
		t.Fatalf("processes %v still run after stop", pids)
	}
	powerCluster(t, cp, "start", c.ID, dbplane.ClusterRunning)
	powerCluster(t, cp, "restart", c.ID, dbplane.ClusterRunning)
	primary := openMySQL(t, c.Endpoints.Primary)
	for _, q := range []string{`CREATE DATABASE shop`, `CREATE TABLE shop.orders (id int PRIMARY KEY, item text)`,
		`INSERT INTO shop.orders VALUES (1, 'book')`} {
		if _, err := primary.Exec(q); err != nil {
			t.Fatalf("%s on the primary: %v", q, err)
		}
	}
	var name, status string
	if err := primary.QueryRow(`SHOW STATUS LIKE 'Rpl_semi_sync_master_status'`).Scan(&name, &status); err != nil || status != "ON" {
		t.Fatalf("Rpl_semi_sync_master_status = %q, %v; want ON", status, err)
	}
	replica := openMySQL(t, c.Endpoints.Replicas[0])
	waitFor(t, "the row on the replica", func() (bool, error) {
		var item string
		err := replica.QueryRow(`SELECT item FROM shop.orders WHERE id = 1`).Scan(&item)
		return item == "book", err
	})
	deleteAndCheckGone(t, cp, root, c)
}
