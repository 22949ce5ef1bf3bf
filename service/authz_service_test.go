package service_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
)

// TestClusters_Authorization: who may see and change a cluster of project
// alpha. Callers without a role in alpha get exactly the answer a missing
// cluster gets.
func TestClusters_Authorization(t *testing.T) {
	w := newWorld(t)
	c, task := w.mustCluster(t, w.operator, "alpha", "orders")
	if c.ProjectID != w.alpha.ID || c.Project != "alpha" || c.Spec.Project != "alpha" {
		t.Fatalf("cluster in project %d %q (spec %q), want alpha", c.ProjectID, c.Project, c.Spec.Project)
	}
	if task.ProjectID != w.alpha.ID {
		t.Fatalf("task in project %d, want alpha's %d", task.ProjectID, w.alpha.ID)
	}
	const missing = 999
	tests := []struct {
		name      string
		p         *dbplane.Principal
		read, del dbplane.Kind
	}{
		{"GlobalAdmin", w.admin, 0, 0},
		{"GlobalViewer", w.gviewer, 0, dbplane.KindForbidden},
		{"Operator", w.operator, 0, 0},
		{"Viewer", w.viewer, 0, dbplane.KindForbidden},
		{"OtherProjectAdmin", w.betaAdm, dbplane.KindNotFound, dbplane.KindNotFound},
		{"Nobody", w.nobody, dbplane.KindNotFound, dbplane.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := as(tt.p)
			_, err := w.svc.FindClusterByID(ctx, c.ID)
			wantKind(t, err, tt.read, notFoundMsg(tt.read, "cluster %d not found", c.ID))
			_, err = w.svc.DeleteCluster(ctx, c.ID, true) // a dry run changes nothing
			wantKind(t, err, tt.del, notFoundMsg(tt.del, "cluster %d not found", c.ID))
			_, err = w.svc.FindTaskByID(ctx, task.ID)
			wantKind(t, err, tt.read, notFoundMsg(tt.read, "task %d not found", task.ID))
			_, err = w.svc.SubtaskLog(ctx, task.ID, task.Subtasks[0].ID)
			wantKind(t, err, tt.read, notFoundMsg(tt.read, "task %d not found", task.ID))
			// The task is RUNNING: an allowed retry is refused by the
			// store, after authorization.
			_, err = w.svc.RetryTask(ctx, task.ID)
			if want := tt.del; want == 0 {
				wantKind(t, err, dbplane.KindConflict, "")
			} else {
				wantKind(t, err, want, notFoundMsg(want, "task %d not found", task.ID))
			}
			_, err = w.svc.CancelSubtask(ctx, task.ID, task.Subtasks[0].ID)
			if tt.del != 0 {
				wantKind(t, err, tt.del, notFoundMsg(tt.del, "task %d not found", task.ID))
			}
			// What a missing cluster answers, for comparison.
			_, err = w.svc.FindClusterByID(ctx, missing)
			wantKind(t, err, dbplane.KindNotFound, fmt.Sprintf("cluster %d not found", missing))
			_, err = w.svc.FindTaskByID(ctx, missing)
			wantKind(t, err, dbplane.KindNotFound, fmt.Sprintf("task %d not found", missing))

			cs, total, err := w.svc.FindClusters(ctx, dbplane.ClusterFilter{})
			wantSeen := 1
			if tt.read != 0 {
				wantSeen = 0
			}
			if err != nil || total != wantSeen || len(cs) != wantSeen {
				t.Fatalf("FindClusters: %d of %d, %v; want %d", len(cs), total, err, wantSeen)
			}
			ts, total, err := w.svc.FindTasks(ctx, dbplane.TaskFilter{})
			if err != nil || total != wantSeen || len(ts) != wantSeen {
				t.Fatalf("FindTasks: %d of %d, %v; want %d", len(ts), total, err, wantSeen)
			}
		})
	}
}

