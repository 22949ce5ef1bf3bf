package main

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/jackc/pgx/v5"
)

const clusterPassword = "Secret-Passw0rd"

// connect opens a pgx connection as the cluster's admin to addr
// (host:port), or to a URI when addr contains "://".
func connect(tb testing.TB, addr string) *pgx.Conn {
	tb.Helper()
	uri := addr
	if !strings.Contains(addr, "://") {
		uri = "postgresql://admin@" + addr + "/postgres"
	}
	cfg, err := pgx.ParseConfig(uri)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Password = clusterPassword
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		tb.Fatalf("connecting to %s: %v", addr, err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestPostgresClusterLifecycle creates a 3-node synchronously replicated
// PostgreSQL cluster through the API on three hosts, checks it with a real
// client, and deletes it, leaving no process, data or port behind.
func TestPostgresClusterLifecycle(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 3)
	ctx := context.Background()

	c, planned, err := cp.client.CreateCluster(ctx, validSpec("orders"), true)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if c.ID != 0 || planned.ID != 0 || len(c.Nodes) != 3 {
		t.Fatalf("dry run = cluster %d, task %d, %d nodes; want unsaved ids and 3 placed nodes", c.ID, planned.ID, len(c.Nodes))
	}
	if _, total, _ := cp.client.FindClusters(ctx, dbplane.ClusterFilter{}); total != 0 {
		t.Fatalf("a dry run stored %d clusters", total)
	}

	c, task, err := cp.client.CreateCluster(ctx, validSpec("orders"), false)
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	if task = waitTask(t, cp.client, task.ID); task.Status != dbplane.TaskSuccessful {
		t.Fatalf("create task ended %s: %+v", task.Status, failedSubtasks(task))
	}
	c, err = cp.client.FindClusterByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != dbplane.ClusterRunning || c.Endpoints == nil || len(c.Endpoints.Replicas) != 2 {
		t.Fatalf("cluster %s with endpoints %+v; want running with a primary and 2 replicas", c.Status, c.Endpoints)
	}
	if strings.Contains(c.Endpoints.URI, clusterPassword) || !strings.Contains(c.Endpoints.URI, "target_session_attrs=read-write") {
		t.Fatalf("URI %q: want a read-write multi-host URI without the password", c.Endpoints.URI)
	}
	for _, n := range c.Nodes {
		if n.Status != "running" {
			t.Errorf("node %d is %s; want running", n.Ordinal, n.Status)
		}
	}

	primary := connect(t, c.Endpoints.URI)
	if _, err := primary.Exec(ctx, `CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders VALUES (1, 'book')`); err != nil {
		t.Fatalf("writing on the primary: %v", err)
	}
	for _, r := range c.Endpoints.Replicas {
		replica := connect(t, r)
		waitFor(t, "the row on replica "+r, func() (bool, error) {
			var item string
			err := replica.QueryRow(ctx, `SELECT item FROM orders WHERE id = 1`).Scan(&item)
			return item == "book", err
		})
		if _, err := replica.Exec(ctx, `INSERT INTO orders VALUES (2, 'pen')`); err == nil {
			t.Errorf("replica %s accepted a write", r)
		}
	}
	states := map[string]int{}
	rows, err := primary.Query(ctx, `SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		states[s]++
	}
	if states["sync"] != 1 || states["potential"] != 1 {
		t.Fatalf("pg_stat_replication sync states %v; want one sync and one potential standby", states)
	}

	del, err := cp.client.DeleteCluster(ctx, c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if del = waitTask(t, cp.client, del.ID); del.Status != dbplane.TaskSuccessful {
		t.Fatalf("delete task ended %s: %+v", del.Status, failedSubtasks(del))
	}
	if _, err := cp.client.FindClusterByID(ctx, c.ID); dbplane.ErrorKind(err) != dbplane.KindNotFound {
		t.Fatalf("cluster after delete: %v; want not_found", err)
	}
	if pids := processesUnder(root); len(pids) != 0 {
		t.Errorf("processes %v still run after delete", pids)
	}
	for _, n := range c.Nodes {
		if _, err := os.Stat(n.DataDir); !os.IsNotExist(err) {
			t.Errorf("data dir %s of node %d is still there (%v)", n.DataDir, n.Ordinal, err)
		}
	}
	loads, err := cp.db.HostLoads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range loads {
		if len(l.Ports) != 0 {
			t.Errorf("host %s still has ports %v allocated", l.Host.Address, l.Ports)
		}
	}
	metrics := mustGet(t, cp.http, cp.URL+"/metrics")
	for _, want := range []string{
		`dbplane_task_duration_seconds_count{operation="EXECUTE",status="SUCCESSFUL"}`,
		`dbplane_subtask_run_duration_seconds_count{outcome="successful"}`,
		`dbplane_http_request_duration_seconds_count{`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func failedSubtasks(t *dbplane.Task) []string {
	var out []string
	for _, s := range t.Subtasks {
		if s.Status != dbplane.SubtaskSuccessful {
			out = append(out, s.Name+" "+string(s.Status)+": "+s.Error)
		}
	}
	return out
}

// TestCreateUnplaceable: without enough hosts a create answers 422 at once
// and stores nothing.
func TestCreateUnplaceable(t *testing.T) {
	cp := mustRunControlPlane(t)
	_, _, err := cp.client.CreateCluster(context.Background(), validSpec("orders"), false)
	if dbplane.ErrorKind(err) != dbplane.KindUnplaceable || !strings.Contains(dbplane.ErrorMessage(err), "needs 3 hosts") {
		t.Fatalf("err %v; want unplaceable naming the hosts it needs", err)
	}
	if _, total, _ := cp.client.FindClusters(context.Background(), dbplane.ClusterFilter{}); total != 0 {
		t.Fatalf("%d clusters stored after an unplaceable create", total)
	}
}

// TestCreateRefusesParametersThatReachOtherClusters: a PostgreSQL log file
// named out of the node's directories, and a value that would add a line to
// postgresql.conf, each answer 400 naming the parameter, and nothing is
// stored.
func TestCreateRefusesParametersThatReachOtherClusters(t *testing.T) {
	cp := mustRunControlPlane(t)
	for field, params := range map[string]map[string]string{
		"parameters[log_filename]":     {"logging_collector": "on", "log_filename": "../../pg-1-0/x.log"},
		"parameters[application_name]": {"application_name": "x\nlisten_addresses = '*'"},
	} {
		spec := validSpec("leaky")
		spec.Parameters = params
		_, _, err := cp.client.CreateCluster(context.Background(), spec, false)
		if dbplane.ErrorKind(err) != dbplane.KindInvalid || !hasField(dbplane.ErrorFields(err), field) {
			t.Errorf("%v: err %v (fields %v); want 400 naming %s", params, err, dbplane.ErrorFields(err), field)
		}
	}
	if _, total, _ := cp.client.FindClusters(context.Background(), dbplane.ClusterFilter{}); total != 0 {
		t.Fatalf("%d clusters stored after refused creates", total)
	}
}

// TestConcurrentCreateSameName: of many concurrent creates of one name,
// exactly one wins and the others get 409.
func TestConcurrentCreateSameName(t *testing.T) {
	cp := mustRunControlPlane(t)
	mustStartAgents(t, cp, mustFleetRoot(t), 1)
	spec := validSpec("payments")
	spec.Topology, spec.Nodes, spec.ReplicationMode = dbplane.TopologyStandalone, 1, ""
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	tasks := make([]*dbplane.Task, n)
	for i := range n {
		wg.Go(func() {
			_, tasks[i], errs[i] = cp.client.CreateCluster(context.Background(), spec, false)
		})
	}
	wg.Wait()
	var won *dbplane.Task
	for i, err := range errs {
		switch dbplane.ErrorKind(err) {
		case dbplane.KindOther:
			if won != nil {
				t.Fatal("two creates of one name won")
			}
			won = tasks[i]
		case dbplane.KindConflict:
		default:
			t.Errorf("create: %v; want success or conflict", err)
		}
	}
	if won == nil {
		t.Fatal("no create won")
	}
	if _, total, _ := cp.client.FindTasks(context.Background(), dbplane.TaskFilter{}); total != 1 {
		t.Fatalf("%d tasks stored; want 1", total)
	}
	if got := waitTask(t, cp.client, won.ID); got.Status != dbplane.TaskSuccessful {
		t.Fatalf("the winning create ended %s: %v", got.Status, failedSubtasks(got))
	}
	del, err := cp.client.DeleteCluster(context.Background(), won.ClusterID, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitTask(t, cp.client, del.ID); got.Status != dbplane.TaskSuccessful {
		t.Fatalf("delete ended %s: %v", got.Status, failedSubtasks(got))
	}
}
