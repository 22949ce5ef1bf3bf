package service_test

import (
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
)

// The fake engine stops, starts and restarts with one step per verb, so
// that tests see the service append its own last step.
func (fakeEngine) PlanStop(c *dbplane.Cluster) []dbplane.PlanStep {
	return []dbplane.PlanStep{{Key: "stop", Name: "stop", Handler: "fake.stop"}}
}

func (fakeEngine) PlanStart(c *dbplane.Cluster) []dbplane.PlanStep {
	return []dbplane.PlanStep{{Key: "start", Name: "start", Handler: "fake.start"}}
}

func (fakeEngine) PlanRestart(c *dbplane.Cluster) []dbplane.PlanStep {
	return []dbplane.PlanStep{
		{Key: "stop", Name: "stop", Handler: "fake.stop"},
		{Key: "start", Name: "start", Handler: "fake.start", After: []string{"stop"}},
	}
}

// setStatus sets a cluster's status as a task's end would.
func (w *world) setStatus(t *testing.T, id int64, s dbplane.ClusterStatus) {
	t.Helper()
	if _, err := w.db.SQL().Exec(`UPDATE clusters SET status = ? WHERE id = ?`, s, id); err != nil {
		t.Fatal(err)
	}
}

func handlersOf(t *dbplane.Task) []string {
	var hs []string
	for _, s := range t.Subtasks {
		hs = append(hs, s.Handler)
	}
	return hs
}

// TestPowerCluster_Plans: each operation is the engine's steps, then the
// step that records the nodes' status, in a task of its kind that
// prohibits rollback and holds the cluster in its transitional status.
func TestPowerCluster_Plans(t *testing.T) {
	w := newWorld(t)
	c, _ := w.mustCluster(t, w.operator, "alpha", "orders")
	ctx := as(w.operator)
	tests := []struct {
		from    dbplane.ClusterStatus
		call    func(int64, bool) (*dbplane.Task, error)
		kind    string
		during  dbplane.ClusterStatus
		handler []string
	}{
		{dbplane.ClusterRunning, func(id int64, dry bool) (*dbplane.Task, error) { return w.svc.StopCluster(ctx, id, dry) },
			dbplane.TaskKindClusterStop, dbplane.ClusterStopping, []string{"fake.stop", service.HandlerMarkStopped}},
		{dbplane.ClusterStopped, func(id int64, dry bool) (*dbplane.Task, error) { return w.svc.StartCluster(ctx, id, dry) },
			dbplane.TaskKindClusterStart, dbplane.ClusterStarting, []string{"fake.start", service.HandlerMarkRunning}},
		{dbplane.ClusterDegraded, func(id int64, dry bool) (*dbplane.Task, error) { return w.svc.RestartCluster(ctx, id, dry) },
			dbplane.TaskKindClusterRestart, dbplane.ClusterRestarting, []string{"fake.stop", "fake.start", service.HandlerMarkRunning}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			w.setStatus(t, c.ID, tt.from)
			dry, err := tt.call(c.ID, true)
			if err != nil {
				t.Fatal(err)
			}
			if dry.ID != 0 || dry.Kind != tt.kind || !slices.Equal(handlersOf(dry), tt.handler) {
				t.Fatalf("dry run: task %d kind %s steps %v; want an unsaved %s of %v", dry.ID, dry.Kind, handlersOf(dry), tt.kind, tt.handler)
			}
			if got, _ := w.svc.FindClusterByID(ctx, c.ID); got.Status != tt.from {
				t.Fatalf("a dry run made the cluster %s", got.Status)
			}
			task, err := tt.call(c.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			if task.ID == 0 || task.Kind != tt.kind || !task.ProhibitRollback || task.ClusterID != c.ID || task.ProjectID != w.alpha.ID {
				t.Fatalf("task %+v; want a stored %s of cluster %d that prohibits rollback", task, tt.kind, c.ID)
			}
			last := task.Subtasks[len(task.Subtasks)-1]
			if !slices.Equal(handlersOf(task), tt.handler) || len(last.Upstreams) != 1 {
				t.Fatalf("steps %v, last after %v; want %v, the last after the engine's last", handlersOf(task), last.Upstreams, tt.handler)
			}
			if got, _ := w.svc.FindClusterByID(ctx, c.ID); got.Status != tt.during {
				t.Fatalf("cluster is %s while the task runs; want %s", got.Status, tt.during)
			}
			// Asked again while the first runs, it is refused.
			_, err = tt.call(c.ID, false)
			wantKind(t, err, dbplane.KindConflict, "")
		})
	}
}

