package httpapi_test

import (
	"context"
	"sync"
	"time"

	"github.com/dbplane/dbplane"
)

// The fakes below implement the service interfaces with function fields, so
// each test states only the behaviour it relies on. A call to a method whose
// function is unset panics, which the server turns into a 500 that fails the
// test.

type clusterService struct {
	CreateClusterFn   func(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error)
	FindClusterByIDFn func(ctx context.Context, id int64) (*dbplane.Cluster, error)
	FindClustersFn    func(ctx context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error)
	DeleteClusterFn   func(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error)
	StopClusterFn     func(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error)
	StartClusterFn    func(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error)
	RestartClusterFn  func(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error)
	ChangePasswordFn  func(ctx context.Context, id int64, password string, dryRun bool) (*dbplane.Task, error)
	UpdateParamsFn    func(ctx context.Context, id int64, params map[string]string, dryRun bool) (*dbplane.Task, error)
}

var _ dbplane.ClusterService = (*clusterService)(nil)

func (s *clusterService) CreateCluster(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
	return s.CreateClusterFn(ctx, spec, dryRun)
}

func (s *clusterService) FindClusterByID(ctx context.Context, id int64) (*dbplane.Cluster, error) {
	return s.FindClusterByIDFn(ctx, id)
}

func (s *clusterService) FindClusters(ctx context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
	return s.FindClustersFn(ctx, f)
}

func (s *clusterService) DeleteCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return s.DeleteClusterFn(ctx, id, dryRun)
}

func (s *clusterService) StopCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return s.StopClusterFn(ctx, id, dryRun)
}

func (s *clusterService) StartCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return s.StartClusterFn(ctx, id, dryRun)
}

func (s *clusterService) RestartCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return s.RestartClusterFn(ctx, id, dryRun)
}

func (s *clusterService) ChangePassword(ctx context.Context, id int64, password string, dryRun bool) (*dbplane.Task, error) {
	return s.ChangePasswordFn(ctx, id, password, dryRun)
}

func (s *clusterService) UpdateParameters(ctx context.Context, id int64, params map[string]string, dryRun bool) (*dbplane.Task, error) {
	return s.UpdateParamsFn(ctx, id, params, dryRun)
}

type taskService struct {
	FindTaskByIDFn  func(ctx context.Context, id int64) (*dbplane.Task, error)
	FindTasksFn     func(ctx context.Context, f dbplane.TaskFilter) ([]*dbplane.Task, int, error)
	RetryTaskFn     func(ctx context.Context, id int64) (*dbplane.Task, error)
	RollbackTaskFn  func(ctx context.Context, id int64) (*dbplane.Task, error)
	RetrySubtaskFn  func(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error)
	SkipSubtaskFn   func(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error)
	CancelSubtaskFn func(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error)
	SubtaskLogFn    func(ctx context.Context, taskID, subtaskID int64) ([]dbplane.LogLine, error)
	WatchTaskFn     func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error)
}

var _ dbplane.TaskService = (*taskService)(nil)

func (s *taskService) FindTaskByID(ctx context.Context, id int64) (*dbplane.Task, error) {
	return s.FindTaskByIDFn(ctx, id)
}

func (s *taskService) FindTasks(ctx context.Context, f dbplane.TaskFilter) ([]*dbplane.Task, int, error) {
	return s.FindTasksFn(ctx, f)
}

func (s *taskService) RetryTask(ctx context.Context, id int64) (*dbplane.Task, error) {
	return s.RetryTaskFn(ctx, id)
}

func (s *taskService) RollbackTask(ctx context.Context, id int64) (*dbplane.Task, error) {
	return s.RollbackTaskFn(ctx, id)
}

func (s *taskService) RetrySubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	return s.RetrySubtaskFn(ctx, taskID, subtaskID)
}

func (s *taskService) SkipSubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	return s.SkipSubtaskFn(ctx, taskID, subtaskID)
}

