package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/google/go-cmp/cmp"
)

func sampleSpec() dbplane.ClusterSpec {
	return dbplane.ClusterSpec{
		Name: "orders", Engine: dbplane.EnginePostgreSQL, Version: "15",
		Topology: dbplane.TopologyReplication, Nodes: 3, Flavor: "dbp.c2.m4", VolumeGB: 100,
		Zones: []string{"z1", "z2", "z3"}, ReplicationMode: dbplane.ReplicationSync,
		Password: "S3cure-pass", Parameters: map[string]string{"max_connections": "200"},
		Labels: map[string]string{"team": "shop"},
	}
}

func sampleCluster(id int64) *dbplane.Cluster {
	spec := sampleSpec().Redacted()
	return &dbplane.Cluster{
		ID: id, Name: spec.Name, Engine: spec.Engine, Version: spec.Version, Topology: spec.Topology,
		Status: dbplane.ClusterCreating, Spec: spec,
		Nodes:     []dbplane.Node{{ID: 7, ClusterID: id, HostID: 3, Role: "primary", Port: 5432, DataDir: "/data/pg", Status: "running", CreatedAt: t0}},
		CreatedAt: t0, UpdatedAt: t0,
	}
}

func sampleTask(id int64) *dbplane.Task {
	started := t0.Add(1e9)
	return &dbplane.Task{
		ID: id, Name: "create cluster orders", Kind: dbplane.TaskKindClusterCreate, ClusterID: 5,
		Status: dbplane.TaskRunning, Operation: dbplane.OpExecute, Creator: "admin",
		Context: map[string]string{"cluster": "orders"}, CreatedAt: t0, StartedAt: &started,
		Subtasks: []*dbplane.Subtask{
			{ID: 11, TaskID: id, Name: "allocate", Handler: "cluster.allocate", Undo: "cluster.free",
				Params: json.RawMessage(`{"nodes":3}`), Status: dbplane.SubtaskSuccessful, Operation: dbplane.OpExecute,
				TimeoutSec: 600, MaxAttempts: 3, Attempts: 1, RunCount: 1,
				Upstreams: []int64{}, Downstreams: []int64{12}, CreatedAt: t0, StartedAt: &started, FinishedAt: &started},
			{ID: 12, TaskID: id, Name: "install", Handler: "node.install", Status: dbplane.SubtaskRunning,
				Operation: dbplane.OpRetry, TimeoutSec: 600, MaxAttempts: 3, Attempts: 2, RunCount: 4,
				Upstreams: []int64{11}, Downstreams: []int64{}, Executor: "cp-1", Error: "timeout", CreatedAt: t0, StartedAt: &started},
		},
	}
}