func notFoundMsg(k dbplane.Kind, format string, args ...any) string {
	if k != dbplane.KindNotFound {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

// TestClusters_Unauthenticated: without a principal every call is refused,
// before validation or lookups tell anything.
func TestClusters_Unauthenticated(t *testing.T) {
	w := newWorld(t)
	c, task := w.mustCluster(t, w.operator, "alpha", "orders")
	ctx := context.Background()
	calls := map[string]func() error{
		"CreateCluster":   func() error { _, _, err := w.svc.CreateCluster(ctx, dbplane.ClusterSpec{}, true); return err },
		"FindClusterByID": func() error { _, err := w.svc.FindClusterByID(ctx, c.ID); return err },
		"FindClusters":    func() error { _, _, err := w.svc.FindClusters(ctx, dbplane.ClusterFilter{}); return err },
		"DeleteCluster":   func() error { _, err := w.svc.DeleteCluster(ctx, c.ID, false); return err },
		"FindTaskByID":    func() error { _, err := w.svc.FindTaskByID(ctx, task.ID); return err },
		"FindTasks":       func() error { _, _, err := w.svc.FindTasks(ctx, dbplane.TaskFilter{}); return err },
		"RetryTask":       func() error { _, err := w.svc.RetryTask(ctx, task.ID); return err },
		"RollbackTask":    func() error { _, err := w.svc.RollbackTask(ctx, task.ID); return err },
		"RetrySubtask":    func() error { _, err := w.svc.RetrySubtask(ctx, task.ID, 1); return err },
		"SkipSubtask":     func() error { _, err := w.svc.SkipSubtask(ctx, task.ID, 1); return err },
		"CancelSubtask":   func() error { _, err := w.svc.CancelSubtask(ctx, task.ID, 1); return err },
		"SubtaskLog":      func() error { _, err := w.svc.SubtaskLog(ctx, task.ID, 1); return err },
		"WatchTask":       func() error { _, err := w.svc.WatchTask(ctx, task.ID, 0); return err },
		"FindHosts":       func() error { _, _, err := w.svc.FindHosts(ctx, dbplane.HostFilter{}); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) { wantKind(t, call(), dbplane.KindUnauthorized, "authentication required") })
	}
}

// TestCreateCluster_Project: the project a cluster goes to, and who may put
// it there.
func TestCreateCluster_Project(t *testing.T) {
	w := newWorld(t)
	standalone := func(name, project string) dbplane.ClusterSpec {
		s := spec(name, 1)
		s.Topology, s.ReplicationMode, s.Project = dbplane.TopologyStandalone, "", project
		return s
	}

	t.Run("Default", func(t *testing.T) {
		c, _, err := w.svc.CreateCluster(as(w.admin), standalone("plain", ""), false)
		if err != nil {
			t.Fatal(err)
		}
		if c.Project != dbplane.DefaultProject || c.ProjectID == 0 {
			t.Fatalf("cluster in %d %q, want the default project", c.ProjectID, c.Project)
		}
	})
	t.Run("ErrUnknownProject", func(t *testing.T) {
		_, _, err := w.svc.CreateCluster(as(w.admin), standalone("lost", "gamma"), true)
		wantKind(t, err, dbplane.KindNotFound, `project "gamma" not found`)
		wantField(t, err, "project")
	})
	t.Run("ErrHiddenProject", func(t *testing.T) {
		// beta exists, but the operator of alpha cannot see it: the same
		// answer as a missing project.
		_, _, err := w.svc.CreateCluster(as(w.operator), standalone("sneaky", "beta"), true)
		wantKind(t, err, dbplane.KindNotFound, `project "beta" not found`)
		wantField(t, err, "project")
		_, _, err = w.svc.CreateCluster(as(w.operator), standalone("sneaky", ""), true)
		wantKind(t, err, dbplane.KindNotFound, `project "default" not found`)
	})
	t.Run("ErrViewer", func(t *testing.T) {
		_, _, err := w.svc.CreateCluster(as(w.viewer), standalone("peek", "alpha"), true)
		wantKind(t, err, dbplane.KindForbidden, "")
	})
	t.Run("ErrBadName", func(t *testing.T) {
		s := standalone("x", "Not_A_Project")
		_, _, err := w.svc.CreateCluster(as(w.admin), s, true)
		wantKind(t, err, dbplane.KindInvalid, "")
		wantField(t, err, "project")
		wantField(t, err, "name") // every bad field at once
	})
	t.Run("Audit", func(t *testing.T) {
		e := &dbplane.AuditEvent{}
		c, _, err := w.svc.CreateCluster(dbplane.WithAudit(as(w.operator), e), standalone("audited", "alpha"), false)
		if err != nil {
			t.Fatal(err)
		}
		if e.Target != fmt.Sprintf("cluster/%d", c.ID) || e.ProjectID != w.alpha.ID {
			t.Fatalf("audit target %q project %d, want cluster/%d in alpha", e.Target, e.ProjectID, c.ID)
		}
		e = &dbplane.AuditEvent{}
		task, err := w.svc.DeleteCluster(dbplane.WithAudit(as(w.operator), e), c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if e.Target != fmt.Sprintf("cluster/%d", c.ID) || e.ProjectID != w.alpha.ID || task.ProjectID != w.alpha.ID {
			t.Fatalf("audit target %q project %d, task project %d", e.Target, e.ProjectID, task.ProjectID)
		}
		e = &dbplane.AuditEvent{}
		_, err = w.svc.CancelSubtask(dbplane.WithAudit(as(w.viewer), e), task.ID, task.Subtasks[0].ID)
		wantKind(t, err, dbplane.KindForbidden, "")
		if e.Target != fmt.Sprintf("subtask/%d", task.Subtasks[0].ID) && e.Target != fmt.Sprintf("task/%d", task.ID) {
			t.Fatalf("a refused call's audit target %q", e.Target)
		}
	})
}

// TestCreateCluster_Quota: a full project refuses clusters, dry runs
// included, with the store's message naming the quota.
func TestCreateCluster_Quota(t *testing.T) {
	w := newWorld(t)
	quotas := []struct {
		field string
		quota dbplane.Quota
	}{
		{"quota.clusters", dbplane.Quota{Clusters: 1}},
		{"quota.nodes", dbplane.Quota{Nodes: 2}},
		{"quota.storage_gb", dbplane.Quota{StorageGB: 30}},
	}
	for _, q := range quotas {
		t.Run(q.field, func(t *testing.T) {
			suffix := q.field[len("quota.") : len("quota.")+5]
			p := w.mustProject(t, "q-"+suffix)
			p.Quota = q.quota
			if err := w.id.UpdateProject(system(), p); err != nil {
				t.Fatal(err)
			}
			first := spec("first-"+suffix, 1) // 1 node of 20 GB
			first.Topology, first.ReplicationMode, first.Project = dbplane.TopologyStandalone, "", p.Name
			if _, _, err := w.svc.CreateCluster(as(w.admin), first, false); err != nil {
				t.Fatal(err)
			}
			second := spec("second-"+suffix, 2) // 2 nodes of 20 GB
			second.Project = p.Name
			_, _, dryErr := w.svc.CreateCluster(as(w.admin), second, true)
			wantKind(t, dryErr, dbplane.KindQuotaExceeded, "")
			wantField(t, dryErr, q.field)
			_, _, err := w.svc.CreateCluster(as(w.admin), second, false)
			wantKind(t, err, dbplane.KindQuotaExceeded, dbplane.ErrorMessage(dryErr))
			wantField(t, err, q.field)
			if _, total, _ := w.svc.FindClusters(as(w.admin), dbplane.ClusterFilter{ProjectID: &p.ID}); total != 1 {
				t.Fatalf("%d clusters in %s, want 1", total, p.Name)
			}
		})
	}
}

// TestHosts_Authorization: hosts and join tokens belong to the fleet: a
// global role is needed, and a refusal is forbidden, not hidden.
func TestHosts_Authorization(t *testing.T) {
	w := newWorld(t)
	hosts := &service.Hosts{Store: w.db}
	for _, tt := range []struct {
		name         string
		p            *dbplane.Principal
		read, manage dbplane.Kind
	}{
		{"GlobalAdmin", w.admin, 0, 0},
		{"GlobalViewer", w.gviewer, 0, dbplane.KindForbidden},
		{"ProjectAdmin", w.betaAdm, dbplane.KindForbidden, dbplane.KindForbidden},
		{"Nobody", w.nobody, dbplane.KindForbidden, dbplane.KindForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := as(tt.p)
			_, _, err := hosts.FindHosts(ctx, dbplane.HostFilter{})
			wantKind(t, err, tt.read, "")
			_, _, err = w.svc.FindHosts(ctx, dbplane.HostFilter{})
			wantKind(t, err, tt.read, "")
			_, err = hosts.FindHostByID(ctx, 1)
			wantKind(t, err, tt.read, "")
			_, err = hosts.CreateJoinToken(ctx, time.Minute)
			wantKind(t, err, tt.manage, "")
			_, err = hosts.DrainHost(ctx, 1, false)
			wantKind(t, err, tt.manage, "")
			if tt.manage != 0 {
				wantKind(t, hosts.DeleteHost(ctx, 1), tt.manage, "")
			}
		})
	}
	e := &dbplane.AuditEvent{}
	tok, err := hosts.CreateJoinToken(dbplane.WithAudit(system(), e), 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.Target != fmt.Sprintf("join-token/%d", tok.ID) || tok.Creator != service.SystemUser {
		t.Fatalf("audit target %q, creator %q", e.Target, tok.Creator)
	}
}