func (s *taskService) CancelSubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	return s.CancelSubtaskFn(ctx, taskID, subtaskID)
}

func (s *taskService) SubtaskLog(ctx context.Context, taskID, subtaskID int64) ([]dbplane.LogLine, error) {
	return s.SubtaskLogFn(ctx, taskID, subtaskID)
}

func (s *taskService) WatchTask(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
	return s.WatchTaskFn(ctx, id, after)
}

type hostService struct {
	FindHostsFn func(ctx context.Context, f dbplane.HostFilter) ([]*dbplane.Host, int, error)
}

var _ dbplane.HostService = (*hostService)(nil)

func (s *hostService) FindHosts(ctx context.Context, f dbplane.HostFilter) ([]*dbplane.Host, int, error) {
	return s.FindHostsFn(ctx, f)
}

type authService struct {
	IssueTokenFn            func(ctx context.Context, user, password string) (*dbplane.Token, error)
	AuthenticateFn          func(ctx context.Context, token string) (*dbplane.User, error)
	AuthenticateSignatureFn func(ctx context.Context, ak string, verify func(string) error) (*dbplane.Principal, error)
}

var _ dbplane.AuthService = (*authService)(nil)

func (s *authService) IssueToken(ctx context.Context, user, password string) (*dbplane.Token, error) {
	return s.IssueTokenFn(ctx, user, password)
}

// Authenticate wraps the user of AuthenticateFn in a principal, which is
// all the API needs of it.
func (s *authService) Authenticate(ctx context.Context, token string) (*dbplane.Principal, error) {
	u, err := s.AuthenticateFn(ctx, token)
	if err != nil {
		return nil, err
	}
	return &dbplane.Principal{User: u, Via: dbplane.ViaToken}, nil
}

func (s *authService) AuthenticatePassword(ctx context.Context, user, password string) (*dbplane.Principal, error) {
	panic("the native API takes no passwords but at POST /v1/auth/token")
}

func (s *authService) AuthenticateSignature(ctx context.Context, ak string, verify func(string) error) (*dbplane.Principal, error) {
	return s.AuthenticateSignatureFn(ctx, ak, verify)
}

type identityService struct {
	CreateProjectFn   func(ctx context.Context, p *dbplane.Project) error
	FindProjectByIDFn func(ctx context.Context, id int64) (*dbplane.Project, error)
	FindProjectsFn    func(ctx context.Context, f dbplane.ProjectFilter) ([]*dbplane.Project, int, error)
	UpdateProjectFn   func(ctx context.Context, p *dbplane.Project) error
	DeleteProjectFn   func(ctx context.Context, id int64) error
	CreateUserFn      func(ctx context.Context, u *dbplane.User, password string) error
	FindUserByIDFn    func(ctx context.Context, id int64) (*dbplane.User, error)
	FindUsersFn       func(ctx context.Context, f dbplane.UserFilter) ([]*dbplane.User, int, error)
	SetUserPasswordFn func(ctx context.Context, id int64, current, password string) error
	DeleteUserFn      func(ctx context.Context, id int64) error
	BindRoleFn        func(ctx context.Context, b *dbplane.RoleBinding) error
	UnbindRoleFn      func(ctx context.Context, userID, projectID int64) error
	FindMembersFn     func(ctx context.Context, projectID int64) ([]dbplane.RoleBinding, error)
	FindTokensFn      func(ctx context.Context, userID int64) ([]*dbplane.Token, error)
	RevokeTokenFn     func(ctx context.Context, id int64) error
	CreateAccessKeyFn func(ctx context.Context, userID int64, description string) (*dbplane.AccessKey, error)
	FindAccessKeysFn  func(ctx context.Context, userID int64) ([]*dbplane.AccessKey, error)
	DeleteAccessKeyFn func(ctx context.Context, id string) error
}

var _ dbplane.IdentityService = (*identityService)(nil)