func TestCreateCluster(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		var got dbplane.ClusterSpec
		e.clusters.CreateClusterFn = func(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
			if dryRun {
				t.Error("dryRun = true, want false")
			}
			if u := dbplane.PrincipalFrom(ctx); u.Name() != "admin" {
				t.Errorf("user in context = %v, want admin", u)
			}
			got = spec
			return sampleCluster(5), sampleTask(9), nil
		}
		c, task, err := e.client.CreateCluster(t.Context(), sampleSpec(), false)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sampleSpec(), got); diff != "" {
			t.Errorf("spec received (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(sampleCluster(5), c); diff != "" {
			t.Errorf("cluster (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(sampleTask(9), task); diff != "" {
			t.Errorf("task (-want +got):\n%s", diff)
		}
	})
	t.Run("AcceptedWithLocation", func(t *testing.T) {
		e := newEnv(t)
		e.clusters.CreateClusterFn = func(context.Context, dbplane.ClusterSpec, bool) (*dbplane.Cluster, *dbplane.Task, error) {
			return sampleCluster(5), sampleTask(9), nil
		}
		body, _ := json.Marshal(sampleSpec())
		resp, data := e.request(t, "POST", "/v1/clusters", string(body))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status = %d, want 202; %s", resp.StatusCode, data)
		}
		if got, want := resp.Header.Get("Location"), "/v1/tasks/9"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		var out map[string]json.RawMessage
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatal(err)
		}
		if len(out) != 2 || out["cluster"] == nil || out["task"] == nil {
			t.Errorf("body keys = %v, want cluster and task", keys(out))
		}
	})
	t.Run("DryRun", func(t *testing.T) {
		e := newEnv(t)
		e.clusters.CreateClusterFn = func(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
			if !dryRun {
				t.Error("dryRun = false, want true")
			}
			c, task := sampleCluster(0), sampleTask(0)
			return c, task, nil
		}
		body, _ := json.Marshal(sampleSpec())
		resp, data := e.request(t, "POST", "/v1/clusters?dry_run=true", string(body))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d, want 200; %s", resp.StatusCode, data)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("Location = %q, want none for a dry run", loc)
		}
		c, task, err := e.client.CreateCluster(t.Context(), sampleSpec(), true)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != 0 || task.ID != 0 || len(task.Subtasks) != 2 {
			t.Errorf("dry run answer = cluster %d, task %d with %d subtasks; want 0, 0, 2", c.ID, task.ID, len(task.Subtasks))
		}
	})
	t.Run("ErrBadDryRun", func(t *testing.T) {
		e := newEnv(t)
		resp, data := e.request(t, "POST", "/v1/clusters?dry_run=maybe", `{}`)
		ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
		if len(ae.Error.Details) != 1 || ae.Error.Details[0].Field != "dry_run" {
			t.Errorf("details = %+v, want dry_run", ae.Error.Details)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		e := newEnv(t)
		e.clusters.CreateClusterFn = func(context.Context, dbplane.ClusterSpec, bool) (*dbplane.Cluster, *dbplane.Task, error) {
			return nil, nil, dbplane.Errorf(dbplane.KindConflict, "cluster name %q is taken", "orders")
		}
		_, _, err := e.client.CreateCluster(t.Context(), sampleSpec(), false)
		if de := mustKind(t, err, dbplane.KindConflict); de.Message != `cluster name "orders" is taken` {
			t.Errorf("message = %q", de.Message)
		}
	})
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestFindClusters(t *testing.T) {
	t.Run("FiltersRoundTrip", func(t *testing.T) {
		e := newEnv(t)
		name, engine, status := "orders", "postgresql", dbplane.ClusterRunning
		want := dbplane.ClusterFilter{Name: &name, Engine: &engine, Status: &status, Offset: 20, Limit: 10}
		var got dbplane.ClusterFilter
		e.clusters.FindClustersFn = func(ctx context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
			got = f
			return []*dbplane.Cluster{sampleCluster(1), sampleCluster(2)}, 42, nil
		}
		cs, total, err := e.client.FindClusters(t.Context(), want)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("filter (-sent +received):\n%s", diff)
		}
		if total != 42 || len(cs) != 2 || cs[1].ID != 2 {
			t.Errorf("got %d clusters, total %d; want 2, 42", len(cs), total)
		}
	})
	t.Run("PageShape", func(t *testing.T) {
		e := newEnv(t)
		var got dbplane.ClusterFilter
		e.clusters.FindClustersFn = func(ctx context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
			got = f
			return nil, 0, nil
		}
		resp, data := e.request(t, "GET", "/v1/clusters", "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d: %s", resp.StatusCode, data)
		}
		if got, want := string(data), `{"clusters":[],"total":0,"offset":0,"limit":50}`+"\n"; got != want {
			t.Errorf("body = %s, want %s", got, want)
		}
		if got.Limit != dbplane.DefaultPageSize || got.Name != nil || got.Status != nil {
			t.Errorf("filter = %+v, want default page and no filters", got)
		}
		// Limits above the maximum are capped, not refused.
		resp, data = e.request(t, "GET", "/v1/clusters?limit=100000&offset=3", "")
		if resp.StatusCode != http.StatusOK || got.Limit != dbplane.MaxPageSize || got.Offset != 3 {
			t.Errorf("status %d, filter %+v: want 200, limit %d, offset 3; %s", resp.StatusCode, got, dbplane.MaxPageSize, data)
		}
	})
	t.Run("ErrQuery", func(t *testing.T) {
		e := newEnv(t)
		for query, field := range map[string]string{
			"limit=ten":          "limit",
			"limit=-1":           "limit",
			"offset=1.5":         "offset",
			"offset=99999999999": "offset",
			"status=happy":       "status",
			"colour=blue":        "colour",
			"name=a&name=b":      "name",
		} {
			resp, data := e.request(t, "GET", "/v1/clusters?"+query, "")
			ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
			if ae.Error.Code != "invalid" || len(ae.Error.Details) != 1 || ae.Error.Details[0].Field != field {
				t.Errorf("%s: error %+v, want invalid naming %s", query, ae.Error, field)
			}
		}
	})
}

func TestFindClusterByID(t *testing.T) {
	e := newEnv(t)
	e.clusters.FindClusterByIDFn = func(ctx context.Context, id int64) (*dbplane.Cluster, error) {
		if id != 5 {
			return nil, dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
		}
		return sampleCluster(5), nil
	}
	t.Run("OK", func(t *testing.T) {
		c, err := e.client.FindClusterByID(t.Context(), 5)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sampleCluster(5), c); diff != "" {
			t.Errorf("cluster (-want +got):\n%s", diff)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := e.client.FindClusterByID(t.Context(), 6)
		if de := mustKind(t, err, dbplane.KindNotFound); de.Message != "cluster 6 not found" {
			t.Errorf("message = %q", de.Message)
		}
	})
	t.Run("ErrBadID", func(t *testing.T) {
		for _, id := range []string{"abc", "0", "-3", "1e3", "99999999999999999999"} {
			resp, data := e.request(t, "GET", "/v1/clusters/"+id, "")
			ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
			if len(ae.Error.Details) != 1 || ae.Error.Details[0].Field != "cluster_id" {
				t.Errorf("id %s: details %+v, want id", id, ae.Error.Details)
			}
		}
	})
}

