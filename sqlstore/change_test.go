package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
)

func passwordPlan() dbplane.TaskPlan {
	return dbplane.TaskPlan{Name: "change password", Kind: dbplane.TaskKindClusterPassword, ProhibitRollback: true,
		Steps: []dbplane.PlanStep{{Key: "set", Name: "set", Handler: "test.noop"}}}
}

// A password change keeps the new password as the task's secret, encrypted
// and apart from the cluster's, until it is committed; a refused start
// keeps nothing.
func TestStartPasswordChange(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		c := mustCreateCluster(t, db, newCluster("billing"))
		mustExec(t, db, `UPDATE clusters SET status = 'running' WHERE id = ?`, c.ID)
		refuse := []dbplane.ClusterStatus{dbplane.ClusterUpdating}
		task, err := db.StartPasswordChange(ctx, c.ID, dbplane.ClusterUpdating, refuse, "N3w-Secret", passwordPlan())
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := db.FindClusterByID(ctx, c.ID); got.Status != dbplane.ClusterUpdating {
			t.Fatalf("Status=%q, want updating", got.Status)
		}
		if n := mustQueryInt(t, db, `SELECT COUNT(*) FROM task_secrets WHERE task_id = ? AND key_id <> ''`, task.ID); n != 1 {
			t.Fatalf("%d sealed task secrets, want 1", n)
		}
		if pw, err := db.TaskPassword(ctx, task.ID); err != nil || pw != "N3w-Secret" {
			t.Fatalf("TaskPassword = %q, %v", pw, err)
		}
		if pw, _ := db.ClusterPassword(ctx, c.ID); pw != "pw" {
			t.Fatalf("the cluster's password changed to %q before the commit", pw)
		}
		if _, err := db.StartPasswordChange(ctx, c.ID, dbplane.ClusterUpdating, refuse, "Other-Secret1", passwordPlan()); dbplane.ErrorKind(err) != dbplane.KindConflict {
			t.Fatalf("second change while updating: %v, want a conflict", err)
		}
		if n := mustQueryInt(t, db, `SELECT COUNT(*) FROM task_secrets`); n != 1 {
			t.Fatalf("%d task secrets after a refused change, want 1", n)
		}
		for range 2 { // the second commit finds nothing left to do
			if err := db.CommitTaskPassword(ctx, task.ID); err != nil {
				t.Fatal(err)
			}
		}
		if pw, _ := db.ClusterPassword(ctx, c.ID); pw != "N3w-Secret" {
			t.Fatalf("ClusterPassword = %q after the commit", pw)
		}
		if _, err := db.TaskPassword(ctx, task.ID); dbplane.ErrorKind(err) != dbplane.KindNotFound {
			t.Fatalf("TaskPassword after the commit: %v, want not found", err)
		}
	})
}

func TestSetClusterParameters(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		c := newCluster("params")
		c.Spec.Parameters = map[string]string{"max_connections": "100", "wait_timeout": "60"}
		mustCreateCluster(t, db, c)
		if err := db.SetClusterParameters(ctx, c.ID, map[string]string{"max_connections": "200", "wait_timeout": "", "sql_mode": "ANSI"}); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindClusterByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"max_connections": "200", "sql_mode": "ANSI"}
		if len(got.Spec.Parameters) != len(want) || got.Spec.Parameters["max_connections"] != "200" || got.Spec.Parameters["sql_mode"] != "ANSI" {
			t.Fatalf("Parameters = %v, want %v", got.Spec.Parameters, want)
		}
		if got.Spec.Labels["team"] != "core" {
			t.Fatalf("the rest of the spec changed: %+v", got.Spec)
		}
		err = db.SetClusterParameters(ctx, 9999, want)
		if dbplane.ErrorKind(err) != dbplane.KindNotFound || !strings.Contains(err.Error(), "9999") {
			t.Fatalf("missing cluster: %v", err)
		}
	})
}
