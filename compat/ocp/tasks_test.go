package ocp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// dagTask is a failed create task: a → b, a → c, with b failed.
func dagTask(id int64) *dbplane.Task {
	started := t0.Add(time.Second)
	return &dbplane.Task{ID: id, Name: "create cluster terran", Kind: dbplane.TaskKindClusterCreate, ClusterID: 19,
		Status: dbplane.TaskFailed, Operation: dbplane.OpExecute, Creator: "admin",
		Context:   map[string]string{"cluster_name": "terran", "engine": "mysql"},
		CreatedAt: t0, StartedAt: &started,
		Subtasks: []*dbplane.Subtask{
			{ID: 100, TaskID: id, Name: "install packages", Handler: "mysql.install", Status: dbplane.SubtaskSuccessful,
				Operation: dbplane.OpExecute, RunCount: 1, Downstreams: []int64{101, 102}, Params: json.RawMessage(`{"node":0}`),
				CreatedAt: t0, StartedAt: &started, FinishedAt: &started},
			{ID: 101, TaskID: id, Name: "bootstrap", Handler: "mysql.bootstrap", Status: dbplane.SubtaskFailed,
				Operation: dbplane.OpRetry, RunCount: 3, Upstreams: []int64{100}, Error: "boom", CreatedAt: t0},
			{ID: 102, TaskID: id, Name: "join", Handler: "mysql.join", Status: dbplane.SubtaskPending,
				Operation: dbplane.OpExecute, Upstreams: []int64{100}, CreatedAt: t0},
		}}
}

// taskView is what a client reads of an OCP task instance.
type taskView struct {
	ID               int64
	Type             string
	Operation        string
	Context          string
	CreateTime       string
	StartTime        *string
	FinishTime       *string
	ProhibitRollback *bool
	Creator          struct{ Name string }
	Cluster          struct {
		ID          int64
		Name        string
		ObClusterID int64 `json:"obClusterId"`
	}
	Subtasks []struct {
		ID                     int64
		Status, Operation      string
		RunTime                int
		Upstreams, Downstreams []int64
		Context                string
		CreateTime             string
	}
}

func TestTaskGetIsTheDAGInOCPShape(t *testing.T) {
	f := newFixture(t)
	f.tasks.byID = func(_ context.Context, id int64) (*dbplane.Task, error) { return dagTask(id), nil }
	a := f.get(t, "/api/v2/tasks/instances/42")
	if a.HTTPStatus != http.StatusOK {
		t.Fatalf("status %d: %+v", a.HTTPStatus, a.Error)
	}
	ti := decodeData[taskView](t, a)
	if ti.ID != 42 || ti.Type != "MANUAL" || ti.Operation != "EXECUTE" || ti.ProhibitRollback == nil || ti.Creator.Name != "admin" {
		t.Fatalf("task %+v", ti)
	}
	if ti.Context != "Context(parallelIdx=-1, stringMap={cluster_name=terran, engine=mysql}, listMap={})" {
		t.Fatalf("context %q", ti.Context)
	}
	if ti.CreateTime != "2026-11-22T10:00:00.000+00:00" || ti.StartTime == nil || ti.FinishTime != nil {
		t.Fatalf("times %q %v %v", ti.CreateTime, ti.StartTime, ti.FinishTime)
	}
	if ti.Cluster.ID != 19 || ti.Cluster.Name != "terran" || ti.Cluster.ObClusterID != 19 {
		t.Fatalf("cluster %+v", ti.Cluster)
	}
	if len(ti.Subtasks) != 3 {
		t.Fatalf("%d subtasks", len(ti.Subtasks))
	}
	st := ti.Subtasks[1]
	if st.ID != 101 || st.Status != "FAILED" || st.Operation != "RETRY" || st.RunTime != 3 ||
		!slices.Equal(st.Upstreams, []int64{100}) || st.Downstreams == nil || len(st.Downstreams) != 0 {
		t.Fatalf("subtask %+v", st)
	}
	if !slices.Equal(ti.Subtasks[0].Downstreams, []int64{101, 102}) || ti.Subtasks[0].Context != `{"node":0}` {
		t.Fatalf("subtask %+v", ti.Subtasks[0])
	}
	if _, ok := a.Raw["error"]; ok {
		t.Fatal("a success carries an error field")
	}
}

