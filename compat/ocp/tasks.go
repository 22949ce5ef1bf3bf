package ocp

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerTaskRoutes() {
	s.route("GET /api/v2/tasks/instances", "task.list", codesTask, s.handleTaskList)
	s.route("GET /api/v2/tasks/instances/{id}", "task.get", codesTask, s.handleTaskGet)
	s.route("POST /api/v2/tasks/instances/{id}/retry", "task.retry", codesTask,
		s.taskOp((dbplane.TaskService).RetryTask))
	s.route("POST /api/v2/tasks/instances/{id}/rollback", "task.rollback", codesTask,
		s.taskOp((dbplane.TaskService).RollbackTask))
	s.route("POST /api/v2/tasks/instances/{id}/subtasks/{subtaskId}/retry", "subtask.retry", codesTask,
		s.subtaskOp((dbplane.TaskService).RetrySubtask, true))
	s.route("POST /api/v2/tasks/instances/{id}/subtasks/{subtaskId}/skip", "subtask.skip", codesTask,
		s.subtaskOp((dbplane.TaskService).SkipSubtask, false))
	s.route("POST /api/v2/tasks/instances/{id}/subtasks/{subtaskId}/cancel", "subtask.cancel", codesTask,
		s.subtaskOp((dbplane.TaskService).CancelSubtask, false))
	s.route("GET /api/v2/tasks/instances/{id}/subtasks/{subtaskId}/log", "subtask.log", codesTask, s.handleSubtaskLog)
}

// taskType is the OCP type of every dbplane task: users start them.
const taskType = "MANUAL"

// taskInstance is OCP's TaskInstance. Subtasks are "subtasks" when a task
// is read, "tasks" in the answers of the calls that start one, as in OCP.
type taskInstance struct {
	ID               int64             `json:"id"`
	Name             string            `json:"name"`
	Status           string            `json:"status"`
	Type             string            `json:"type"`
	Operation        string            `json:"operation"`
	ProhibitRollback bool              `json:"prohibitRollback"`
	Creator          *creatorRef       `json:"creator"`
	Context          string            `json:"context"`
	CreateTime       string            `json:"createTime"`
	StartTime        *string           `json:"startTime"`
	FinishTime       *string           `json:"finishTime"`
	Cluster          *clusterRef       `json:"cluster,omitempty"`
	Subtasks         []subtaskInstance `json:"subtasks,omitempty"`
	Tasks            []subtaskInstance `json:"tasks,omitempty"`
}

// creatorRef names the user who started a task.
type creatorRef struct {
	Name string `json:"name"`
}

// clusterRef is the cluster a task changes.
type clusterRef struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	ObClusterID int64  `json:"obClusterId"`
	Type        string `json:"type,omitempty"`
}

// subtaskInstance is OCP's SubtaskInstance.
type subtaskInstance struct {
	ID               int64   `json:"id"`
	SeriesID         int64   `json:"seriesId"`
	Name             string  `json:"name"`
	Description      string  `json:"description"`
	ClassName        string  `json:"className"`
	Timeout          int64   `json:"timeout"`
	Status           string  `json:"status"`
	Operation        string  `json:"operation"`
	Executor         string  `json:"executor,omitempty"`
	RunTime          int     `json:"runTime"`
	Context          string  `json:"context"`
	CreateTime       string  `json:"createTime"`
	StartTime        *string `json:"startTime"`
	FinishTime       *string `json:"finishTime"`
	ParallelIdx      int     `json:"parallelIdx"`
	Upstreams        []int64 `json:"upstreams"`
	Downstreams      []int64 `json:"downstreams"`
	ProhibitRollback bool    `json:"prohibitRollback"`
	Error            string  `json:"error,omitempty"`
}

// subtasksAs says under which name a task's DAG goes.
type subtasksAs int

const (
	noSubtasks subtasksAs = iota
	asSubtasks
	asTasks
)

