package dbplane

import (
	"context"
	"time"
)

// Store is the metadata store: the control plane's only state. Package
// sqlstore implements it on SQLite and PostgreSQL. Every method is one
// transaction; task transitions are committed before and after side effects.
type Store interface {
	ClusterStore
	TaskStore
	HostStore
	UserStore
	ProjectStore
	AuditStore
	// ResealSecrets re-encrypts every secret the store keeps (cluster
	// admin passwords, access-key secrets, the CA key) under the primary
	// key of its secret box, for key rotation, and returns how many it
	// re-encrypted.
	ResealSecrets(ctx context.Context) (int, error)
	// Close releases the store's connections.
	Close() error
}

// ClusterStore persists clusters.
type ClusterStore interface {
	// CreateCluster inserts c (status creating) in project c.ProjectID
	// with its admin password (encrypted), its placed nodes and the create
	// task of plan, in one transaction. It sets c.ID, c.CreatedAt and
	// plan.ClusterID. KindConflict if the name is taken; KindConflict
	// wrapping ErrPlacementRace if a node's host or port was taken
	// meanwhile; KindQuotaExceeded naming the quota ("quota.clusters",
	// "quota.nodes", "quota.storage_gb") if the project's quota would be
	// exceeded, checked in the same transaction so that concurrent creates
	// cannot overrun it.
	CreateCluster(ctx context.Context, c *Cluster, password string, plan TaskPlan) (*Task, error)
	// ClusterPassword returns a cluster's admin password, for the steps
	// that configure it. Never return it to clients or log it.
	ClusterPassword(ctx context.Context, id int64) (string, error)
	// SetNodesStatus sets the status of every node of a cluster.
	SetNodesStatus(ctx context.Context, clusterID int64, status string) error
	// DeleteNodes forgets a cluster's nodes, freeing their hosts and ports.
	DeleteNodes(ctx context.Context, clusterID int64) error
	// FindClusterByID returns KindNotFound if missing.
	FindClusterByID(ctx context.Context, id int64) (*Cluster, error)
	// FindClusters returns a page (ordered by id) and the total count.
	FindClusters(ctx context.Context, filter ClusterFilter) ([]*Cluster, int, error)
	// StartClusterTask sets the cluster's status and creates the task of
	// plan for it, in one transaction. KindNotFound if the cluster is
	// missing; KindConflict if its status is one of refuse.
	StartClusterTask(ctx context.Context, clusterID int64, status ClusterStatus, refuse []ClusterStatus, plan TaskPlan) (*Task, error)
	// StartPasswordChange is StartClusterTask that also keeps password,
	// encrypted, as the secret of the new task: the task's steps read it
	// with TaskPassword, and CommitTaskPassword makes it the cluster's.
	StartPasswordChange(ctx context.Context, clusterID int64, status ClusterStatus, refuse []ClusterStatus, password string, plan TaskPlan) (*Task, error)
	// TaskPassword returns the new password of a password change task.
	// KindNotFound if the task has none. Never return it to clients or
	// log it.
	TaskPassword(ctx context.Context, taskID int64) (string, error)
	// CommitTaskPassword replaces the admin password of the task's cluster
	// with the task's new password and forgets the task's copy. Running it
	// again once the copy is gone does nothing.
	CommitTaskPassword(ctx context.Context, taskID int64) error
	// SetClusterParameters merges change into the cluster's
	// Spec.Parameters (see MergeParameters).
	SetClusterParameters(ctx context.Context, clusterID int64, change map[string]string) error
}

