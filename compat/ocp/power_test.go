package ocp_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

// powerFixture serves clusters 1 (running), 2 (stopped), 3 (stopping) and
// 9 (PostgreSQL), over a fake service that refuses an operation in the
// wrong status as dbplane's does, and refuses everything when readOnly.
func powerFixture(t *testing.T, readOnly *bool) (*fixture, *[]string) {
	f := newFixture(t)
	threeIDCs(f)
	all := map[int64]*dbplane.Cluster{
		1: galera(1, "alpha", dbplane.ClusterRunning), 2: galera(2, "beta", dbplane.ClusterStopped),
		3: galera(3, "gamma", dbplane.ClusterStopping),
		9: {ID: 9, Name: "pgsql", Engine: "postgresql", Topology: "replication", Status: dbplane.ClusterRunning},
	}
	f.clusters.byID = func(_ context.Context, id int64) (*dbplane.Cluster, error) {
		if c, ok := all[id]; ok {
			return c, nil
		}
		return nil, dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
	}
	calls := &[]string{}
	from := map[string][]dbplane.ClusterStatus{
		"stop": {dbplane.ClusterRunning}, "start": {dbplane.ClusterStopped}, "restart": {dbplane.ClusterRunning}}
	f.clusters.power = func(ctx context.Context, op string, id int64, dryRun bool) (*dbplane.Task, error) {
		if dbplane.PrincipalFrom(ctx) == nil || dryRun {
			t.Errorf("%s of %d without a principal or as a dry run (%v)", op, id, dryRun)
		}
		*calls = append(*calls, fmt.Sprintf("%s %d", op, id))
		if *readOnly {
			return nil, dbplane.Errorf(dbplane.KindForbidden, "alice is a viewer of the project of cluster %d", id)
		}
		c := all[id]
		if !slices.Contains(from[op], c.Status) {
			return nil, dbplane.Errorf(dbplane.KindConflict, "cluster %d is %s: only a cluster that is %s can be %sed",
				id, c.Status, from[op][0], op)
		}
		task := dagTask(70 + id)
		task.Name, task.Status, task.ClusterID = op+" mysql cluster "+c.Name, dbplane.TaskRunning, id
		if op == "stop" {
			// The service may answer the task alone: the door reads the DAG.
			task.Subtasks = nil
		}
		return task, nil
	}
	f.tasks.byID = func(_ context.Context, id int64) (*dbplane.Task, error) {
		return dagTask(id), nil
	}
	return f, calls
}

func TestStopStartRestartAnswerTheTask(t *testing.T) {
	readOnly := false
	f, calls := powerFixture(t, &readOnly)
	for _, c := range []struct {
		path   string
		taskID int64
		name   string
	}{
		{"/api/v2/ob/clusters/1/stop", 71, "create cluster terran"}, // the DAG read back
		{"/api/v2/ob/clusters/2/start", 72, "start mysql cluster beta"},
		{"/api/v2/ob/clusters/1/restart", 71, "restart mysql cluster alpha"},
	} {
		// OCP clients send no body or an empty object: both do.
		a := f.post(t, c.path, []byte(`{}`))
		ti := decodeData[struct {
			ID      int64
			Name    string
			Status  string
			Type    string
			Context string
			Cluster struct {
				ID          int64
				Name        string
				ObClusterID int64
			}
			Tasks []struct {
				ID          int64
				ParallelIdx int
				Upstreams   []int64
			}
			Subtasks []any
		}](t, a)
		wantCluster := int64(1)
		if strings.Contains(c.path, "/2/") {
			wantCluster = 2
		}
		if ti.ID != c.taskID || ti.Name != c.name || ti.Type != "MANUAL" || ti.Cluster.ID != wantCluster ||
			ti.Cluster.ObClusterID != wantCluster || ti.Cluster.Name == "" || len(ti.Tasks) != 3 || ti.Subtasks != nil ||
			ti.Tasks[0].ParallelIdx != -1 || !strings.HasPrefix(ti.Context, "Context(parallelIdx=-1") {
			t.Fatalf("%s answered %s", c.path, a.Data)
		}
	}
	a := f.post(t, "/api/v2/ob/clusters/1/start", nil)
	wantError(t, a, http.StatusConflict, 50002)
	if !strings.Contains(a.Error.Message, "cluster 1 is running") {
		t.Fatalf("starting a running cluster answered %q", a.Error.Message)
	}
	wantError(t, f.post(t, "/api/v2/ob/clusters/2/stop", nil), http.StatusConflict, 50002)
	wantError(t, f.post(t, "/api/v2/ob/clusters/3/restart", nil), http.StatusConflict, 50002)
	// Another engine's cluster and a missing one are not found; neither
	// reaches the service.
	wantError(t, f.post(t, "/api/v2/ob/clusters/9/stop", nil), http.StatusNotFound, 10002)
	wantError(t, f.post(t, "/api/v2/ob/clusters/77/start", nil), http.StatusNotFound, 10002)
	wantError(t, f.post(t, "/api/v2/ob/clusters/x/restart", nil), http.StatusBadRequest, 10001)
	wantError(t, send(t, f.request(t, http.MethodGet, "/api/v2/ob/clusters/1/stop", nil)), http.StatusNotFound, 10002)

	want := []string{"stop 1", "start 2", "restart 1", "start 1", "stop 2", "restart 3"}
	if !slices.Equal(*calls, want) {
		t.Fatalf("service calls %v; want %v", *calls, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var actions []string
	for _, e := range f.audit {
		actions = append(actions, e.Action+":"+e.Result)
	}
	wantAudit := []string{"cluster.stop:success", "cluster.start:success", "cluster.restart:success",
		"cluster.start:conflict", "cluster.stop:conflict", "cluster.restart:conflict",
		"cluster.stop:not_found", "cluster.start:not_found", "cluster.restart:invalid"}
	if !slices.Equal(actions, wantAudit) {
		t.Fatalf("audited %v; want %v", actions, wantAudit)
	}
}

func TestStopStartRestartNeedAnOperator(t *testing.T) {
	readOnly := true
	f, calls := powerFixture(t, &readOnly)
	for _, op := range []string{"stop", "start", "restart"} {
		path := "/api/v2/ob/clusters/1/" + op
		a := f.post(t, path, nil)
		if fields := wantError(t, a, http.StatusForbidden, 30014); len(fields) != 0 || !strings.Contains(a.Error.Message, "viewer") {
			t.Fatalf("%s by a viewer answered %+v", path, a.Error)
		}
		wantError(t, send(t, f.request(t, http.MethodPost, path, nil)), http.StatusUnauthorized, 30000)
		wantError(t, send(t, basic(f.request(t, http.MethodPost, path, nil), testUser, "wrong-Pass1")), http.StatusUnauthorized, 30004)
	}
	if want := []string{"stop 1", "start 1", "restart 1"}; !slices.Equal(*calls, want) {
		t.Fatalf("service calls %v; want %v (unauthenticated calls must not reach it)", *calls, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.audit) != 9 || f.audit[0].Action != "cluster.stop" || f.audit[0].Status != http.StatusForbidden ||
		f.audit[1].Status != http.StatusUnauthorized || f.audit[8].Action != "cluster.restart" {
		t.Fatalf("audit %+v", f.audit)
	}
}
