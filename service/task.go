package service

import (
	"context"
	"time"

	"github.com/dbplane/dbplane"
)

// task loads a task and authorizes a on it: on its cluster's project, or on
// the fleet for tasks of the fleet itself. A task of a project the caller
// cannot read answers as a missing one.
func (s *Service) task(ctx context.Context, id int64, a dbplane.Action) (*dbplane.Task, error) {
	if _, err := authenticated(ctx); err != nil {
		return nil, err
	}
	nf := notFound("task %d not found", id)
	t, err := s.Store.FindTaskByID(ctx, id)
	if err != nil {
		return nil, orNotFound(err, nf)
	}
	if a != dbplane.ActionRead {
		dbplane.AuditTarget(ctx, target("task", id), t.ProjectID)
	}
	if _, err := authorize(ctx, a, resource{project: t.ProjectID, hidden: nf}); err != nil {
		return nil, err
	}
	return t, nil
}

// subtask authorizes a on the task of a subtask and records the subtask as
// the audit target.
func (s *Service) subtask(ctx context.Context, taskID, subtaskID int64, a dbplane.Action) error {
	t, err := s.task(ctx, taskID, a)
	if err != nil {
		return err
	}
	if a != dbplane.ActionRead {
		dbplane.AuditTarget(ctx, target("subtask", subtaskID), t.ProjectID)
	}
	return nil
}

// FindTaskByID returns a task with its DAG.
func (s *Service) FindTaskByID(ctx context.Context, id int64) (*dbplane.Task, error) {
	return s.task(ctx, id, dbplane.ActionRead)
}

// FindTasks returns a page of the tasks of the projects the caller can
// read; tasks of the fleet itself only to callers with a global role.
func (s *Service) FindTasks(ctx context.Context, f dbplane.TaskFilter) ([]*dbplane.Task, int, error) {
	ids, err := readableProjects(ctx, dbplane.ActionRead, f.ProjectIDs)
	if err != nil {
		return nil, 0, err
	}
	if ids != nil && len(ids) == 0 {
		return []*dbplane.Task{}, 0, nil
	}
	f.ProjectIDs = ids
	return s.Store.FindTasks(ctx, f)
}

// RetryTask re-runs the failed subtasks of a task.
func (s *Service) RetryTask(ctx context.Context, id int64) (*dbplane.Task, error) {
	if _, err := s.task(ctx, id, dbplane.ActionOperate); err != nil {
		return nil, err
	}
	t, err := s.Store.RetryTask(ctx, id)
	s.wakeIf(err)
	return t, err
}

// RollbackTask undoes a failed task.
func (s *Service) RollbackTask(ctx context.Context, id int64) (*dbplane.Task, error) {
	if _, err := s.task(ctx, id, dbplane.ActionOperate); err != nil {
		return nil, err
	}
	t, err := s.Store.RollbackTask(ctx, id)
	s.wakeIf(err)
	return t, err
}

// RetrySubtask re-runs one failed subtask.
func (s *Service) RetrySubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	if err := s.subtask(ctx, taskID, subtaskID, dbplane.ActionOperate); err != nil {
		return nil, err
	}
	st, err := s.Store.RetrySubtask(ctx, taskID, subtaskID)
	s.wakeIf(err)
	return st, err
}

// SkipSubtask marks a failed subtask done.
func (s *Service) SkipSubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	if err := s.subtask(ctx, taskID, subtaskID, dbplane.ActionOperate); err != nil {
		return nil, err
	}
	st, err := s.Store.SkipSubtask(ctx, taskID, subtaskID)
	s.wakeIf(err)
	return st, err
}

// CancelSubtask asks a running subtask to stop.
func (s *Service) CancelSubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	if err := s.subtask(ctx, taskID, subtaskID, dbplane.ActionOperate); err != nil {
		return nil, err
	}
	return s.Store.CancelSubtask(ctx, taskID, subtaskID)
}

// SubtaskLog returns a subtask's log.
func (s *Service) SubtaskLog(ctx context.Context, taskID, subtaskID int64) ([]dbplane.LogLine, error) {
	if err := s.subtask(ctx, taskID, subtaskID, dbplane.ActionRead); err != nil {
		return nil, err
	}
	return s.Store.SubtaskLog(ctx, taskID, subtaskID)
}

func (s *Service) wakeIf(err error) {
	if err == nil {
		s.wake()
	}
}

// watchBatch is how many events WatchTask reads at a time.
const watchBatch = 500

// WatchTask streams a task's events after the given id. It polls the store,
// so watchers on any control-plane replica see every change committed by
// any other. The caller is authorized once, when the watch starts.
func (s *Service) WatchTask(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
	t, err := s.task(ctx, id, dbplane.ActionRead)
	if err != nil {
		return nil, err
	}
	poll := s.WatchPoll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	ch := make(chan dbplane.TaskEvent, 64)
	go func() {
		defer close(ch)
		// terminal tells whether the newest event seen so far ends the task;
		// before any event is seen, the task's current status decides.
		terminal := t.Status != dbplane.TaskRunning
		for {
			events, err := s.Store.TaskEvents(ctx, id, after, watchBatch)
			if err != nil {
				if ctx.Err() == nil && s.Logger != nil {
					s.Logger.Error("reading task events failed", "task", id, "err", err)
				}
				return
			}
			for _, e := range events {
				select {
				case ch <- e:
				case <-ctx.Done():
					return
				}
				after, terminal = e.ID, e.Terminal()
			}
			if len(events) == watchBatch {
				continue
			}
			if terminal {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(poll):
			}
		}
	}()
	return ch, nil
}
