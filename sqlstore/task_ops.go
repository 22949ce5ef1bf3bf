package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/dbplane/dbplane"
)

// RetryTask re-runs the FAILED subtasks of a FAILED task. A task that failed
// while rolling back retries its rollback.
func (db *DB) RetryTask(ctx context.Context, id int64) (*dbplane.Task, error) {
	var t *dbplane.Task
	err := db.write(ctx, func(tx *Tx) error {
		var err error
		if t, err = findFailedTask(ctx, tx, id, "retried"); err != nil {
			return err
		}
		op := dbplane.OpRetry
		if t.Operation == dbplane.OpRollback {
			op = dbplane.OpRollback
		}
		if err := resume(ctx, tx, t, op, "task retried"); err != nil {
			return err
		}
		for _, s := range t.Subtasks {
			if s.Status == dbplane.SubtaskFailed {
				if err := readySubtask(ctx, tx, s, op, "retried by user"); err != nil {
					return err
				}
			}
		}
		t, err = findTaskByID(ctx, tx, id)
		return err
	})
	return t, dbplane.E("sqlstore.RetryTask", err)
}

// RollbackTask undoes a FAILED task: every subtask that ran and has an undo
// handler runs it, in reverse topological order; the others are marked
// rolled back at once.
func (db *DB) RollbackTask(ctx context.Context, id int64) (*dbplane.Task, error) {
	var t *dbplane.Task
	err := db.write(ctx, func(tx *Tx) error {
		var err error
		if t, err = findFailedTask(ctx, tx, id, "rolled back"); err != nil {
			return err
		}
		if t.ProhibitRollback {
			return dbplane.Errorf(dbplane.KindConflict, "task %d prohibits rollback", id)
		}
		if t.Operation == dbplane.OpRollback {
			return dbplane.Errorf(dbplane.KindConflict, "task %d failed while rolling back: retry the rollback instead", id)
		}
		if err := resume(ctx, tx, t, dbplane.OpRollback, "rollback started"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE subtasks SET operation = 'ROLLBACK', attempts = 0, error = '', next_run_at = 0,
			status = CASE WHEN undo <> '' AND status IN ('SUCCESSFUL', 'FAILED') THEN 'PENDING' ELSE 'SUCCESSFUL' END
			WHERE task_id = ?`, id); err != nil {
			return err
		}
		if err := promote(ctx, tx, t, 0); err != nil {
			return err
		}
		if err := settle(ctx, tx, t); err != nil {
			return err
		}
		t, err = findTaskByID(ctx, tx, id)
		return err
	})
	return t, dbplane.E("sqlstore.RollbackTask", err)
}

// RetrySubtask re-runs one FAILED subtask.
func (db *DB) RetrySubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	return db.changeFailedSubtask(ctx, "sqlstore.RetrySubtask", taskID, subtaskID, func(tx *Tx, t *dbplane.Task, s *dbplane.Subtask) error {
		op := dbplane.OpRetry
		if t.Operation == dbplane.OpRollback {
			op = dbplane.OpRollback
		}
		return readySubtask(ctx, tx, s, op, "retried by user")
	})
}

// SkipSubtask marks a FAILED subtask SUCCESSFUL without running it, so that
// its downstreams (upstreams, when rolling back) can go on.
func (db *DB) SkipSubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	return db.changeFailedSubtask(ctx, "sqlstore.SkipSubtask", taskID, subtaskID, func(tx *Tx, t *dbplane.Task, s *dbplane.Subtask) error {
		_, err := succeed(ctx, tx, s, dbplane.OpSkip, "skipped by user")
		return err
	})
}

// changeFailedSubtask applies change to a FAILED subtask and makes its task
// RUNNING again if it had failed.
func (db *DB) changeFailedSubtask(ctx context.Context, op string, taskID, subtaskID int64,
	change func(*Tx, *dbplane.Task, *dbplane.Subtask) error) (*dbplane.Subtask, error) {
	var s *dbplane.Subtask
	err := db.write(ctx, func(tx *Tx) error {
		if err := lockRow(ctx, tx, "tasks", taskID); err != nil {
			return err
		}
		t, err := findTaskRow(ctx, tx, taskID)
		if err != nil {
			return err
		}
		if s, err = findSubtask(ctx, tx, taskID, subtaskID); err != nil {
			return err
		}
		if s.Status != dbplane.SubtaskFailed {
			return dbplane.Errorf(dbplane.KindConflict, "subtask %d is %s; only a FAILED subtask can be retried or skipped", subtaskID, s.Status)
		}
		if t.Status == dbplane.TaskFailed {
			if err := resume(ctx, tx, t, t.Operation, "task resumed"); err != nil {
				return err
			}
		}
		if err := change(tx, t, s); err != nil {
			return err
		}
		s, err = findSubtask(ctx, tx, taskID, subtaskID)
		return err
	})
	return s, dbplane.E(op, err)
}

// CancelSubtask asks a RUNNING subtask to stop. Its executor sees CANCELING
// at the next lease renewal and cancels the handler, which ends FAILED.
func (db *DB) CancelSubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	var s *dbplane.Subtask
	err := db.write(ctx, func(tx *Tx) error {
		if err := lockRow(ctx, tx, "subtasks", subtaskID); err != nil {
			return err
		}
		var err error
		if s, err = findSubtask(ctx, tx, taskID, subtaskID); err != nil {
			return err
		}
		if s.Status != dbplane.SubtaskRunning {
			return dbplane.Errorf(dbplane.KindConflict, "subtask %d is %s; only a RUNNING subtask can be canceled", subtaskID, s.Status)
		}
		// The operation becomes CANCEL only if the run ends canceled: a
		// handler that finishes first leaves the subtask SUCCESSFUL as it was.
		if _, err := tx.Exec(ctx, `UPDATE subtasks SET status = 'CANCELING' WHERE id = ?`, s.ID); err != nil {
			return err
		}
		if err := addSubtaskEvent(ctx, tx, s, dbplane.SubtaskCanceling, dbplane.OpCancel, "cancel requested by user"); err != nil {
			return err
		}
		s, err = findSubtask(ctx, tx, taskID, subtaskID)
		return err
	})
	return s, dbplane.E("sqlstore.CancelSubtask", err)
}

// findFailedTask loads a task that must be FAILED for the operation named by
// verb.
func findFailedTask(ctx context.Context, tx *Tx, id int64, verb string) (*dbplane.Task, error) {
	if err := lockRow(ctx, tx, "tasks", id); err != nil {
		return nil, err
	}
	t, err := findTaskByID(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if t.Status != dbplane.TaskFailed {
		return nil, dbplane.Errorf(dbplane.KindConflict, "task %d is %s; only a FAILED task can be %s", id, t.Status, verb)
	}
	return t, nil
}

// resume makes a FAILED task RUNNING again, unless another task holds its
// cluster: running both would break one-task-per-cluster.
func resume(ctx context.Context, tx *Tx, t *dbplane.Task, op dbplane.Operation, msg string) error {
	if t.ClusterID != 0 {
		var other int64
		err := tx.QueryRow(ctx, `SELECT id FROM tasks WHERE cluster_id = ? AND status = 'RUNNING' AND id <> ? LIMIT 1`,
			t.ClusterID, t.ID).Scan(&other)
		if err == nil {
			return dbplane.Errorf(dbplane.KindConflict, "cluster %d is busy with task %d; wait for it to end", t.ClusterID, other)
		} else if !isNoRows(err) {
			return err
		}
	}
	return setTaskStatus(ctx, tx, t, dbplane.TaskRunning, op, msg)
}

// readySubtask makes a FAILED subtask READY with a fresh attempt budget.
func readySubtask(ctx context.Context, tx *Tx, s *dbplane.Subtask, op dbplane.Operation, msg string) error {
	if _, err := tx.Exec(ctx, `UPDATE subtasks SET status = 'READY', operation = ?, attempts = 0, error = '',
		next_run_at = 0, finished_at = NULL WHERE id = ?`, op, s.ID); err != nil {
		return err
	}
	return addSubtaskEvent(ctx, tx, s, dbplane.SubtaskReady, op, msg)
}

// AppendSubtaskLog appends lines to a subtask's log.
func (db *DB) AppendSubtaskLog(ctx context.Context, subtaskID int64, lines ...string) error {
	err := db.write(ctx, func(tx *Tx) error {
		for _, l := range lines {
			if _, err := tx.Exec(ctx, `INSERT INTO subtask_logs (subtask_id, at, message) VALUES (?, ?, ?)`,
				subtaskID, micros(tx.now), l); err != nil {
				return err
			}
		}
		return nil
	})
	return dbplane.E("sqlstore.AppendSubtaskLog", err)
}

// SubtaskLog returns the log of a subtask of a task.
func (db *DB) SubtaskLog(ctx context.Context, taskID, subtaskID int64) ([]dbplane.LogLine, error) {
	lines := []dbplane.LogLine{}
	err := db.read(ctx, func(tx *Tx) error {
		if ok, err := exists(ctx, tx, `SELECT 1 FROM subtasks WHERE id = ? AND task_id = ?`, subtaskID, taskID); err != nil {
			return err
		} else if !ok {
			return dbplane.Errorf(dbplane.KindNotFound, "subtask %d of task %d not found", subtaskID, taskID)
		}
		rows, err := tx.Query(ctx, `SELECT at, message FROM subtask_logs WHERE subtask_id = ? ORDER BY id`, subtaskID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var at int64
			var l dbplane.LogLine
			if err := rows.Scan(&at, &l.Message); err != nil {
				return err
			}
			l.At = fromMicros(at)
			lines = append(lines, l)
		}
		return rows.Err()
	})
	return lines, dbplane.E("sqlstore.SubtaskLog", err)
}

// TaskEvents returns up to limit events of a task with id > after.
func (db *DB) TaskEvents(ctx context.Context, taskID, after int64, limit int) ([]dbplane.TaskEvent, error) {
	var events []dbplane.TaskEvent
	err := db.read(ctx, func(tx *Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, task_id, subtask_id, name, status, operation, message, at
			FROM task_events WHERE task_id = ? AND id > ? ORDER BY id LIMIT ?`, taskID, after, pageLimit(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e dbplane.TaskEvent
			var op string
			var at int64
			if err := rows.Scan(&e.ID, &e.TaskID, &e.SubtaskID, &e.Name, &e.Status, &op, &e.Message, &at); err != nil {
				return err
			}
			e.Operation, e.At = dbplane.Operation(op), fromMicros(at)
			events = append(events, e)
		}
		return rows.Err()
	})
	return events, dbplane.E("sqlstore.TaskEvents", err)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
