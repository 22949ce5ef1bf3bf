package httpapi

import (
	"context"
	"net/http"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerTaskRoutes() {
	s.route("GET /v1/tasks", "task.list", s.wrap(s.handleTaskIndex))
	s.route("GET /v1/tasks/{task_id}", "task.get", s.wrap(s.handleTaskView))
	s.route("POST /v1/tasks/{task_id}/retry", "task.retry", s.wrap(s.taskOp((dbplane.TaskService).RetryTask)))
	s.route("POST /v1/tasks/{task_id}/rollback", "task.rollback", s.wrap(s.taskOp((dbplane.TaskService).RollbackTask)))
	s.route("POST /v1/tasks/{task_id}/subtasks/{subtask_id}/retry", "subtask.retry",
		s.wrap(s.subtaskOp((dbplane.TaskService).RetrySubtask)))
	s.route("POST /v1/tasks/{task_id}/subtasks/{subtask_id}/skip", "subtask.skip",
		s.wrap(s.subtaskOp((dbplane.TaskService).SkipSubtask)))
	s.route("POST /v1/tasks/{task_id}/subtasks/{subtask_id}/cancel", "subtask.cancel",
		s.wrap(s.subtaskOp((dbplane.TaskService).CancelSubtask)))
	s.route("GET /v1/tasks/{task_id}/subtasks/{subtask_id}/log", "subtask.log", s.wrap(s.handleSubtaskLog))
	s.route("GET /v1/tasks/{task_id}/events", "task.events", http.HandlerFunc(s.handleTaskEvents))
}

// taskPage is the answer of GET /v1/tasks.
type taskPage struct {
	Tasks  []*dbplane.Task `json:"tasks"`
	Total  int             `json:"total"`
	Offset int             `json:"offset"`
	Limit  int             `json:"limit"`
}

// logResponse is the answer of GET /v1/tasks/{id}/subtasks/{sid}/log.
type logResponse struct {
	Lines []dbplane.LogLine `json:"lines"`
}

var taskStatuses = []string{string(dbplane.TaskRunning), string(dbplane.TaskFailed), string(dbplane.TaskSuccessful)}

// handleTaskIndex handles GET /v1/tasks.
func (s *Server) handleTaskIndex(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "cluster_id", "status", "kind", "name", "offset", "limit")
	var f dbplane.TaskFilter
	f.ClusterID = q.positiveID("cluster_id")
	if st := q.oneOf("status", taskStatuses...); st != nil {
		ts := dbplane.TaskStatus(*st)
		f.Status = &ts
	}
	f.Kind = q.str("kind")
	f.Name = q.str("name")
	f.Offset, f.Limit = q.page()
	if err := q.err(); err != nil {
		return nil, err
	}
	tasks, total, err := s.Tasks.FindTasks(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return taskPage{Tasks: nonNil(tasks), Total: total, Offset: f.Offset, Limit: f.Limit}, nil
}

// handleTaskView handles GET /v1/tasks/{task_id}: the task with its DAG.
func (s *Server) handleTaskView(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "task_id")
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	return s.Tasks.FindTaskByID(r.Context(), id)
}

// taskOp adapts a task operation (retry, rollback) to a handler of
// POST /v1/tasks/{task_id}/<op>. The operations take no body: the path says
// all.
func (s *Server) taskOp(op func(dbplane.TaskService, context.Context, int64) (*dbplane.Task, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		id, err := pathID(r, "task_id")
		if err != nil {
			return nil, err
		}
		if err := parseQuery(r).err(); err != nil {
			return nil, err
		}
		return op(s.Tasks, r.Context(), id)
	}
}

// subtaskOp adapts a subtask operation (retry, skip, cancel) to a handler of
// POST /v1/tasks/{task_id}/subtasks/{subtask_id}/<op>.
func (s *Server) subtaskOp(op func(dbplane.TaskService, context.Context, int64, int64) (*dbplane.Subtask, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		id, sid, err := subtaskPath(r)
		if err != nil {
			return nil, err
		}
		if err := parseQuery(r).err(); err != nil {
			return nil, err
		}
		return op(s.Tasks, r.Context(), id, sid)
	}
}

// handleSubtaskLog handles GET /v1/tasks/{task_id}/subtasks/{subtask_id}/log.
func (s *Server) handleSubtaskLog(w http.ResponseWriter, r *http.Request) (any, error) {
	id, sid, err := subtaskPath(r)
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	lines, err := s.Tasks.SubtaskLog(r.Context(), id, sid)
	if err != nil {
		return nil, err
	}
	return logResponse{Lines: nonNil(lines)}, nil
}

// subtaskPath returns the task and subtask ids of the path.
func subtaskPath(r *http.Request) (id, sid int64, err error) {
	if id, err = pathID(r, "task_id"); err != nil {
		return 0, 0, err
	}
	if sid, err = pathID(r, "subtask_id"); err != nil {
		return 0, 0, err
	}
	return id, sid, nil
}
