package main

import (
	"context"
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