// TaskStore persists tasks and performs their state transitions. The task
// engine is the only caller of Claim, Renew, Finish and Release.
type TaskStore interface {
	// CreateTask creates a task from plan, with its first subtasks READY.
	CreateTask(ctx context.Context, plan TaskPlan) (*Task, error)
	// FindTaskByID returns the task with its subtasks in topological order.
	FindTaskByID(ctx context.Context, id int64) (*Task, error)
	// FindTasks returns a page of tasks, newest first, without subtasks.
	FindTasks(ctx context.Context, filter TaskFilter) ([]*Task, int, error)
	// FindSubtask returns one subtask of a task. KindNotFound if missing.
	FindSubtask(ctx context.Context, taskID, subtaskID int64) (*Subtask, error)

	// ClaimSubtasks leases up to n READY subtasks that are due, of tasks
	// that hold their cluster, to executor until now+lease; they become
	// RUNNING.
	ClaimSubtasks(ctx context.Context, executor string, n int, lease time.Duration) ([]*Subtask, error)
	// RenewLeases extends the leases executor holds and returns the ids of
	// its subtasks that a user asked to cancel.
	RenewLeases(ctx context.Context, executor string, lease time.Duration) (canceling []int64, err error)
	// FinishSubtask records the outcome of a run by executor and returns the
	// subtask's task (without subtasks) if that made the task end. It is a
	// no-op (KindConflict) if executor no longer holds the lease.
	FinishSubtask(ctx context.Context, executor string, id int64, outcome Outcome) (ended *Task, err error)
	// ReleaseSubtasks returns the RUNNING subtasks of executor to READY
	// (CANCELING ones to FAILED), for a graceful shutdown.
	ReleaseSubtasks(ctx context.Context, executor string) error
	// ExpireLeases returns subtasks whose lease has expired to READY
	// (CANCELING ones to FAILED) and reports how many it changed.
	ExpireLeases(ctx context.Context) (int, error)

	// RetryTask, RollbackTask, RetrySubtask, SkipSubtask and CancelSubtask
	// implement the TaskService operations of the same names.
	RetryTask(ctx context.Context, id int64) (*Task, error)
	RollbackTask(ctx context.Context, id int64) (*Task, error)
	RetrySubtask(ctx context.Context, taskID, subtaskID int64) (*Subtask, error)
	SkipSubtask(ctx context.Context, taskID, subtaskID int64) (*Subtask, error)
	CancelSubtask(ctx context.Context, taskID, subtaskID int64) (*Subtask, error)

	// AppendSubtaskLog appends lines to a subtask's log.
	AppendSubtaskLog(ctx context.Context, subtaskID int64, lines ...string) error
	// SubtaskLog returns a subtask's log. KindNotFound if missing.
	SubtaskLog(ctx context.Context, taskID, subtaskID int64) ([]LogLine, error)
	// TaskEvents returns up to limit events of a task with ID > after.
	TaskEvents(ctx context.Context, taskID, after int64, limit int) ([]TaskEvent, error)
}

// Outcome is the result of one run of a subtask's handler.
type Outcome struct {
	// Run is the subtask's RunCount when it was claimed: the claim's
	// fencing token. An outcome whose run is not the subtask's latest
	// claim is refused, even from the same executor.
	Run       int
	Err       error     // nil: success
	Permanent bool      // do not retry
	Canceled  bool      // stopped because a user canceled it
	RetryAt   time.Time // when to retry, if Err is retryable
}

// HostStore persists hosts.
type HostStore interface {
	// FindHostByID returns a host. KindNotFound if missing.
	FindHostByID(ctx context.Context, id int64) (*Host, error)
	// HostLoads returns every host with what is placed on it.
	HostLoads(ctx context.Context) ([]HostLoad, error)
	// FindHosts returns a page of hosts (ordered by id) and the total.
	FindHosts(ctx context.Context, filter HostFilter) ([]*Host, int, error)

	// CreateJoinToken stores a join token by the hash of its secret and
	// sets t.ID and t.CreatedAt.
	CreateJoinToken(ctx context.Context, t *JoinToken, secretHash string) error
	// JoinHost consumes the join token of secretHash and registers h, in
	// one transaction: a host of the same address is updated (keeping its
	// id and drained flag), else h is inserted; h gets the stored record.
	// KindUnauthorized if the token is unknown, used, or expired at now;
	// of concurrent joins with one token exactly one succeeds.
	JoinHost(ctx context.Context, secretHash string, now time.Time, h *Host) error
	// DeleteHost removes a host. KindNotFound if missing; KindConflict
	// while nodes are placed on it.
	DeleteHost(ctx context.Context, id int64) error
	// SetHostDrained sets whether a host takes new nodes and returns it.
	SetHostDrained(ctx context.Context, id int64, drained bool) (*Host, error)
	// SetHostOnline records a successful health check at seen: status
	// ONLINE (unless DELETING), last_seen_at, and the facts that change
	// (OS, architecture, CPUs, memory, free disk). KindNotFound if missing.
	SetHostOnline(ctx context.Context, id int64, facts HostFacts, seen time.Time) error
	// SetHostOffline marks a host OFFLINE if it is ONLINE and was last seen
	// before seenBefore, and reports whether it changed it. A NEW host
	// stays NEW until its first successful check.
	SetHostOffline(ctx context.Context, id int64, seenBefore time.Time) (bool, error)
}

