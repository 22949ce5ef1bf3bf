package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// ClaimSubtasks leases up to n due READY subtasks to executor. A task may run
// only while it holds its cluster: no older task of the same cluster is
// RUNNING. That is how one mutating task per cluster runs at a time and the
// next waits.
func (db *DB) ClaimSubtasks(ctx context.Context, executor string, n int, lease time.Duration) ([]*dbplane.Subtask, error) {
	if n <= 0 {
		return nil, nil
	}
	var claimed []*dbplane.Subtask
	err := db.write(ctx, func(tx *Tx) error {
		now := micros(tx.now)
		rows, err := tx.Query(ctx, `UPDATE subtasks SET status = 'RUNNING', executor = ?, lease_until = ?,
			attempts = attempts + 1, run_count = run_count + 1, started_at = ?, finished_at = NULL
			WHERE id IN (
				SELECT s.id FROM subtasks s JOIN tasks t ON t.id = s.task_id
				WHERE s.status = 'READY' AND s.next_run_at <= ? AND t.status = 'RUNNING'
				AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.cluster_id = t.cluster_id
					AND o.status = 'RUNNING' AND o.id < t.id)
				ORDER BY s.next_run_at, s.id LIMIT ?`+db.forUpdateOfSkipLocked("s")+`)
			RETURNING id`, executor, micros(tx.now.Add(lease)), now, now, n)
		if err != nil {
			return err
		}
		ids, err := scanIDs(rows)
		if err != nil || len(ids) == 0 {
			return err
		}
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		if claimed, err = findSubtasks(ctx, tx, `s.id IN (`+placeholders(len(ids))+`)`, args...); err != nil {
			return err
		}
		events := make([]dbplane.TaskEvent, len(claimed))
		for i, s := range claimed {
			events[i] = dbplane.TaskEvent{TaskID: s.TaskID, SubtaskID: s.ID, Name: s.Name,
				Status: string(dbplane.SubtaskRunning), Operation: s.Operation,
				Message: fmt.Sprintf("attempt %d of %d on %s", s.Attempts, s.MaxAttempts, executor)}
		}
		return addEvents(ctx, tx, events)
	})
	return claimed, dbplane.E("sqlstore.ClaimSubtasks", err)
}

// forUpdateOfSkipLocked locks the claimed rows of alias on PostgreSQL so
// that several control planes claim disjoint subtasks; SQLite has a single
// writer and needs nothing.
func (db *DB) forUpdateOfSkipLocked(alias string) string {
	if db.dialect == postgres {
		return " FOR UPDATE OF " + alias + " SKIP LOCKED"
	}
	return ""
}

// forUpdate locks the rows a query reads on PostgreSQL until the
// transaction ends, and makes it read their latest committed version: a
// transition checks the state it changes, and without the lock a
// concurrent transition could change that state between the check and the
// update (a lost update). SQLite runs one writer at a time.
func (db *DB) forUpdate() string {
	if db.dialect == postgres {
		return " FOR UPDATE"
	}
	return ""
}

