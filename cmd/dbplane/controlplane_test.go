package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
)

const testAdminPassword = "Test-Passw0rd"

// testControlPlane is a control plane running in the test process.
type testControlPlane struct {
	*controlPlane
	client *httpapi.Client
}

// mustRunControlPlane runs a wired control plane on a loopback port with a
// SQLite store in a temporary directory (or the PostgreSQL named by
// DBPLANE_TEST_STORE) and returns it with a logged-in client. It stops when
// the test ends, and the test fails if it does not stop cleanly.
func mustRunControlPlane(tb testing.TB) *testControlPlane {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = tb.TempDir()
	cfg.AdminPassword = testAdminPassword
	cfg.LeaseTTL = 3 * time.Second
	cfg.ShutdownGrace = 5 * time.Second
	cfg.MaxBodyBytes = 64 << 10
	log := cfg.NewLogger(io.Discard)
	if testing.Verbose() {
		log = cfg.NewLogger(os.Stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cp, err := openControlPlane(ctx, cfg, log)
	if err != nil {
		cancel()
		tb.Fatalf("openControlPlane: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cp.run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("control plane stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Errorf("control plane did not stop within 30s")
		}
	})
	c := httpapi.NewClient(cp.URL)
	tok, err := c.IssueToken(ctx, dbplane.AdminUser, testAdminPassword)
	if err != nil {
		tb.Fatalf("IssueToken: %v", err)
	}
	c.Token = tok.Secret
	return &testControlPlane{controlPlane: cp, client: c}
}

func validSpec(name string) dbplane.ClusterSpec {
	return dbplane.ClusterSpec{Name: name, Engine: dbplane.EnginePostgreSQL, Version: "15",
		Topology: dbplane.TopologyReplication, Nodes: 3, ReplicationMode: dbplane.ReplicationSync,
		Flavor: "dbp.c2.m4", VolumeGB: 20, Password: "Secret-Passw0rd"}
}

// waitTask follows a task's events until it ends and returns it.
func waitTask(tb testing.TB, c *httpapi.Client, id int64) *dbplane.Task {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, err := c.WatchTask(ctx, id, 0)
	if err != nil {
		tb.Fatalf("WatchTask(%d): %v", id, err)
	}
	for range events {
	}
	if ctx.Err() != nil {
		tb.Fatalf("task %d did not end in time", id)
	}
	t, err := c.FindTaskByID(context.Background(), id)
	if err != nil {
		tb.Fatalf("FindTaskByID(%d): %v", id, err)
	}
	return t
}

// TestClusterLifecycle drives a cluster through the API: the dry run plans a
// DAG and stores nothing; creation fails at placement because no host has
// joined; rollback removes the cluster.
func TestClusterLifecycle(t *testing.T) {
	cp := mustRunControlPlane(t)
	ctx := context.Background()

	c, planned, err := cp.client.CreateCluster(ctx, validSpec("orders"), true)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if c.ID != 0 || planned.ID != 0 || len(planned.Subtasks) < 2 {
		t.Fatalf("dry run = cluster %d, task %d with %d subtasks; want unsaved ids and a DAG", c.ID, planned.ID, len(planned.Subtasks))
	}
	if _, total, err := cp.client.FindClusters(ctx, dbplane.ClusterFilter{}); err != nil || total != 0 {
		t.Fatalf("after dry run: %d clusters, err %v; want 0", total, err)
	}

	c, task, err := cp.client.CreateCluster(ctx, validSpec("orders"), false)
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	if c.Spec.Password != "" {
		t.Fatal("the response returned the cluster password")
	}
	task = waitTask(t, cp.client, task.ID)
	if task.Status != dbplane.TaskFailed {
		t.Fatalf("create task ended %s; want FAILED (no host has joined)", task.Status)
	}
	place := task.Subtasks[0]
	if place.Status != dbplane.SubtaskFailed || !strings.Contains(place.Error, "needs 3 ONLINE hosts") {
		t.Fatalf("placement subtask = %s %q; want FAILED naming the hosts it needs", place.Status, place.Error)
	}
	if place.Attempts != 1 {
		t.Fatalf("placement ran %d times; an unplaceable cluster must not be retried", place.Attempts)
	}
	lines, err := cp.client.SubtaskLog(ctx, task.ID, place.ID)
	if err != nil || len(lines) == 0 {
		t.Fatalf("SubtaskLog = %v, %v; want the placement log", lines, err)
	}
	if got, err := cp.client.FindClusterByID(ctx, c.ID); err != nil || got.Status != dbplane.ClusterFailed {
		t.Fatalf("cluster after failed create = %+v, %v; want status failed", got, err)
	}

	if _, err := cp.client.RollbackTask(ctx, task.ID); err != nil {
		t.Fatalf("RollbackTask: %v", err)
	}
	task = waitTask(t, cp.client, task.ID)
	if task.Status != dbplane.TaskSuccessful || task.Operation != dbplane.OpRollback {
		t.Fatalf("rollback ended %s/%s; want SUCCESSFUL/ROLLBACK", task.Status, task.Operation)
	}
	if _, err := cp.client.FindClusterByID(ctx, c.ID); dbplane.ErrorKind(err) != dbplane.KindNotFound {
		t.Fatalf("cluster after rollback: err %v; want not_found", err)
	}
	if _, err := cp.client.RollbackTask(ctx, task.ID); dbplane.ErrorKind(err) != dbplane.KindConflict {
		t.Fatalf("second rollback: err %v; want conflict", err)
	}
	metrics := mustGet(t, cp.URL+"/metrics")
	for _, want := range []string{
		`dbplane_task_duration_seconds_count{operation="ROLLBACK",status="SUCCESSFUL"}`,
		`dbplane_subtask_run_duration_seconds_count{outcome="failed"}`,
		`dbplane_http_request_duration_seconds_count{`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func mustGet(tb testing.TB, url string) string {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// TestDeleteCluster deletes a cluster whose creation failed: the delete task
// waits for the create task, then removes the cluster. (That a second delete
// of a deleting cluster is refused is proven in the store's tests, where it
// is not a race with the engine.)
func TestDeleteCluster(t *testing.T) {
	cp := mustRunControlPlane(t)
	ctx := context.Background()
	c, task, err := cp.client.CreateCluster(ctx, validSpec("billing"), false)
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	del, err := cp.client.DeleteCluster(ctx, c.ID, false)
	if err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	if !del.ProhibitRollback {
		t.Fatal("delete task allows rollback; removed data cannot come back")
	}
	if got := waitTask(t, cp.client, task.ID); got.Status != dbplane.TaskFailed {
		t.Fatalf("create ended %s; want FAILED", got.Status)
	}
	if got := waitTask(t, cp.client, del.ID); got.Status != dbplane.TaskSuccessful {
		t.Fatalf("delete ended %s; want SUCCESSFUL", got.Status)
	}
	if _, err := cp.client.FindClusterByID(ctx, c.ID); dbplane.ErrorKind(err) != dbplane.KindNotFound {
		t.Fatalf("cluster after delete: err %v; want not_found", err)
	}
}

// TestConcurrentCreateSameName: of many concurrent creates of one name,
// exactly one wins and the others get 409.
func TestConcurrentCreateSameName(t *testing.T) {
	cp := mustRunControlPlane(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = cp.client.CreateCluster(context.Background(), validSpec("payments"), false)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch dbplane.ErrorKind(err) {
		case dbplane.KindOther:
			won++
		case dbplane.KindConflict:
		default:
			t.Errorf("create: %v; want success or conflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creates won; want exactly 1", won)
	}
	if _, total, _ := cp.client.FindTasks(context.Background(), dbplane.TaskFilter{}); total != 1 {
		t.Fatalf("%d tasks stored; want 1", total)
	}
}

// TestInvalidRequestsWriteNothing posts bad bodies and bad specs; each gets
// a 400 (or 413) naming the field, and nothing is stored.
func TestInvalidRequestsWriteNothing(t *testing.T) {
	cp := mustRunControlPlane(t)
	spec := func(edit func(m map[string]any)) string {
		b, _ := json.Marshal(validSpec("inventory"))
		var m map[string]any
		json.Unmarshal(b, &m)
		edit(m)
		b, _ = json.Marshal(m)
		return string(b)
	}
	for _, tc := range []struct {
		name, body, field string
		status            int
	}{
		{"malformed JSON", `{"name": "inventory",`, "body", 400},
		{"wrong type", spec(func(m map[string]any) { m["nodes"] = "three" }), "nodes", 400},
		{"unknown field", spec(func(m map[string]any) { m["colour"] = "blue" }), "colour", 400},
		{"short name", spec(func(m map[string]any) { m["name"] = "ab" }), "name", 400},
		{"weak password", spec(func(m map[string]any) { m["password"] = "password" }), "password", 400},
		{"unknown engine", spec(func(m map[string]any) { m["engine"] = "oceanbase" }), "engine", 400},
		{"volume not a multiple of 10", spec(func(m map[string]any) { m["volume_gb"] = 15 }), "volume_gb", 400},
		{"unknown flavor", spec(func(m map[string]any) { m["flavor"] = "huge" }), "flavor", 400},
		{"oversized body", `{"name":"` + strings.Repeat("x", 128<<10) + `"}`, "", 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", cp.URL+"/v1/clusters", bytes.NewBufferString(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+cp.client.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct {
					Code    string               `json:"code"`
					Details []dbplane.FieldError `json:"details"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("decoding the error body: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, tc.status)
			}
			if tc.field != "" && !hasField(body.Error.Details, tc.field) {
				t.Fatalf("details %+v do not name %q", body.Error.Details, tc.field)
			}
		})
	}
	if _, total, err := cp.client.FindClusters(context.Background(), dbplane.ClusterFilter{}); err != nil || total != 0 {
		t.Fatalf("%d clusters stored after bad requests (err %v); want 0", total, err)
	}
	if _, total, _ := cp.client.FindTasks(context.Background(), dbplane.TaskFilter{}); total != 0 {
		t.Fatalf("%d tasks stored after bad requests; want 0", total)
	}
}

func hasField(details []dbplane.FieldError, field string) bool {
	for _, d := range details {
		if d.Field == field {
			return true
		}
	}
	return false
}

// TestDevAdminPasswordPersists: dev mode keeps its generated password, so a
// restarted dev control plane prints the same credentials.
func TestDevAdminPasswordPersists(t *testing.T) {
	dir := t.TempDir()
	first, err := devAdminPassword(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := dbplane.ValidateClusterSpec(&dbplane.ClusterSpec{Password: first}, dbplane.DefaultCatalog()); hasField(dbplane.ErrorFields(err), "password") {
		t.Fatalf("generated password %q breaks the password rules: %v", first, err)
	}
	second, err := devAdminPassword(dir)
	if err != nil || second != first {
		t.Fatalf("second read = %q, %v; want %q", second, err, first)
	}
	if fi, err := os.Stat(filepath.Join(dir, "admin.password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.password mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
