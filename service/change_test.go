package service_test

import (
	"context"
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
)

// The fake engine changes passwords and parameters with one step each; it
// refuses the parameter "port", as engines refuse those dbplane sets.
func (fakeEngine) PlanPassword(c *dbplane.Cluster) []dbplane.PlanStep {
	return []dbplane.PlanStep{{Key: "alter", Name: "alter", Handler: "fake.alter"}}
}

func (fakeEngine) PlanParameterCheck(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep {
	return []dbplane.PlanStep{{Key: "check", Name: "check", Handler: "fake.check"}}
}

func (fakeEngine) PlanParameterApply(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep {
	return []dbplane.PlanStep{
		{Key: "conf", Name: "conf", Handler: "fake.conf"},
		{Key: "live", Name: "live", Handler: "fake.live", After: []string{"conf"}},
	}
}

// bareEngine hides every method but those of service.ClusterEngine: an
// engine that cannot change passwords or parameters yet.
type bareEngine struct{ service.ClusterEngine }

// TestChangePassword: the new password is validated like a new cluster's,
// rides in the task (encrypted) and not in the plan, and the cluster is
// updating while the task runs.
func TestChangePassword(t *testing.T) {
	w := newWorld(t)
	c, _ := w.mustCluster(t, w.operator, "alpha", "orders")
	ctx := as(w.operator)
	w.setStatus(t, c.ID, dbplane.ClusterRunning)

	_, err := w.svc.ChangePassword(ctx, c.ID, "short", false)
	wantField(t, err, "password")

	dry, err := w.svc.ChangePassword(ctx, c.ID, "N3w-Password", true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fake.alter", service.HandlerCommitPassword}
	if dry.ID != 0 || dry.Kind != dbplane.TaskKindClusterPassword || !slices.Equal(handlersOf(dry), want) {
		t.Fatalf("dry run: task %d kind %s steps %v", dry.ID, dry.Kind, handlersOf(dry))
	}
	task, err := w.svc.ChangePassword(ctx, c.ID, "N3w-Password", false)
	if err != nil {
		t.Fatal(err)
	}
	if !task.ProhibitRollback || !slices.Equal(handlersOf(task), want) {
		t.Fatalf("task %+v", task)
	}
	if got, _ := w.svc.FindClusterByID(ctx, c.ID); got.Status != dbplane.ClusterUpdating {
		t.Fatalf("cluster is %s while the task runs", got.Status)
	}
	if pw, err := w.db.TaskPassword(context.Background(), task.ID); err != nil || pw != "N3w-Password" {
		t.Fatalf("TaskPassword = %q, %v", pw, err)
	}
	_, err = w.svc.ChangePassword(ctx, c.ID, "N3w-Password", false)
	wantKind(t, err, dbplane.KindConflict, "")
	_, err = w.svc.UpdateParameters(ctx, c.ID, map[string]string{"work_mem": "8MB"}, false)
	wantKind(t, err, dbplane.KindConflict, "")
	_, err = w.svc.RestartCluster(ctx, c.ID, false)
	wantKind(t, err, dbplane.KindConflict, "")

	_, err = w.svc.ChangePassword(as(w.viewer), c.ID, "N3w-Password", true)
	wantKind(t, err, dbplane.KindForbidden, "")
	_, err = w.svc.ChangePassword(as(w.betaAdm), c.ID, "N3w-Password", true)
	wantKind(t, err, dbplane.KindNotFound, "")
}

// TestUpdateParameters: the engine checks, the service records, then the
// engine applies; refused names and bad values answer KindInvalid naming
// the parameter.
func TestUpdateParameters(t *testing.T) {
	w := newWorld(t)
	c, _ := w.mustCluster(t, w.operator, "alpha", "orders")
	ctx := as(w.operator)
	w.setStatus(t, c.ID, dbplane.ClusterDegraded)

	for _, bad := range []map[string]string{nil, {"port": "5433"}, {"Bad Name": "1"}} {
		_, err := w.svc.UpdateParameters(ctx, c.ID, bad, false)
		wantKind(t, err, dbplane.KindInvalid, "")
	}
	_, err := w.svc.UpdateParameters(ctx, c.ID, map[string]string{"port": "5433"}, false)
	wantField(t, err, "parameters[port]")

	task, err := w.svc.UpdateParameters(ctx, c.ID, map[string]string{"work_mem": "8MB", "old": ""}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fake.check", service.HandlerRecordParameters, "fake.conf", "fake.live"}
	if task.Kind != dbplane.TaskKindClusterParameters || !slices.Equal(handlersOf(task), want) {
		t.Fatalf("task kind %s steps %v, want %v", task.Kind, handlersOf(task), want)
	}
	record, conf := task.Subtasks[1], task.Subtasks[2]
	if len(record.Upstreams) != 1 || len(conf.Upstreams) != 1 || conf.Upstreams[0] != record.ID {
		t.Fatalf("record after %v, conf after %v: want check -> record -> conf", record.Upstreams, conf.Upstreams)
	}
	if string(record.Params) != `{"parameters":{"old":"","work_mem":"8MB"}}` {
		t.Fatalf("record params %s", record.Params)
	}
	if got, _ := w.svc.FindClusterByID(ctx, c.ID); got.Status != dbplane.ClusterUpdating {
		t.Fatalf("cluster is %s while the task runs", got.Status)
	}
}

// An engine without ChangeEngine answers a conflict naming the engine.
func TestChange_EngineNotDone(t *testing.T) {
	w := newWorld(t)
	c, _ := w.mustCluster(t, w.operator, "alpha", "orders")
	w.setStatus(t, c.ID, dbplane.ClusterRunning)
	w.svc.Engines[dbplane.EnginePostgreSQL] = bareEngine{fakeEngine{}}
	_, err := w.svc.ChangePassword(as(w.operator), c.ID, "N3w-Password", false)
	wantKind(t, err, dbplane.KindConflict, "clusters of engine postgresql cannot change the admin password yet")
	_, err = w.svc.UpdateParameters(as(w.operator), c.ID, map[string]string{"a": "1"}, false)
	wantKind(t, err, dbplane.KindConflict, "clusters of engine postgresql cannot change parameters yet")
}