func (s *identityService) CreateProject(ctx context.Context, p *dbplane.Project) error {
	return s.CreateProjectFn(ctx, p)
}

func (s *identityService) FindProjectByID(ctx context.Context, id int64) (*dbplane.Project, error) {
	return s.FindProjectByIDFn(ctx, id)
}

func (s *identityService) FindProjects(ctx context.Context, f dbplane.ProjectFilter) ([]*dbplane.Project, int, error) {
	return s.FindProjectsFn(ctx, f)
}

func (s *identityService) UpdateProject(ctx context.Context, p *dbplane.Project) error {
	return s.UpdateProjectFn(ctx, p)
}

func (s *identityService) DeleteProject(ctx context.Context, id int64) error {
	return s.DeleteProjectFn(ctx, id)
}

func (s *identityService) CreateUser(ctx context.Context, u *dbplane.User, password string) error {
	return s.CreateUserFn(ctx, u, password)
}

func (s *identityService) FindUserByID(ctx context.Context, id int64) (*dbplane.User, error) {
	return s.FindUserByIDFn(ctx, id)
}

func (s *identityService) FindUsers(ctx context.Context, f dbplane.UserFilter) ([]*dbplane.User, int, error) {
	return s.FindUsersFn(ctx, f)
}

func (s *identityService) SetUserPassword(ctx context.Context, id int64, current, password string) error {
	return s.SetUserPasswordFn(ctx, id, current, password)
}

func (s *identityService) DeleteUser(ctx context.Context, id int64) error {
	return s.DeleteUserFn(ctx, id)
}

func (s *identityService) BindRole(ctx context.Context, b *dbplane.RoleBinding) error {
	return s.BindRoleFn(ctx, b)
}

func (s *identityService) UnbindRole(ctx context.Context, userID, projectID int64) error {
	return s.UnbindRoleFn(ctx, userID, projectID)
}

func (s *identityService) FindMembers(ctx context.Context, projectID int64) ([]dbplane.RoleBinding, error) {
	return s.FindMembersFn(ctx, projectID)
}

func (s *identityService) FindTokens(ctx context.Context, userID int64) ([]*dbplane.Token, error) {
	return s.FindTokensFn(ctx, userID)
}

func (s *identityService) RevokeToken(ctx context.Context, id int64) error {
	return s.RevokeTokenFn(ctx, id)
}

func (s *identityService) CreateAccessKey(ctx context.Context, userID int64, description string) (*dbplane.AccessKey, error) {
	return s.CreateAccessKeyFn(ctx, userID, description)
}

func (s *identityService) FindAccessKeys(ctx context.Context, userID int64) ([]*dbplane.AccessKey, error) {
	return s.FindAccessKeysFn(ctx, userID)
}

func (s *identityService) DeleteAccessKey(ctx context.Context, id string) error {
	return s.DeleteAccessKeyFn(ctx, id)
}

type auditService struct {
	FindAuditEventsFn func(ctx context.Context, f dbplane.AuditFilter) ([]*dbplane.AuditEvent, int, error)
}

var _ dbplane.AuditService = (*auditService)(nil)

func (s *auditService) FindAuditEvents(ctx context.Context, f dbplane.AuditFilter) ([]*dbplane.AuditEvent, int, error) {
	return s.FindAuditEventsFn(ctx, f)
}

// recorder keeps the audit events the server records.
type recorder struct {
	mu     sync.Mutex
	events []dbplane.AuditEvent
}

func (r *recorder) Record(ctx context.Context, e *dbplane.AuditEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, *e)
}

func (r *recorder) all() []dbplane.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]dbplane.AuditEvent(nil), r.events...)
}

// wait returns the events once there are n, or after a second: an event is
// recorded after its answer is written, so it may land just after the
// client has read the answer.
func (r *recorder) wait(n int) []dbplane.AuditEvent {
	for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		if ev := r.all(); len(ev) >= n || time.Now().After(deadline) {
			return ev
		}
	}
}