// UserStore persists users, their credentials and failed attempts. Users
// are returned with their role bindings.
type UserStore interface {
	// CreateUser inserts a user with a password hash and its Bindings, in
	// one transaction, and sets u.ID. KindConflict if the name is taken;
	// KindNotFound if a binding's project is missing.
	CreateUser(ctx context.Context, u *User, passwordHash string) error
	// FindUserByName returns the user and its password hash.
	FindUserByName(ctx context.Context, name string) (*User, string, error)
	// FindUserByID returns KindNotFound if missing.
	FindUserByID(ctx context.Context, id int64) (*User, error)
	// FindUsers returns a page of users (ordered by id) and the total.
	FindUsers(ctx context.Context, filter UserFilter) ([]*User, int, error)
	// SetUserPassword replaces a user's password hash and revokes its
	// tokens at now.
	SetUserPassword(ctx context.Context, userID int64, passwordHash string, now time.Time) error
	// DeleteUser removes a user with its bindings, tokens and access keys.
	DeleteUser(ctx context.Context, id int64) error

	// CreateToken stores a token by the hash of its secret.
	CreateToken(ctx context.Context, t *Token, secretHash string) error
	// FindUserByToken returns the user and the id of an unexpired,
	// unrevoked token, by the hash of its secret. KindUnauthorized if none.
	FindUserByToken(ctx context.Context, secretHash string, now time.Time) (*User, int64, error)
	// FindToken returns a token without its secret. KindNotFound if missing.
	FindToken(ctx context.Context, id int64) (*Token, error)
	// FindTokens returns a user's tokens unexpired at now, revoked or not.
	FindTokens(ctx context.Context, userID int64, now time.Time) ([]*Token, error)
	// RevokeToken revokes a token at now. KindNotFound if missing.
	RevokeToken(ctx context.Context, id int64, now time.Time) error

	// CreateAccessKey stores an access key with its secret, encrypted.
	// KindConflict if the id is taken, or if the user has MaxAccessKeys
	// already (then naming the limit).
	CreateAccessKey(ctx context.Context, k *AccessKey, secret string) error
	// FindAccessKey returns an access key and its decrypted secret.
	// KindNotFound if missing.
	FindAccessKey(ctx context.Context, id string) (*AccessKey, string, error)
	// FindAccessKeys returns a user's access keys without secrets.
	FindAccessKeys(ctx context.Context, userID int64) ([]*AccessKey, error)
	// DeleteAccessKey removes an access key. KindNotFound if missing.
	DeleteAccessKey(ctx context.Context, id string) error
	// TouchAccessKey records that a key was used at now.
	TouchAccessKey(ctx context.Context, id string, now time.Time) error

	// RecordAuthFailure counts a failed authentication of subject (such as
	// "user:alice" or "access-key:AK…") at now under policy and returns
	// until when the subject is locked out (zero if it is not).
	RecordAuthFailure(ctx context.Context, subject string, now time.Time, policy LockoutPolicy) (time.Time, error)
	// AuthLockedUntil returns until when subject is locked out at now, or
	// the zero time.
	AuthLockedUntil(ctx context.Context, subject string, now time.Time) (time.Time, error)
	// ClearAuthFailures forgets subject's failures after a success.
	ClearAuthFailures(ctx context.Context, subject string) error
}

// LockoutPolicy says when repeated authentication failures lock a subject
// out: MaxFailures within Window lock it for LockFor.
type LockoutPolicy struct {
	MaxFailures int
	Window      time.Duration
	LockFor     time.Duration
}