// toTaskInstance renders a native task in OCP's shape.
func toTaskInstance(t *dbplane.Task, dag subtasksAs) taskInstance {
	ti := taskInstance{
		ID:               t.ID,
		Name:             t.Name,
		Status:           string(t.Status),
		Type:             taskType,
		Operation:        string(t.Operation),
		ProhibitRollback: t.ProhibitRollback,
		Context:          contextString(t.Context),
		CreateTime:       formatTime(t.CreatedAt),
		StartTime:        optTime(t.StartedAt),
		FinishTime:       optTime(t.FinishedAt),
	}
	if t.Creator != "" {
		ti.Creator = &creatorRef{Name: t.Creator}
	}
	if t.ClusterID != 0 {
		ti.Cluster = &clusterRef{ID: t.ClusterID, Name: t.Context["cluster_name"], ObClusterID: t.ClusterID, Type: clusterTypePrimary}
	}
	if dag == noSubtasks {
		return ti
	}
	subs := make([]subtaskInstance, 0, len(t.Subtasks))
	for _, st := range t.Subtasks {
		subs = append(subs, toSubtaskInstance(st, t.ProhibitRollback))
	}
	if dag == asTasks {
		ti.Tasks = subs
	} else {
		ti.Subtasks = subs
	}
	return ti
}

// toSubtaskInstance renders a native subtask in OCP's shape. Its context
// is its handler's parameters, which never hold secrets.
func toSubtaskInstance(st *dbplane.Subtask, prohibitRollback bool) subtaskInstance {
	return subtaskInstance{
		ID:               st.ID,
		SeriesID:         st.ID,
		Name:             st.Name,
		Description:      cmp.Or(st.Description, st.Name),
		ClassName:        st.Handler,
		Timeout:          st.TimeoutSec,
		Status:           string(st.Status),
		Operation:        string(st.Operation),
		Executor:         st.Executor,
		RunTime:          st.RunCount,
		Context:          string(st.Params),
		CreateTime:       formatTime(st.CreatedAt),
		StartTime:        optTime(st.StartedAt),
		FinishTime:       optTime(st.FinishedAt),
		ParallelIdx:      -1,
		Upstreams:        nonNil(st.Upstreams),
		Downstreams:      nonNil(st.Downstreams),
		ProhibitRollback: prohibitRollback,
		Error:            st.Error,
	}
}

// contextString renders a task's context as OCP prints its Context:
// Context(parallelIdx=-1, stringMap={k=v, ...}, listMap={}).
func contextString(m map[string]string) string {
	var b strings.Builder
	b.WriteString("Context(parallelIdx=-1, stringMap={")
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + m[k])
	}
	b.WriteString("}, listMap={})")
	return b.String()
}

func formatTime(t time.Time) string { return t.Format(timeLayout) }

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Values the task list filters on.
var (
	taskStatuses = []string{string(dbplane.TaskRunning), string(dbplane.TaskFailed), string(dbplane.TaskSuccessful)}
	taskTypes    = []string{"MANUAL", "SYS_ONECE", "SCHEDULED", "SYS_SCHEDULED"}
)

// taskSorts are the sortable fields of the task list.
var taskSorts = map[string]comparator[*dbplane.Task]{
	"id":         func(a, b *dbplane.Task) int { return cmp.Compare(a.ID, b.ID) },
	"name":       func(a, b *dbplane.Task) int { return strings.Compare(a.Name, b.Name) },
	"status":     func(a, b *dbplane.Task) int { return strings.Compare(string(a.Status), string(b.Status)) },
	"createTime": func(a, b *dbplane.Task) int { return a.CreatedAt.Compare(b.CreatedAt) },
	"startTime":  func(a, b *dbplane.Task) int { return compareOptTimes(a.StartedAt, b.StartedAt) },
	"finishTime": func(a, b *dbplane.Task) int { return compareOptTimes(a.FinishedAt, b.FinishedAt) },
}

// handleTaskList handles GET /api/v2/tasks/instances.
func (s *Server) handleTaskList(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := parsePage(r, slices.Sorted(maps.Keys(taskSorts)))
	if err != nil {
		return nil, err
	}
	keep, f, err := taskFilter(r)
	if err != nil {
		return nil, err
	}
	tasks, err := collect(func(offset, limit int) ([]*dbplane.Task, int, error) {
		f.Offset, f.Limit = offset, limit
		return s.Tasks.FindTasks(r.Context(), f)
	})
	if err != nil {
		return nil, err
	}
	tasks = slices.DeleteFunc(tasks, func(t *dbplane.Task) bool { return !keep(t) })
	page := paginate(tasks, p, taskSorts)
	out := make([]taskInstance, 0, len(page.Contents.([]*dbplane.Task)))
	for _, t := range page.Contents.([]*dbplane.Task) {
		out = append(out, toTaskInstance(t, noSubtasks))
	}
	page.Contents = out
	return page, nil
}

