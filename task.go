package dbplane

import (
	"context"
	"encoding/json"
	"time"
)

// TaskStatus is the state of a task, with OCP's values.
type TaskStatus string

// Task statuses. FAILED and SUCCESSFUL are terminal until a user retries or
// rolls back.
const (
	TaskRunning    TaskStatus = "RUNNING"
	TaskFailed     TaskStatus = "FAILED"
	TaskSuccessful TaskStatus = "SUCCESSFUL"
)

// SubtaskStatus is the state of a subtask, with OCP's values.
//
//	PENDING ──(all upstreams SUCCESSFUL)──► READY ──(claimed)──► RUNNING ──► SUCCESSFUL
//	                                          ▲                    │  │
//	                        (retry, backoff,  │                    │  └─(cancel)─► CANCELING ──► FAILED
//	                         lease expired)   └────────────────────┘
//	                                                               └─(error, attempts used)──► FAILED
//	FAILED ──(retry)──► READY;  FAILED ──(skip)──► SUCCESSFUL (operation SKIP)
type SubtaskStatus string

// Subtask statuses.
const (
	SubtaskPending    SubtaskStatus = "PENDING"
	SubtaskReady      SubtaskStatus = "READY"
	SubtaskRunning    SubtaskStatus = "RUNNING"
	SubtaskCanceling  SubtaskStatus = "CANCELING"
	SubtaskFailed     SubtaskStatus = "FAILED"
	SubtaskSuccessful SubtaskStatus = "SUCCESSFUL"
)

// Operation is what was last asked of a task or subtask, with OCP's values.
type Operation string

// Operations.
const (
	OpExecute  Operation = "EXECUTE"
	OpRetry    Operation = "RETRY"
	OpRollback Operation = "ROLLBACK"
	OpSkip     Operation = "SKIP"
	OpCancel   Operation = "CANCEL"
)

// Task kinds: what change a task performs. The kind decides what happens to
// the cluster when the task ends (see ClusterOutcome).
const (
	TaskKindClusterCreate = "cluster.create"
	TaskKindClusterDelete = "cluster.delete"
	// Stop, start and restart keep the cluster's data and nodes; their
	// tasks prohibit rollback (retry them instead: every step is
	// idempotent).
	TaskKindClusterStop    = "cluster.stop"
	TaskKindClusterStart   = "cluster.start"
	TaskKindClusterRestart = "cluster.restart"
)

// Task is a durable DAG of subtasks that performs one change.
type Task struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	ClusterID int64  `json:"cluster_id,omitempty"`
	// ProjectID is the project of the task's cluster; GlobalScope for
	// tasks of the fleet itself.
	ProjectID        int64             `json:"project_id,omitempty"`
	Status           TaskStatus        `json:"status"`
	Operation        Operation         `json:"operation"`
	ProhibitRollback bool              `json:"prohibit_rollback"`
	Creator          string            `json:"creator,omitempty"`
	Context          map[string]string `json:"context,omitempty"`
	CreatedAt        time.Time         `json:"created_at"`
	StartedAt        *time.Time        `json:"started_at,omitempty"`
	FinishedAt       *time.Time        `json:"finished_at,omitempty"`
	Subtasks         []*Subtask        `json:"subtasks,omitempty"` // in topological order
}

// Subtask is one step of a task's DAG.
type Subtask struct {
	ID          int64           `json:"id"`
	TaskID      int64           `json:"task_id"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Handler     string          `json:"handler"`
	Undo        string          `json:"undo,omitempty"` // handler run on rollback; empty: nothing to undo
	Params      json.RawMessage `json:"params,omitempty"`
	Status      SubtaskStatus   `json:"status"`
	Operation   Operation       `json:"operation"`
	Timeout     time.Duration   `json:"-"`
	TimeoutSec  int64           `json:"timeout_seconds"` // Timeout, for clients
	MaxAttempts int             `json:"max_attempts"`
	Attempts    int             `json:"attempts"`  // since the last EXECUTE, RETRY or ROLLBACK
	RunCount    int             `json:"run_count"` // executions in all
	Upstreams   []int64         `json:"upstreams"`
	Downstreams []int64         `json:"downstreams"`
	Executor    string          `json:"executor,omitempty"`
	Error       string          `json:"error,omitempty"`
	NextRunAt   *time.Time      `json:"next_run_at,omitempty"`
	LeaseUntil  *time.Time      `json:"-"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
}

