package httpapi_test

import (
	"context"

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
	IssueTokenFn   func(ctx context.Context, user, password string) (*dbplane.Token, error)
	AuthenticateFn func(ctx context.Context, token string) (*dbplane.User, error)
}

var _ dbplane.AuthService = (*authService)(nil)

func (s *authService) IssueToken(ctx context.Context, user, password string) (*dbplane.Token, error) {
	return s.IssueTokenFn(ctx, user, password)
}

func (s *authService) Authenticate(ctx context.Context, token string) (*dbplane.User, error) {
	return s.AuthenticateFn(ctx, token)
}