// taskFilter reads the task list's filters: what the service filters on,
// and a predicate for what it does not.
func taskFilter(r *http.Request) (func(*dbplane.Task) bool, dbplane.TaskFilter, error) {
	var f dbplane.TaskFilter
	q := r.URL.Query()
	statuses, err := commaList(r, "status", taskStatuses)
	if err != nil {
		return nil, f, err
	}
	types, err := commaList(r, "type", taskTypes)
	if err != nil {
		return nil, f, err
	}
	clusterID, err := queryID(r, "clusterId")
	if err != nil {
		return nil, f, err
	}
	if q.Get("hostId") != "" {
		return nil, f, invalidErr(subError{Object: queryObject, Field: "hostId", RejectedValue: q.Get("hostId"),
			Message: "filtering tasks by host is not supported yet"})
	}
	if clusterID != 0 {
		f.ClusterID = &clusterID
	}
	if name := q.Get("name"); name != "" {
		f.Name = &name
	}
	if len(statuses) == 1 {
		st := dbplane.TaskStatus(statuses[0])
		f.Status = &st
	}
	clusterName := q.Get("clusterName")
	// dbplane has no tenants: a tenant filter matches no task.
	tenant := q.Get("tenantName") != "" || q.Get("tenantId") != ""
	keep := func(t *dbplane.Task) bool {
		switch {
		case tenant:
			return false
		case statuses != nil && !slices.Contains(statuses, string(t.Status)):
			return false
		case types != nil && !slices.Contains(types, taskType):
			return false
		case clusterName != "" && (t.ClusterID == 0 || t.Context["cluster_name"] != clusterName):
			return false
		}
		return true
	}
	return keep, f, nil
}

// handleTaskGet handles GET /api/v2/tasks/instances/{id}: the task with
// its DAG.
func (s *Server) handleTaskGet(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	t, err := s.Tasks.FindTaskByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return toTaskInstance(t, asSubtasks), nil
}

// taskOp adapts retry and rollback: they answer the task with its DAG.
func (s *Server) taskOp(op func(dbplane.TaskService, context.Context, int64) (*dbplane.Task, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return nil, err
		}
		t, err := op(s.Tasks, r.Context(), id)
		if err != nil {
			return nil, err
		}
		if len(t.Subtasks) == 0 {
			// Operations may answer the task alone; OCP shows the DAG.
			if full, err := s.Tasks.FindTaskByID(r.Context(), id); err == nil {
				t.Subtasks = full.Subtasks
			}
		}
		return toTaskInstance(t, asSubtasks), nil
	}
}

// subtaskOp adapts retry, skip and cancel of a subtask. OCP answers a
// retry with the subtask, skip and cancel with no data.
func (s *Server) subtaskOp(op func(dbplane.TaskService, context.Context, int64, int64) (*dbplane.Subtask, error), answer bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		id, sid, err := subtaskPath(r)
		if err != nil {
			return nil, err
		}
		st, err := op(s.Tasks, r.Context(), id, sid)
		if err != nil {
			return nil, err
		}
		if !answer {
			return noData{}, nil
		}
		return toSubtaskInstance(st, false), nil
	}
}

// subtaskLog is the data of a subtask's log.
type subtaskLog struct {
	Log string `json:"log"`
}

// handleSubtaskLog handles GET …/subtasks/{subtaskId}/log: the lines, each
// with its time, as one text.
func (s *Server) handleSubtaskLog(w http.ResponseWriter, r *http.Request) (any, error) {
	id, sid, err := subtaskPath(r)
	if err != nil {
		return nil, err
	}
	lines, err := s.Tasks.SubtaskLog(r.Context(), id, sid)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(formatTime(l.At) + " " + l.Message + "\n")
	}
	return subtaskLog{Log: b.String()}, nil
}

func subtaskPath(r *http.Request) (id, sid int64, err error) {
	if id, err = pathID(r, "id"); err != nil {
		return 0, 0, err
	}
	if sid, err = pathID(r, "subtaskId"); err != nil {
		return 0, 0, err
	}
	return id, sid, nil
}

// compareOptTimes orders optional times, missing ones first.
func compareOptTimes(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Compare(*b)
}
