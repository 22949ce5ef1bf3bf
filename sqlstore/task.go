package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// CreateTask creates a task from plan, with its root subtasks READY.
func (db *DB) CreateTask(ctx context.Context, plan dbplane.TaskPlan) (*dbplane.Task, error) {
	var t *dbplane.Task
	err := db.write(ctx, func(tx *Tx) error {
		var err error
		t, err = createTask(ctx, tx, plan)
		return err
	})
	return t, dbplane.E("sqlstore.CreateTask", err)
}

// createTask inserts the task of plan and its DAG in tx. Subtasks are
// stored in topological order (seq), so reading them back by seq gives an
// order in which every subtask follows its upstreams.
func createTask(ctx context.Context, tx *Tx, plan dbplane.TaskPlan) (*dbplane.Task, error) {
	order, err := plan.Ordered()
	if err != nil {
		return nil, err
	}
	taskCtx, err := json.Marshal(plan.Context)
	if err != nil {
		return nil, err
	}
	now := micros(tx.now)
	var taskID int64
	// The task takes its cluster's project, so that authorization by
	// project covers it even after the cluster is gone.
	err = tx.QueryRow(ctx, `INSERT INTO tasks (name, kind, cluster_id, project_id, status, operation,
		prohibit_rollback, creator, context, created_at, updated_at, started_at)
		VALUES (?, ?, ?, COALESCE((SELECT project_id FROM clusters WHERE id = ?), 0), ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		plan.Name, plan.Kind, nullID(plan.ClusterID), plan.ClusterID, dbplane.TaskRunning, dbplane.OpExecute,
		boolInt(plan.ProhibitRollback), plan.Creator, string(taskCtx), now, now, now).Scan(&taskID)
	if err != nil {
		return nil, fmt.Errorf("while inserting the task: %w", err)
	}
	ids := make(map[string]int64, len(order))
	for seq, st := range order {
		id, err := insertSubtask(ctx, tx, taskID, seq, st)
		if err != nil {
			return nil, err
		}
		ids[st.Key] = id
	}
	for _, st := range order {
		for _, up := range st.After {
			if _, err := tx.Exec(ctx, `INSERT INTO subtask_edges (task_id, upstream_id, downstream_id) VALUES (?, ?, ?)`,
				taskID, ids[up], ids[st.Key]); err != nil {
				return nil, fmt.Errorf("while inserting an edge: %w", err)
			}
		}
	}
	if err := addEvent(ctx, tx, dbplane.TaskEvent{TaskID: taskID, Status: string(dbplane.TaskRunning),
		Operation: dbplane.OpExecute, Message: "task created"}); err != nil {
		return nil, err
	}
	return findTaskByID(ctx, tx, taskID)
}

func insertSubtask(ctx context.Context, tx *Tx, taskID int64, seq int, st dbplane.PlanStep) (int64, error) {
	status := dbplane.SubtaskPending
	if len(st.After) == 0 {
		status = dbplane.SubtaskReady
	}
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = dbplane.DefaultSubtaskTimeout
	}
	attempts := st.MaxAttempts
	if attempts <= 0 {
		attempts = dbplane.DefaultMaxAttempts
	}
	params := string(st.Params)
	if params == "" {
		params = "{}"
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO subtasks (task_id, seq, name, description, handler, undo, params,
		status, operation, timeout_ms, max_attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		taskID, seq, st.Name, st.Description, st.Handler, st.Undo, params, status, dbplane.OpExecute,
		timeout.Milliseconds(), attempts, micros(tx.now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("while inserting subtask %q: %w", st.Key, err)
	}
	return id, nil
}

// FindTaskByID returns a task with its DAG.
func (db *DB) FindTaskByID(ctx context.Context, id int64) (*dbplane.Task, error) {
	var t *dbplane.Task
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		t, err = findTaskByID(ctx, tx, id)
		return err
	})
	return t, dbplane.E("sqlstore.FindTaskByID", err)
}

const taskColumns = `id, name, kind, cluster_id, project_id, status, operation, prohibit_rollback, creator, context,
	created_at, started_at, finished_at`

func scanTask(row interface{ Scan(...any) error }) (*dbplane.Task, error) {
	var (
		t                 dbplane.Task
		clusterID         sql.NullInt64
		prohibit          int
		taskCtx           string
		created           int64
		started, finished sql.NullInt64
		status, op        string
	)
	if err := row.Scan(&t.ID, &t.Name, &t.Kind, &clusterID, &t.ProjectID, &status, &op, &prohibit, &t.Creator, &taskCtx,
		&created, &started, &finished); err != nil {
		return nil, err
	}
	t.ClusterID = clusterID.Int64
	t.Status, t.Operation = dbplane.TaskStatus(status), dbplane.Operation(op)
	t.ProhibitRollback = prohibit != 0
	t.CreatedAt, t.StartedAt, t.FinishedAt = fromMicros(created), nullMicros(started), nullMicros(finished)
	if err := json.Unmarshal([]byte(taskCtx), &t.Context); err != nil {
		return nil, fmt.Errorf("while decoding the context of task %d: %w", t.ID, err)
	}
	return &t, nil
}

func findTaskByID(ctx context.Context, tx *Tx, id int64) (*dbplane.Task, error) {
	t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "task %d not found", id)
	} else if err != nil {
		return nil, err
	}
	if t.Subtasks, err = findSubtasks(ctx, tx, `s.task_id = ?`, id); err != nil {
		return nil, err
	}
	return t, nil
}

const subtaskColumns = `s.id, s.task_id, s.name, s.description, s.handler, s.undo, s.params, s.status, s.operation,
	s.timeout_ms, s.max_attempts, s.attempts, s.run_count, s.executor, s.lease_until, s.next_run_at, s.error,
	s.created_at, s.started_at, s.finished_at`

func scanSubtask(row interface{ Scan(...any) error }) (*dbplane.Subtask, error) {
	var (
		s                        dbplane.Subtask
		params, status, op       string
		timeoutMS, nextRun       int64
		executor                 sql.NullString
		lease, started, finished sql.NullInt64
		created                  int64
	)
	if err := row.Scan(&s.ID, &s.TaskID, &s.Name, &s.Description, &s.Handler, &s.Undo, &params, &status, &op,
		&timeoutMS, &s.MaxAttempts, &s.Attempts, &s.RunCount, &executor, &lease, &nextRun, &s.Error,
		&created, &started, &finished); err != nil {
		return nil, err
	}
	s.Params = json.RawMessage(params)
	s.Status, s.Operation = dbplane.SubtaskStatus(status), dbplane.Operation(op)
	s.Timeout = time.Duration(timeoutMS) * time.Millisecond
	s.TimeoutSec = timeoutMS / 1000
	s.Executor = executor.String
	s.LeaseUntil = nullMicros(lease)
	if nextRun > 0 {
		t := fromMicros(nextRun)
		s.NextRunAt = &t
	}
	s.CreatedAt, s.StartedAt, s.FinishedAt = fromMicros(created), nullMicros(started), nullMicros(finished)
	s.Upstreams, s.Downstreams = []int64{}, []int64{}
	return &s, nil
}

// findSubtasks returns the subtasks matching where (over alias s) in
// topological order, with their edges.
func findSubtasks(ctx context.Context, tx *Tx, where string, args ...any) ([]*dbplane.Subtask, error) {
	rows, err := tx.Query(ctx, `SELECT `+subtaskColumns+` FROM subtasks s WHERE `+where+` ORDER BY s.task_id, s.seq`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var subs []*dbplane.Subtask
	byID := map[int64]*dbplane.Subtask{}
	for rows.Next() {
		s, err := scanSubtask(rows)
		if err != nil {
			return nil, err
		}
		subs = append(subs, s)
		byID[s.ID] = s
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(subs) == 0 {
		return subs, nil
	}
	return subs, attachEdges(ctx, tx, byID)
}

// edgeLookupMax is the number of subtasks up to which attachEdges loads
// only the edges that touch them rather than all edges of their tasks.
const edgeLookupMax = 64

// attachEdges fills the upstreams and downstreams of subs. A few subtasks
// (a claim, a finish) load only their own edges: loading all edges of their
// task would make every step of a DAG cost time in proportion to its size.
// Whole tasks load their edges by task.
func attachEdges(ctx context.Context, tx *Tx, byID map[int64]*dbplane.Subtask) error {
	var (
		where string
		args  []any
	)
	if len(byID) <= edgeLookupMax {
		for id := range byID {
			args = append(args, id)
		}
		in := placeholders(len(args))
		where = `upstream_id IN (` + in + `) OR downstream_id IN (` + in + `)`
		args = append(args, args...)
	} else {
		taskIDs := map[int64]bool{}
		for _, s := range byID {
			if !taskIDs[s.TaskID] {
				taskIDs[s.TaskID] = true
				args = append(args, s.TaskID)
			}
		}
		where = `task_id IN (` + placeholders(len(args)) + `)`
	}
	rows, err := tx.Query(ctx, `SELECT upstream_id, downstream_id FROM subtask_edges WHERE `+where+
		` ORDER BY upstream_id, downstream_id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var up, down int64
		if err := rows.Scan(&up, &down); err != nil {
			return err
		}
		if s, ok := byID[up]; ok {
			s.Downstreams = append(s.Downstreams, down)
		}
		if s, ok := byID[down]; ok {
			s.Upstreams = append(s.Upstreams, up)
		}
	}
	return rows.Err()
}