func TestDeleteCluster(t *testing.T) {
	e := newEnv(t)
	var gotDry []bool
	e.clusters.DeleteClusterFn = func(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
		gotDry = append(gotDry, dryRun)
		task := sampleTask(12)
		task.Kind = dbplane.TaskKindClusterDelete
		if dryRun {
			task.ID = 0
		}
		return task, nil
	}
	task, err := e.client.DeleteCluster(t.Context(), 5, false)
	if err != nil {
		t.Fatal(err)
	}
	if task.ID != 12 || task.Kind != dbplane.TaskKindClusterDelete {
		t.Errorf("task = %d %s, want 12 cluster.delete", task.ID, task.Kind)
	}
	resp, data := e.request(t, "DELETE", "/v1/clusters/5", "")
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") != "/v1/tasks/12" {
		t.Errorf("status %d, Location %q: want 202 /v1/tasks/12; %s", resp.StatusCode, resp.Header.Get("Location"), data)
	}
	resp, data = e.request(t, "DELETE", "/v1/clusters/5?dry_run=1", "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("dry run status = %d, want 200; %s", resp.StatusCode, data)
	}
	if task, err = e.client.DeleteCluster(t.Context(), 5, true); err != nil || task.ID != 0 {
		t.Errorf("dry run = %v, %v; want the planned task", task, err)
	}
	if diff := cmp.Diff([]bool{false, false, true, true}, gotDry); diff != "" {
		t.Errorf("dryRun passed (-want +got):\n%s", diff)
	}
}

// TestClusterPower: stop, start and restart answer 202 with the task and
// its Location, or 200 with the planned task on a dry run, through the
// client too; a refused status is a 409.
func TestClusterPower(t *testing.T) {
	e := newEnv(t)
	var got []string
	op := func(kind string) func(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
		return func(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
			got = append(got, fmt.Sprintf("%s %d %v", kind, id, dryRun))
			if id == 9 {
				return nil, dbplane.Errorf(dbplane.KindConflict, "cluster 9 is creating")
			}
			task := sampleTask(12)
			task.Kind = kind
			if dryRun {
				task.ID = 0
			}
			return task, nil
		}
	}
	e.clusters.StopClusterFn = op(dbplane.TaskKindClusterStop)
	e.clusters.StartClusterFn = op(dbplane.TaskKindClusterStart)
	e.clusters.RestartClusterFn = op(dbplane.TaskKindClusterRestart)
	calls := map[string]func(context.Context, int64, bool) (*dbplane.Task, error){
		"stop": e.client.StopCluster, "start": e.client.StartCluster, "restart": e.client.RestartCluster,
	}
	for verb, call := range calls {
		kind := "cluster." + verb
		task, err := call(t.Context(), 5, false)
		if err != nil || task.ID != 12 || task.Kind != kind {
			t.Errorf("%s: %+v, %v; want task 12 %s", verb, task, err, kind)
		}
		if task, err = call(t.Context(), 5, true); err != nil || task.ID != 0 {
			t.Errorf("%s dry run: %+v, %v; want the planned task", verb, task, err)
		}
		if _, err = call(t.Context(), 9, false); dbplane.ErrorKind(err) != dbplane.KindConflict {
			t.Errorf("%s of a creating cluster: %v; want a conflict", verb, err)
		}
		resp, data := e.request(t, "POST", "/v1/clusters/5/"+verb, "")
		if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") != "/v1/tasks/12" {
			t.Errorf("%s: status %d, Location %q: want 202 /v1/tasks/12; %s", verb, resp.StatusCode, resp.Header.Get("Location"), data)
		}
		resp, data = e.request(t, "POST", "/v1/clusters/5/"+verb+"?dry_run=true", "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s dry run: status %d, want 200; %s", verb, resp.StatusCode, data)
		}
		resp, data = e.request(t, "POST", "/v1/clusters/9/"+verb, "")
		mustErrorBody(t, resp, data, http.StatusConflict)
		resp, data = e.request(t, "POST", "/v1/clusters/5/"+verb+"?dry_run=maybe", "")
		mustErrorBody(t, resp, data, http.StatusBadRequest)
	}
	if len(got) != 18 {
		t.Errorf("calls %v; want 6 of each verb", got)
	}
}