// manyTasks returns n tasks, ids 1..n, named so that name order is the
// reverse of id order, every third one FAILED.
func manyTasks(n int) []*dbplane.Task {
	var ts []*dbplane.Task
	for i := 1; i <= n; i++ {
		st := dbplane.TaskSuccessful
		if i%3 == 0 {
			st = dbplane.TaskFailed
		}
		ts = append(ts, &dbplane.Task{ID: int64(i), Name: fmt.Sprintf("task-%05d", 100000-i), Status: st,
			Operation: dbplane.OpExecute, CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
	}
	return ts
}

// pagedTasks serves tasks as the native service does: a page at a time.
func pagedTasks(all []*dbplane.Task) func(context.Context, dbplane.TaskFilter) ([]*dbplane.Task, int, error) {
	return func(_ context.Context, f dbplane.TaskFilter) ([]*dbplane.Task, int, error) {
		var ts []*dbplane.Task
		for _, t := range all {
			if f.Status == nil || t.Status == *f.Status {
				ts = append(ts, t)
			}
		}
		total := len(ts)
		from := min(f.Offset, total)
		to := min(from+f.Limit, total)
		if f.Limit == 0 || f.Limit > dbplane.MaxPageSize {
			panic("unbounded page")
		}
		return ts[from:to], total, nil
	}
}

type taskPage struct {
	Contents []struct {
		ID     int64
		Name   string
		Status string
	}
	Page struct {
		TotalElements, TotalPages, Number, Size int
	}
}

func ids(p taskPage) []int64 {
	var out []int64
	for _, c := range p.Contents {
		out = append(out, c.ID)
	}
	return out
}

func TestTaskListPaginatesAndSorts(t *testing.T) {
	f := newFixture(t)
	f.tasks.list = pagedTasks(manyTasks(2500))

	p := decodeData[taskPage](t, f.get(t, "/api/v2/tasks/instances"))
	if p.Page.TotalElements != 2500 || p.Page.TotalPages != 250 || p.Page.Number != 1 || p.Page.Size != 10 || len(p.Contents) != 10 || p.Contents[0].ID != 1 {
		t.Fatalf("default page %+v ids %v", p.Page, ids(p))
	}
	p = decodeData[taskPage](t, f.get(t, "/api/v2/tasks/instances?page=2&size=2000"))
	if p.Page.Number != 2 || p.Page.Size != 2000 || p.Page.TotalPages != 2 || len(p.Contents) != 500 || p.Contents[0].ID != 2001 {
		t.Fatalf("page 2 of 2000: %+v, %d contents", p.Page, len(p.Contents))
	}
	p = decodeData[taskPage](t, f.get(t, "/api/v2/tasks/instances?page=9999"))
	if len(p.Contents) != 0 || p.Contents == nil || p.Page.TotalElements != 2500 {
		t.Fatalf("page past the end: %+v", p)
	}
	p = decodeData[taskPage](t, f.get(t, "/api/v2/tasks/instances?sort=id,desc&size=3"))
	if !slices.Equal(ids(p), []int64{2500, 2499, 2498}) {
		t.Fatalf("sort=id,desc: %v", ids(p))
	}
	p = decodeData[taskPage](t, f.get(t, "/api/v2/tasks/instances?sort=name&size=2"))
	if !slices.Equal(ids(p), []int64{2500, 2499}) {
		t.Fatalf("sort=name: %v", ids(p))
	}
	p = decodeData[taskPage](t, f.get(t, "/api/v2/tasks/instances?sort=status,asc&sort=createTime,desc&size=2"))
	if !slices.Equal(ids(p), []int64{2499, 2496}) || p.Contents[0].Status != "FAILED" {
		t.Fatalf("sort=status,asc&sort=createTime,desc: %v", ids(p))
	}
	p = decodeData[taskPage](t, f.get(t, "/api/v2/tasks/instances?status=FAILED&size=2000"))
	if p.Page.TotalElements != 833 {
		t.Fatalf("status=FAILED: %d", p.Page.TotalElements)
	}
	p = decodeData[taskPage](t, f.get(t, "/api/v2/tasks/instances?status=FAILED,SUCCESSFUL&name=task-99"))
	if p.Page.TotalElements != 2500 {
		// the fake ignores name; the door passes it on to the service
		t.Fatalf("status=FAILED,SUCCESSFUL: %d", p.Page.TotalElements)
	}
}

func TestTaskListRefusesBadPagesAndSorts(t *testing.T) {
	f := newFixture(t)
	f.tasks.list = pagedTasks(manyTasks(3))
	for query, field := range map[string]string{
		"sort=bogus,asc":      "sort",
		"sort=id,sideways":    "sort",
		"sort=password":       "sort",
		"size=2001":           "size",
		"size=0":              "size",
		"page=0":              "page",
		"page=x":              "page",
		"status=DONE":         "status",
		"clusterId=-1":        "clusterId",
		"type=MANUAL,NIGHTLY": "type",
		"hostId=3":            "hostId",
	} {
		a := f.get(t, "/api/v2/tasks/instances?"+query)
		fields := wantError(t, a, http.StatusBadRequest, 10001)
		if !slices.Equal(fields, []string{field}) {
			t.Errorf("%s: sub errors on %v; want %s", query, fields, field)
		}
		if a.Error.SubErrors[0].RejectedValue == nil || a.Error.SubErrors[0].Object == "" {
			t.Errorf("%s: sub error %+v", query, a.Error.SubErrors[0])
		}
	}
}

func TestTaskOperationsMapStatesToOCPCodes(t *testing.T) {
	f := newFixture(t)
	f.tasks.byID = func(_ context.Context, id int64) (*dbplane.Task, error) {
		if id == 404 {
			return nil, dbplane.Errorf(dbplane.KindNotFound, "task 404 not found")
		}
		return dagTask(id), nil
	}
	f.tasks.retry = func(_ context.Context, id int64) (*dbplane.Task, error) {
		if id == 1 {
			return nil, dbplane.Errorf(dbplane.KindConflict, "task 1 is RUNNING, not FAILED")
		}
		t := dagTask(id)
		t.Status, t.Operation, t.Subtasks = dbplane.TaskRunning, dbplane.OpRetry, nil
		return t, nil
	}
	f.tasks.rollback = func(_ context.Context, id int64) (*dbplane.Task, error) {
		return nil, dbplane.Errorf(dbplane.KindConflict, "task %d prohibits rollback", id)
	}
	f.tasks.skip = func(_ context.Context, id, sid int64) (*dbplane.Subtask, error) {
		return &dbplane.Subtask{ID: sid, Status: dbplane.SubtaskSuccessful, Operation: dbplane.OpSkip}, nil
	}
	f.tasks.log = func(_ context.Context, id, sid int64) ([]dbplane.LogLine, error) {
		return []dbplane.LogLine{{At: t0, Message: "installing mariadb-server"}}, nil
	}

	wantError(t, f.get(t, "/api/v2/tasks/instances/404"), http.StatusNotFound, 20000)
	wantError(t, f.post(t, "/api/v2/tasks/instances/1/retry", nil), http.StatusConflict, 20003)
	wantError(t, f.post(t, "/api/v2/tasks/instances/2/rollback", nil), http.StatusConflict, 20004)
	wantError(t, f.get(t, "/api/v2/tasks/instances/abc"), http.StatusBadRequest, 10001)

	a := f.post(t, "/api/v2/tasks/instances/5/retry", nil)
	ti := decodeData[struct {
		ID        int64
		Operation string
		Subtasks  []struct{ ID int64 }
	}](t, a)
	if ti.ID != 5 || ti.Operation != "RETRY" || len(ti.Subtasks) != 3 {
		t.Fatalf("retry answered %+v", ti)
	}
	a = f.post(t, "/api/v2/tasks/instances/5/subtasks/101/skip", nil)
	if _, ok := a.Raw["data"]; ok || a.HTTPStatus != http.StatusOK {
		t.Fatalf("skip answered %d with data %s", a.HTTPStatus, a.Data)
	}
	lg := decodeData[struct{ Log string }](t, f.get(t, "/api/v2/tasks/instances/5/subtasks/101/log"))
	if !strings.Contains(lg.Log, "installing mariadb-server") {
		t.Fatalf("log %q", lg.Log)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	var actions []string
	for _, e := range f.audit {
		if e.FrontDoor != "ocp" || e.User != testUser {
			t.Errorf("audit event %+v", e)
		}
		actions = append(actions, e.Action+":"+e.Result)
	}
	want := []string{"task.retry:conflict", "task.rollback:conflict", "task.retry:success", "subtask.skip:success"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audited %v; want %v", actions, want)
	}
}

func TestUnknownRouteAnswersTheEnvelope(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.get(t, "/api/v2/nothing/here"), http.StatusNotFound, 10002)
}

func TestPanicAnswersTheEnvelope(t *testing.T) {
	f := newFixture(t)
	// f.tasks.log is unset: calling it panics.
	a := f.get(t, "/api/v2/tasks/instances/1/subtasks/2/log")
	wantError(t, a, http.StatusInternalServerError, 10010)
	if a.Error.Message != "internal error" {
		t.Fatalf("a panic answered %q", a.Error.Message)
	}
}

func TestSubtaskRetryAnswersTheSubtaskAndCancelNoData(t *testing.T) {
	f := newFixture(t)
	var got []string
	f.tasks.retrySub = func(_ context.Context, id, sid int64) (*dbplane.Subtask, error) {
		got = append(got, fmt.Sprintf("retry %d/%d", id, sid))
		return &dbplane.Subtask{ID: sid, TaskID: id, Name: "bootstrap", Status: dbplane.SubtaskReady, Operation: dbplane.OpRetry,
			Upstreams: []int64{100}, CreatedAt: t0}, nil
	}
	f.tasks.cancel = func(_ context.Context, id, sid int64) (*dbplane.Subtask, error) {
		got = append(got, fmt.Sprintf("cancel %d/%d", id, sid))
		if sid == 102 {
			return nil, dbplane.Errorf(dbplane.KindConflict, "subtask 102 is PENDING, not RUNNING")
		}
		return &dbplane.Subtask{ID: sid, Status: dbplane.SubtaskCanceling}, nil
	}
	st := decodeData[struct {
		ID        int64
		Status    string
		Operation string
		Upstreams []int64
	}](t, f.post(t, "/api/v2/tasks/instances/5/subtasks/101/retry", nil))
	if st.ID != 101 || st.Status != "READY" || st.Operation != "RETRY" || !slices.Equal(st.Upstreams, []int64{100}) {
		t.Fatalf("subtask retry answered %+v", st)
	}
	a := f.post(t, "/api/v2/tasks/instances/5/subtasks/101/cancel", nil)
	if _, ok := a.Raw["data"]; ok || a.HTTPStatus != http.StatusOK {
		t.Fatalf("cancel answered %d with data %s", a.HTTPStatus, a.Data)
	}
	wantError(t, f.post(t, "/api/v2/tasks/instances/5/subtasks/102/cancel", nil), http.StatusConflict, 20003)
	wantError(t, f.post(t, "/api/v2/tasks/instances/5/subtasks/0/cancel", nil), http.StatusBadRequest, 10001)
	if want := []string{"retry 5/101", "cancel 5/101", "cancel 5/102"}; !slices.Equal(got, want) {
		t.Fatalf("calls %v; want %v", got, want)
	}
}
