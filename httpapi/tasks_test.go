package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/google/go-cmp/cmp"
)

func TestFindTasks(t *testing.T) {
	e := newEnv(t)
	var got dbplane.TaskFilter
	e.tasks.FindTasksFn = func(ctx context.Context, f dbplane.TaskFilter) ([]*dbplane.Task, int, error) {
		got = f
		task := sampleTask(9)
		task.Subtasks = nil
		return []*dbplane.Task{task}, 7, nil
	}
	t.Run("FiltersRoundTrip", func(t *testing.T) {
		cid, status, kind, name := int64(5), dbplane.TaskFailed, dbplane.TaskKindClusterCreate, "orders"
		want := dbplane.TaskFilter{ClusterID: &cid, Status: &status, Kind: &kind, Name: &name, Offset: 1, Limit: 2}
		tasks, total, err := e.client.FindTasks(t.Context(), want)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("filter (-sent +received):\n%s", diff)
		}
		if total != 7 || len(tasks) != 1 || tasks[0].ID != 9 {
			t.Errorf("got %d tasks, total %d; want 1, 7", len(tasks), total)
		}
	})
	t.Run("ErrQuery", func(t *testing.T) {
		for query, field := range map[string]string{
			"cluster_id=0":  "cluster_id",
			"cluster_id=x":  "cluster_id",
			"status=DONE":   "status",
			"limit=1O":      "limit",
			"subtasks=true": "subtasks",
		} {
			resp, data := e.request(t, "GET", "/v1/tasks?"+query, "")
			ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
			if len(ae.Error.Details) != 1 || ae.Error.Details[0].Field != field {
				t.Errorf("%s: details %+v, want %s", query, ae.Error.Details, field)
			}
		}
	})
	t.Run("ErrorsListedTogether", func(t *testing.T) {
		resp, data := e.request(t, "GET", "/v1/tasks?limit=x&status=DONE", "")
		ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
		want := []dbplane.FieldError{
			{Field: "limit", Message: "must be a non-negative integer"},
			{Field: "status", Message: "must be one of RUNNING, FAILED, SUCCESSFUL"},
		}
		if diff := cmp.Diff(want, ae.Error.Details); diff != "" {
			t.Errorf("details (-want +got):\n%s", diff)
		}
	})
}

func TestFindTaskByID(t *testing.T) {
	e := newEnv(t)
	e.tasks.FindTaskByIDFn = func(ctx context.Context, id int64) (*dbplane.Task, error) {
		return sampleTask(id), nil
	}
	task, err := e.client.FindTaskByID(t.Context(), 9)
	if err != nil {
		t.Fatal(err)
	}
	// The whole DAG survives: ids, edges, attempts, run counts, timestamps.
	if diff := cmp.Diff(sampleTask(9), task); diff != "" {
		t.Errorf("task (-want +got):\n%s", diff)
	}
}

func TestTaskOperations(t *testing.T) {
	e := newEnv(t)
	var calls []string
	taskOp := func(name string) func(context.Context, int64) (*dbplane.Task, error) {
		return func(ctx context.Context, id int64) (*dbplane.Task, error) {
			calls = append(calls, name)
			task := sampleTask(id)
			task.Operation = dbplane.OpRetry
			return task, nil
		}
	}
	e.tasks.RetryTaskFn = taskOp("retry")
	e.tasks.RollbackTaskFn = taskOp("rollback")
	subOp := func(name string, st dbplane.SubtaskStatus) func(context.Context, int64, int64) (*dbplane.Subtask, error) {
		return func(ctx context.Context, id, sid int64) (*dbplane.Subtask, error) {
			calls = append(calls, name)
			return &dbplane.Subtask{ID: sid, TaskID: id, Name: "install", Status: st, CreatedAt: t0}, nil
		}
	}
	e.tasks.RetrySubtaskFn = subOp("retry-subtask", dbplane.SubtaskReady)
	e.tasks.SkipSubtaskFn = subOp("skip", dbplane.SubtaskSuccessful)
	e.tasks.CancelSubtaskFn = subOp("cancel", dbplane.SubtaskCanceling)

	ctx := t.Context()
	for _, tc := range []struct {
		name string
		call func() (*dbplane.Task, error)
	}{
		{"retry", func() (*dbplane.Task, error) { return e.client.RetryTask(ctx, 9) }},
		{"rollback", func() (*dbplane.Task, error) { return e.client.RollbackTask(ctx, 9) }},
	} {
		task, err := tc.call()
		if err != nil || task.ID != 9 || task.Operation != dbplane.OpRetry {
			t.Errorf("%s = %+v, %v; want task 9", tc.name, task, err)
		}
	}
	for _, tc := range []struct {
		name string
		call func() (*dbplane.Subtask, error)
		want dbplane.SubtaskStatus
	}{
		{"retry-subtask", func() (*dbplane.Subtask, error) { return e.client.RetrySubtask(ctx, 9, 12) }, dbplane.SubtaskReady},
		{"skip", func() (*dbplane.Subtask, error) { return e.client.SkipSubtask(ctx, 9, 12) }, dbplane.SubtaskSuccessful},
		{"cancel", func() (*dbplane.Subtask, error) { return e.client.CancelSubtask(ctx, 9, 12) }, dbplane.SubtaskCanceling},
	} {
		st, err := tc.call()
		if err != nil || st.ID != 12 || st.TaskID != 9 || st.Status != tc.want {
			t.Errorf("%s = %+v, %v; want subtask 12 of task 9, %s", tc.name, st, err, tc.want)
		}
	}
	if diff := cmp.Diff([]string{"retry", "rollback", "retry-subtask", "skip", "cancel"}, calls); diff != "" {
		t.Errorf("service calls (-want +got):\n%s", diff)
	}

	t.Run("ErrConflict", func(t *testing.T) {
		e.tasks.RollbackTaskFn = func(context.Context, int64) (*dbplane.Task, error) {
			return nil, dbplane.Errorf(dbplane.KindConflict, "task 9 prohibits rollback")
		}
		_, err := e.client.RollbackTask(ctx, 9)
		if de := mustKind(t, err, dbplane.KindConflict); de.Message != "task 9 prohibits rollback" {
			t.Errorf("message = %q", de.Message)
		}
	})
	t.Run("ErrBadSubtaskID", func(t *testing.T) {
		resp, data := e.request(t, "POST", "/v1/tasks/9/subtasks/x/skip", "")
		ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
		if len(ae.Error.Details) != 1 || ae.Error.Details[0].Field != "subtask_id" {
			t.Errorf("details = %+v, want sid", ae.Error.Details)
		}
	})
}

func TestSubtaskLog(t *testing.T) {
	e := newEnv(t)
	want := []dbplane.LogLine{{At: t0, Message: "installing postgresql-15"}, {At: t0.Add(1e9), Message: "done"}}
	e.tasks.SubtaskLogFn = func(ctx context.Context, id, sid int64) ([]dbplane.LogLine, error) {
		if id != 9 || sid != 12 {
			return nil, dbplane.Errorf(dbplane.KindNotFound, "subtask %d of task %d not found", sid, id)
		}
		return want, nil
	}
	got, err := e.client.SubtaskLog(t.Context(), 9, 12)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	_, err = e.client.SubtaskLog(t.Context(), 9, 13)
	mustKind(t, err, dbplane.KindNotFound)
}