// FindSubtask returns one subtask of a task.
func (db *DB) FindSubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	var s *dbplane.Subtask
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		s, err = findSubtask(ctx, tx, taskID, subtaskID)
		return err
	})
	return s, dbplane.E("sqlstore.FindSubtask", err)
}

func findSubtask(ctx context.Context, tx *Tx, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	subs, err := findSubtasks(ctx, tx, `s.id = ? AND s.task_id = ?`, subtaskID, taskID)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "subtask %d of task %d not found", subtaskID, taskID)
	}
	return subs[0], nil
}

// FindTasks returns a page of tasks, newest first, without their subtasks.
func (db *DB) FindTasks(ctx context.Context, f dbplane.TaskFilter) ([]*dbplane.Task, int, error) {
	var (
		tasks []*dbplane.Task
		total int
	)
	err := db.read(ctx, func(tx *Tx) error {
		where, args := []string{"1 = 1"}, []any{}
		if f.ClusterID != nil {
			where, args = append(where, "cluster_id = ?"), append(args, *f.ClusterID)
		}
		if f.ProjectIDs != nil {
			if len(f.ProjectIDs) == 0 {
				tasks = []*dbplane.Task{}
				return nil
			}
			where = append(where, "project_id IN ("+placeholders(len(f.ProjectIDs))+")")
			for _, id := range f.ProjectIDs {
				args = append(args, id)
			}
		}
		if f.Status != nil {
			where, args = append(where, "status = ?"), append(args, string(*f.Status))
		}
		if f.Kind != nil {
			where, args = append(where, "kind = ?"), append(args, *f.Kind)
		}
		if f.Name != nil {
			where, args = append(where, "LOWER(name) LIKE ?"), append(args, "%"+strings.ToLower(*f.Name)+"%")
		}
		cond := strings.Join(where, " AND ")
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM tasks WHERE `+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE `+cond+` ORDER BY id DESC LIMIT ? OFFSET ?`,
			append(args, pageLimit(f.Limit), max(f.Offset, 0))...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTask(rows)
			if err != nil {
				return err
			}
			tasks = append(tasks, t)
		}
		return rows.Err()
	})
	return tasks, total, dbplane.E("sqlstore.FindTasks", err)
}

// pageLimit applies the default and maximum page sizes.
func pageLimit(limit int) int {
	switch {
	case limit <= 0:
		return dbplane.DefaultPageSize
	case limit > dbplane.MaxPageSize:
		return dbplane.MaxPageSize
	}
	return limit
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// placeholders returns n comma-separated `?`.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