// TestPowerCluster_States: every operation refuses the statuses it does
// not start from with a conflict that names the status, and changes
// nothing.
func TestPowerCluster_States(t *testing.T) {
	w := newWorld(t)
	c, _ := w.mustCluster(t, w.operator, "alpha", "orders")
	ctx := as(w.operator)
	ops := map[string]struct {
		call func() (*dbplane.Task, error)
		ok   []dbplane.ClusterStatus
	}{
		"stop":    {func() (*dbplane.Task, error) { return w.svc.StopCluster(ctx, c.ID, false) }, []dbplane.ClusterStatus{dbplane.ClusterRunning, dbplane.ClusterDegraded, dbplane.ClusterAbnormal}},
		"start":   {func() (*dbplane.Task, error) { return w.svc.StartCluster(ctx, c.ID, false) }, []dbplane.ClusterStatus{dbplane.ClusterStopped}},
		"restart": {func() (*dbplane.Task, error) { return w.svc.RestartCluster(ctx, c.ID, false) }, []dbplane.ClusterStatus{dbplane.ClusterRunning, dbplane.ClusterDegraded, dbplane.ClusterAbnormal}},
	}
	all := []dbplane.ClusterStatus{dbplane.ClusterCreating, dbplane.ClusterRunning, dbplane.ClusterAbnormal, dbplane.ClusterDegraded,
		dbplane.ClusterStopped, dbplane.ClusterDeleting, dbplane.ClusterFailed, dbplane.ClusterDataDiskFull,
		dbplane.ClusterStopping, dbplane.ClusterStarting, dbplane.ClusterRestarting}
	for name, op := range ops {
		for _, s := range all {
			if slices.Contains(op.ok, s) {
				continue
			}
			w.setStatus(t, c.ID, s)
			_, err := op.call()
			wantKind(t, err, dbplane.KindConflict, "")
			if got, _ := w.svc.FindClusterByID(ctx, c.ID); got.Status != s {
				t.Fatalf("%s of a %s cluster made it %s", name, s, got.Status)
			}
		}
	}
}

// TestPowerCluster_Authorization: like delete, the operations need the
// operator role on the cluster's project, and another project's cluster
// answers as a missing one, whatever its status.
func TestPowerCluster_Authorization(t *testing.T) {
	w := newWorld(t)
	c, _ := w.mustCluster(t, w.operator, "alpha", "orders")
	w.setStatus(t, c.ID, dbplane.ClusterRunning)
	tests := []struct {
		name string
		p    *dbplane.Principal
		want dbplane.Kind
	}{
		{"GlobalAdmin", w.admin, 0},
		{"GlobalViewer", w.gviewer, dbplane.KindForbidden},
		{"Operator", w.operator, 0},
		{"Viewer", w.viewer, dbplane.KindForbidden},
		{"OtherProjectAdmin", w.betaAdm, dbplane.KindNotFound},
		{"Nobody", w.nobody, dbplane.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := as(tt.p)
			msg := notFoundMsg(tt.want, "cluster %d not found", c.ID)
			_, err := w.svc.StopCluster(ctx, c.ID, true)
			wantKind(t, err, tt.want, msg)
			_, err = w.svc.RestartCluster(ctx, c.ID, true)
			wantKind(t, err, tt.want, msg)
			// A running cluster cannot be started: an allowed caller
			// learns that, the others do not.
			_, err = w.svc.StartCluster(ctx, c.ID, true)
			if tt.want == 0 {
				wantKind(t, err, dbplane.KindConflict, "")
			} else {
				wantKind(t, err, tt.want, msg)
			}
		})
	}
	_, err := w.svc.StopCluster(as(w.operator), 999, false)
	wantKind(t, err, dbplane.KindNotFound, "cluster 999 not found")
}