// RunHandler is the name of the handler the subtask runs now: its undo
// handler while the task rolls back.
func (s *Subtask) RunHandler() string {
	if s.Operation == OpRollback {
		return s.Undo
	}
	return s.Handler
}

// TaskPlan is a DAG to create: the planner's output and the store's input.
type TaskPlan struct {
	Name             string
	Kind             string
	ClusterID        int64 // set by the store when the plan creates a cluster
	ProhibitRollback bool
	Creator          string
	Context          map[string]string
	Steps            []PlanStep // any order; After names earlier or later keys
}

// PlanStep is one planned subtask. Keys are unique within a plan.
type PlanStep struct {
	Key         string
	Name        string
	Description string
	Handler     string
	Undo        string
	Params      json.RawMessage
	Timeout     time.Duration // 0: DefaultSubtaskTimeout
	MaxAttempts int           // 0: DefaultMaxAttempts
	After       []string      // keys of upstream steps
}

// Subtask defaults.
const (
	DefaultSubtaskTimeout = 10 * time.Minute
	DefaultMaxAttempts    = 3
)

// TaskFilter selects tasks. Nil fields do not filter.
type TaskFilter struct {
	ClusterID *int64 `json:"cluster_id,omitempty"`
	// ProjectIDs, when not nil, limits the result to these projects; it is
	// set by authorization, never by clients.
	ProjectIDs []int64     `json:"-"`
	Status     *TaskStatus `json:"status,omitempty"`
	Kind       *string     `json:"kind,omitempty"`
	Name       *string     `json:"name,omitempty"` // substring, case-insensitive
	Offset     int         `json:"offset,omitempty"`
	Limit      int         `json:"limit,omitempty"`
}

// TaskEvent is one state change of a task or a subtask, in commit order.
// IDs increase; clients resume a stream after the last ID they saw.
type TaskEvent struct {
	ID        int64     `json:"id"`
	TaskID    int64     `json:"task_id"`
	SubtaskID int64     `json:"subtask_id,omitempty"` // 0 for task-level events
	Name      string    `json:"name,omitempty"`       // subtask name
	Status    string    `json:"status"`               // TaskStatus or SubtaskStatus
	Operation Operation `json:"operation,omitempty"`
	Message   string    `json:"message,omitempty"`
	At        time.Time `json:"at"`
}

// Terminal reports whether the event ends a task run: the task is FAILED or
// SUCCESSFUL.
func (e TaskEvent) Terminal() bool {
	return e.SubtaskID == 0 && (e.Status == string(TaskFailed) || e.Status == string(TaskSuccessful))
}

// LogLine is one line of a subtask's log.
type LogLine struct {
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// TaskService is the task API shared by every front door.
type TaskService interface {
	// FindTaskByID returns the task with its DAG. KindNotFound if missing.
	FindTaskByID(ctx context.Context, id int64) (*Task, error)
	// FindTasks returns a page of tasks (without subtasks) and the total.
	FindTasks(ctx context.Context, filter TaskFilter) ([]*Task, int, error)
	// RetryTask re-runs the FAILED subtasks of a FAILED task. KindConflict
	// if the task is not FAILED or another task holds its cluster.
	RetryTask(ctx context.Context, id int64) (*Task, error)
	// RollbackTask undoes a FAILED task in reverse topological order.
	// KindConflict if it is not FAILED or prohibits rollback.
	RollbackTask(ctx context.Context, id int64) (*Task, error)
	// RetrySubtask re-runs one FAILED subtask. KindConflict otherwise.
	RetrySubtask(ctx context.Context, taskID, subtaskID int64) (*Subtask, error)
	// SkipSubtask marks a FAILED subtask SUCCESSFUL without running it.
	SkipSubtask(ctx context.Context, taskID, subtaskID int64) (*Subtask, error)
	// CancelSubtask asks a RUNNING subtask to stop: it goes CANCELING,
	// then FAILED. KindConflict if it is not RUNNING.
	CancelSubtask(ctx context.Context, taskID, subtaskID int64) (*Subtask, error)
	// SubtaskLog returns the log of a subtask.
	SubtaskLog(ctx context.Context, taskID, subtaskID int64) ([]LogLine, error)
	// WatchTask streams the task's events with ID > after, oldest first.
	// Once every event so far is delivered and the task is FAILED or
	// SUCCESSFUL, the channel closes; it also closes when ctx ends.
	// KindNotFound if the task does not exist.
	WatchTask(ctx context.Context, id int64, after int64) (<-chan TaskEvent, error)
}