// DefaultLockoutPolicy locks a user or access key out for 15 minutes after
// 5 failures within 15 minutes: slow enough to stop guessing, short enough
// that a typo-prone user recovers on their own.
var DefaultLockoutPolicy = LockoutPolicy{MaxFailures: 5, Window: 15 * time.Minute, LockFor: 15 * time.Minute}

// ProjectStore persists projects and role bindings.
type ProjectStore interface {
	// CreateProject inserts a project and sets p.ID and p.CreatedAt.
	// KindConflict if the name is taken.
	CreateProject(ctx context.Context, p *Project) error
	// FindProjectByID and FindProjectByName return KindNotFound if missing.
	FindProjectByID(ctx context.Context, id int64) (*Project, error)
	FindProjectByName(ctx context.Context, name string) (*Project, error)
	// FindProjects returns a page of projects (ordered by id) and the
	// total.
	FindProjects(ctx context.Context, filter ProjectFilter) ([]*Project, int, error)
	// UpdateProject replaces a project's description and quota.
	// KindNotFound if missing.
	UpdateProject(ctx context.Context, p *Project) error
	// DeleteProject removes a project and its bindings. KindNotFound if
	// missing; KindConflict while it owns clusters.
	DeleteProject(ctx context.Context, id int64) error
	// ProjectUsage counts what a project holds.
	ProjectUsage(ctx context.Context, id int64) (QuotaUsage, error)
	// BindRole inserts or replaces the binding of b.UserID on b.ProjectID
	// (GlobalScope for every project). KindNotFound if the user or project
	// is missing.
	BindRole(ctx context.Context, b *RoleBinding) error
	// UnbindRole removes a binding. KindNotFound if missing. BindRole,
	// UnbindRole and DeleteUser refuse, in their transaction, to leave no
	// global admin: KindConflict wrapping ErrLastAdmin.
	UnbindRole(ctx context.Context, userID, projectID int64) error
	// FindRoleBindings returns the bindings on a project, or the global
	// ones for GlobalScope, by user id.
	FindRoleBindings(ctx context.Context, projectID int64) ([]RoleBinding, error)
}

// ClusterOutcome says what a task's end means for its cluster: the status
// to set, or that the cluster record is to be removed. ok is false when the
// cluster is left as it is.
func ClusterOutcome(kind string, status TaskStatus, op Operation) (next ClusterStatus, remove, ok bool) {
	switch kind {
	case TaskKindClusterCreate:
		switch {
		case op == OpRollback && status == TaskSuccessful:
			return "", true, true
		case status == TaskSuccessful:
			return ClusterRunning, false, true
		case status == TaskFailed:
			return ClusterFailed, false, true
		case op == OpRollback && status == TaskRunning:
			return ClusterDeleting, false, true
		case status == TaskRunning:
			return ClusterCreating, false, true
		}
	case TaskKindClusterDelete:
		switch status {
		case TaskSuccessful:
			return "", true, true
		case TaskFailed:
			return ClusterAbnormal, false, true
		case TaskRunning:
			return ClusterDeleting, false, true
		}
	case TaskKindClusterStop, TaskKindClusterStart, TaskKindClusterRestart,
		TaskKindClusterPassword, TaskKindClusterParameters:
		return powerOutcome(kind, status)
	}
	return "", false, false
}

// powerOutcome is ClusterOutcome for stop, start and restart tasks, and
// for password and parameter changes (updating while they run): the
// cluster is stopping, starting or restarting while the task runs (again
// after a retry), stopped or running when it succeeds, and abnormal when
// it fails, some of its nodes possibly down. These tasks prohibit
// rollback, so the operation does not matter.
func powerOutcome(kind string, status TaskStatus) (next ClusterStatus, remove, ok bool) {
	running, done := ClusterRestarting, ClusterRunning
	switch kind {
	case TaskKindClusterStop:
		running, done = ClusterStopping, ClusterStopped
	case TaskKindClusterStart:
		running = ClusterStarting
	case TaskKindClusterPassword, TaskKindClusterParameters:
		running = ClusterUpdating
	}
	switch status {
	case TaskSuccessful:
		return done, false, true
	case TaskFailed:
		return ClusterAbnormal, false, true
	case TaskRunning:
		return running, false, true
	}
	return "", false, false
}