// lockRow locks, on PostgreSQL, the rows of table whose id is id. Every
// transition that starts from a task locks its row first; transitions of
// the engine lock the subtask first and the task next (through addEvents),
// and the two never wait for each other's subtasks.
func lockRow(ctx context.Context, tx *Tx, table string, id int64) error {
	if tx.db.dialect != postgres {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT id FROM `+table+` WHERE id = ?`+tx.db.forUpdate(), id)
	return err
}

// RenewLeases extends executor's leases and reports which of its subtasks a
// user asked to cancel.
func (db *DB) RenewLeases(ctx context.Context, executor string, lease time.Duration) ([]int64, error) {
	var canceling []int64
	err := db.write(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE subtasks SET lease_until = ? WHERE executor = ? AND status IN ('RUNNING', 'CANCELING')`,
			micros(tx.now.Add(lease)), executor); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM subtasks WHERE executor = ? AND status = 'CANCELING'`, executor)
		if err != nil {
			return err
		}
		canceling, err = scanIDs(rows)
		return err
	})
	return canceling, dbplane.E("sqlstore.RenewLeases", err)
}

// FinishSubtask records the outcome of one run. The executor must still hold
// the lease: a run whose lease expired (and may be running elsewhere) is
// discarded with KindConflict, which fences off a stalled executor.
func (db *DB) FinishSubtask(ctx context.Context, executor string, id int64, out dbplane.Outcome) (*dbplane.Task, error) {
	var t *dbplane.Task
	err := db.write(ctx, func(tx *Tx) error {
		s, err := findSubtaskByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if s.Executor != executor || s.RunCount != out.Run ||
			(s.Status != dbplane.SubtaskRunning && s.Status != dbplane.SubtaskCanceling) {
			return dbplane.Errorf(dbplane.KindConflict, "run %d of subtask %d is no longer leased to %s", out.Run, id, executor)
		}
		switch {
		case out.Err == nil:
			t, err = succeed(ctx, tx, s, s.Operation, "")
		case s.Status == dbplane.SubtaskCanceling || out.Canceled:
			t, err = fail(ctx, tx, s, dbplane.OpCancel, "canceled by user")
		case out.Permanent || s.Attempts >= s.MaxAttempts:
			t, err = fail(ctx, tx, s, s.Operation, out.Err.Error())
		default:
			err = retryLater(ctx, tx, s, out.RetryAt, out.Err.Error())
		}
		return err
	})
	if err != nil || t == nil || t.Status == dbplane.TaskRunning {
		return nil, dbplane.E("sqlstore.FinishSubtask", err)
	}
	return t, nil
}

// findSubtaskByID returns a subtask, locked until tx ends, without its
// edges, which recording an outcome does not need.
func findSubtaskByID(ctx context.Context, tx *Tx, id int64) (*dbplane.Subtask, error) {
	s, err := scanSubtask(tx.QueryRow(ctx, `SELECT `+subtaskColumns+` FROM subtasks s WHERE s.id = ?`+tx.db.forUpdate(), id))
	if isNoRows(err) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "subtask %d not found", id)
	}
	return s, err
}

// succeed marks s SUCCESSFUL with operation op, makes the subtasks it
// unblocks READY and settles its task, which it returns.
func succeed(ctx context.Context, tx *Tx, s *dbplane.Subtask, op dbplane.Operation, msg string) (*dbplane.Task, error) {
	if _, err := tx.Exec(ctx, `UPDATE subtasks SET status = 'SUCCESSFUL', operation = ?, executor = NULL,
		lease_until = NULL, error = '', finished_at = ? WHERE id = ?`, op, micros(tx.now), s.ID); err != nil {
		return nil, err
	}
	if err := addSubtaskEvent(ctx, tx, s, dbplane.SubtaskSuccessful, op, msg); err != nil {
		return nil, err
	}
	t, err := findTaskRow(ctx, tx, s.TaskID)
	if err != nil {
		return nil, err
	}
	if err := promote(ctx, tx, t, s.ID); err != nil {
		return nil, err
	}
	return t, settle(ctx, tx, t)
}

// fail marks s FAILED and settles its task, which it returns.
func fail(ctx context.Context, tx *Tx, s *dbplane.Subtask, op dbplane.Operation, msg string) (*dbplane.Task, error) {
	if _, err := tx.Exec(ctx, `UPDATE subtasks SET status = 'FAILED', operation = ?, executor = NULL,
		lease_until = NULL, error = ?, finished_at = ? WHERE id = ?`, op, msg, micros(tx.now), s.ID); err != nil {
		return nil, err
	}
	if err := addSubtaskEvent(ctx, tx, s, dbplane.SubtaskFailed, op, msg); err != nil {
		return nil, err
	}
	t, err := findTaskRow(ctx, tx, s.TaskID)
	if err != nil {
		return nil, err
	}
	return t, settle(ctx, tx, t)
}

// retryLater returns s to READY, due at at.
func retryLater(ctx context.Context, tx *Tx, s *dbplane.Subtask, at time.Time, msg string) error {
	if _, err := tx.Exec(ctx, `UPDATE subtasks SET status = 'READY', executor = NULL, lease_until = NULL,
		error = ?, next_run_at = ? WHERE id = ?`, msg, micros(at), s.ID); err != nil {
		return err
	}
	wait := at.Sub(tx.now).Round(time.Millisecond)
	return addSubtaskEvent(ctx, tx, s, dbplane.SubtaskReady, s.Operation,
		fmt.Sprintf("attempt %d failed, retrying in %s: %s", s.Attempts, wait, msg))
}

func findTaskRow(ctx context.Context, tx *Tx, id int64) (*dbplane.Task, error) {
	t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "task %d not found", id)
	}
	return t, err
}

// promote makes PENDING subtasks of t READY once what they wait for is done:
// their upstreams when executing, their downstreams when rolling back
// (undo runs in reverse topological order). With from > 0 only the
// neighbours of subtask from are considered.
func promote(ctx context.Context, tx *Tx, t *dbplane.Task, from int64) error {
	self, other := "downstream_id", "upstream_id"
	if t.Operation == dbplane.OpRollback {
		self, other = other, self
	}
	scope, args := "", []any{t.ID}
	if from > 0 {
		scope = ` AND subtasks.id IN (SELECT ` + self + ` FROM subtask_edges WHERE ` + other + ` = ?)`
		args = append(args, from)
	}
	rows, err := tx.Query(ctx, `UPDATE subtasks SET status = 'READY', next_run_at = 0
		WHERE task_id = ? AND status = 'PENDING'`+scope+`
		AND NOT EXISTS (SELECT 1 FROM subtask_edges e JOIN subtasks n ON n.id = e.`+other+`
			WHERE e.`+self+` = subtasks.id AND n.status <> 'SUCCESSFUL')
		RETURNING id, name, operation`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var ready []dbplane.TaskEvent
	for rows.Next() {
		var e dbplane.TaskEvent
		if err := rows.Scan(&e.SubtaskID, &e.Name, &e.Operation); err != nil {
			return err
		}
		e.TaskID, e.Status = t.ID, string(dbplane.SubtaskReady)
		ready = append(ready, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	return addEvents(ctx, tx, ready)
}

// settle decides the status of a RUNNING task from its subtasks: it stays
// RUNNING while any subtask is READY, RUNNING or CANCELING; otherwise it is
// FAILED if a subtask failed, else SUCCESSFUL.
func settle(ctx context.Context, tx *Tx, t *dbplane.Task) error {
	if t.Status != dbplane.TaskRunning {
		return nil
	}
	if active, err := exists(ctx, tx, `SELECT 1 FROM subtasks WHERE task_id = ? AND status IN ('READY', 'RUNNING', 'CANCELING')`, t.ID); err != nil || active {
		return err
	}
	failed, err := exists(ctx, tx, `SELECT 1 FROM subtasks WHERE task_id = ? AND status IN ('FAILED', 'PENDING')`, t.ID)
	if err != nil {
		return err
	}
	status, msg := dbplane.TaskSuccessful, "task succeeded"
	if failed {
		status, msg = dbplane.TaskFailed, "task failed"
	}
	if t.Operation == dbplane.OpRollback {
		msg = "rollback succeeded"
		if failed {
			msg = "rollback failed"
		}
	}
	return setTaskStatus(ctx, tx, t, status, t.Operation, msg)
}

// setTaskStatus changes a task's status and operation, records the event
// and applies what the change means for the task's cluster.
func setTaskStatus(ctx context.Context, tx *Tx, t *dbplane.Task, status dbplane.TaskStatus, op dbplane.Operation, msg string) error {
	var finished any
	if status != dbplane.TaskRunning {
		finished = micros(tx.now)
	}
	if _, err := tx.Exec(ctx, `UPDATE tasks SET status = ?, operation = ?, finished_at = ?, updated_at = ? WHERE id = ?`,
		status, op, finished, micros(tx.now), t.ID); err != nil {
		return err
	}
	t.Status, t.Operation = status, op
	if status != dbplane.TaskRunning {
		ended := *t
		ended.Subtasks, ended.FinishedAt = nil, &tx.now
		tx.ended = append(tx.ended, ended)
	}
	if err := addEvent(ctx, tx, dbplane.TaskEvent{TaskID: t.ID, Status: string(status), Operation: op, Message: msg}); err != nil {
		return err
	}
	return applyClusterOutcome(ctx, tx, t)
}

// applyClusterOutcome updates or removes the task's cluster as
// dbplane.ClusterOutcome says, in the transaction that changed the task.
func applyClusterOutcome(ctx context.Context, tx *Tx, t *dbplane.Task) error {
	if t.ClusterID == 0 {
		return nil
	}
	next, remove, ok := dbplane.ClusterOutcome(t.Kind, t.Status, t.Operation)
	switch {
	case !ok:
		return nil
	case remove:
		_, err := tx.Exec(ctx, `DELETE FROM clusters WHERE id = ?`, t.ClusterID)
		return err
	default:
		_, err := tx.Exec(ctx, `UPDATE clusters SET status = ?, updated_at = ? WHERE id = ?`, next, micros(tx.now), t.ClusterID)
		return err
	}
}

// ExpireLeases returns RUNNING subtasks whose lease expired to READY, so
// that a killed executor loses nothing, and fails expired CANCELING ones.
func (db *DB) ExpireLeases(ctx context.Context) (int, error) {
	var n int
	err := db.write(ctx, func(tx *Tx) error {
		var err error
		n, err = releaseWhere(ctx, tx, `lease_until < ?`, micros(tx.now), true)
		return err
	})
	return n, dbplane.E("sqlstore.ExpireLeases", err)
}

// ReleaseSubtasks gives back executor's leases at a graceful shutdown, so
// another executor can pick the subtasks up without waiting for expiry.
func (db *DB) ReleaseSubtasks(ctx context.Context, executor string) error {
	err := db.write(ctx, func(tx *Tx) error {
		_, err := releaseWhere(ctx, tx, `executor = ?`, executor, false)
		return err
	})
	return dbplane.E("sqlstore.ReleaseSubtasks", err)
}

// releaseWhere returns the RUNNING subtasks matching cond to READY and
// fails the CANCELING ones. It locks them all first, so that it never holds
// a task while waiting for a subtask that a transition holds and that
// transition waits for the task. With skipLocked it leaves the subtasks a
// transition is changing right now: their lease is no longer what matters.
func releaseWhere(ctx context.Context, tx *Tx, cond string, arg any, skipLocked bool) (int, error) {
	lock := tx.db.forUpdate()
	if skipLocked && lock != "" {
		lock += " SKIP LOCKED"
	}
	rows, err := tx.Query(ctx, `SELECT s.id FROM subtasks s WHERE s.status IN ('RUNNING', 'CANCELING') AND s.`+
		cond+` ORDER BY s.id`+lock, arg)
	if err != nil {
		return 0, err
	}
	ids, err := scanIDs(rows)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	subs, err := findSubtasks(ctx, tx, `s.id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return 0, err
	}
	for _, s := range subs {
		if s.Status == dbplane.SubtaskCanceling {
			_, err = fail(ctx, tx, s, dbplane.OpCancel, "canceled by user")
		} else {
			err = release(ctx, tx, s)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(subs), nil
}

func release(ctx context.Context, tx *Tx, s *dbplane.Subtask) error {
	if _, err := tx.Exec(ctx, `UPDATE subtasks SET status = 'READY', executor = NULL, lease_until = NULL,
		next_run_at = 0 WHERE id = ?`, s.ID); err != nil {
		return err
	}
	return addSubtaskEvent(ctx, tx, s, dbplane.SubtaskReady, s.Operation,
		fmt.Sprintf("lease of %s released; the subtask runs again", s.Executor))
}

func addSubtaskEvent(ctx context.Context, tx *Tx, s *dbplane.Subtask, status dbplane.SubtaskStatus, op dbplane.Operation, msg string) error {
	return addEvent(ctx, tx, dbplane.TaskEvent{TaskID: s.TaskID, SubtaskID: s.ID, Name: s.Name,
		Status: string(status), Operation: op, Message: msg})
}

// addEvent records a state change.
func addEvent(ctx context.Context, tx *Tx, e dbplane.TaskEvent) error {
	return addEvents(ctx, tx, []dbplane.TaskEvent{e})
}

// addEvents records state changes, in order, with one statement. On
// PostgreSQL it first touches the row of each task concerned, in id order:
// that serialises the event writers of a task, so event ids of one task
// commit in increasing order and a reader resuming after an id misses none.
// The events must be sorted by task id.
func addEvents(ctx context.Context, tx *Tx, events []dbplane.TaskEvent) error {
	if len(events) == 0 {
		return nil
	}
	now := micros(tx.now)
	if tx.db.dialect == postgres {
		for i, e := range events {
			if i > 0 && e.TaskID == events[i-1].TaskID {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE tasks SET updated_at = ? WHERE id = ?`, now, e.TaskID); err != nil {
				return err
			}
		}
	}
	values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", len(events)), ", ")
	args := make([]any, 0, 7*len(events))
	for _, e := range events {
		args = append(args, e.TaskID, e.SubtaskID, e.Name, e.Status, string(e.Operation), e.Message, now)
	}
	_, err := tx.Exec(ctx, `INSERT INTO task_events (task_id, subtask_id, name, status, operation, message, at)
		VALUES `+values, args...)
	return err
}

func exists(ctx context.Context, tx *Tx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRow(ctx, query+` LIMIT 1`, args...).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

func scanIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
