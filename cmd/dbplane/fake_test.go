package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/cmd/dbplane/internal/taskview/tasktest"
	"github.com/dbplane/dbplane/httpapi"
)

// fakeAPI implements api with function fields; a call whose field is nil
// fails with KindInternal, so a test notices a call it did not expect.
type fakeAPI struct {
	CreateClusterFn   func(spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error)
	FindClusterByIDFn func(id int64) (*dbplane.Cluster, error)
	FindClustersFn    func(f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error)
	DeleteClusterFn   func(id int64, dryRun bool) (*dbplane.Task, error)
	PowerClusterFn    func(kind string, id int64, dryRun bool) (*dbplane.Task, error)
	ChangePasswordFn  func(id int64, password string, dryRun bool) (*dbplane.Task, error)
	UpdateParamsFn    func(id int64, params map[string]string, dryRun bool) (*dbplane.Task, error)
	FindTaskByIDFn    func(id int64) (*dbplane.Task, error)
	FindTasksFn       func(f dbplane.TaskFilter) ([]*dbplane.Task, int, error)
	RetryTaskFn       func(id int64) (*dbplane.Task, error)
	RollbackTaskFn    func(id int64) (*dbplane.Task, error)
	RetrySubtaskFn    func(taskID, subtaskID int64) (*dbplane.Subtask, error)
	SkipSubtaskFn     func(taskID, subtaskID int64) (*dbplane.Subtask, error)
	CancelSubtaskFn   func(taskID, subtaskID int64) (*dbplane.Subtask, error)
	SubtaskLogFn      func(taskID, subtaskID int64) ([]dbplane.LogLine, error)
	WatchTaskFn       func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error)
	FindHostsFn       func(f dbplane.HostFilter) ([]*dbplane.Host, int, error)
	IssueTokenFn      func(user, password string) (*dbplane.Token, error)
	AuthenticateFn    func(token string) (*dbplane.Principal, error)
	WhoamiFn          func() (*dbplane.User, error)
	CatalogFn         func() (*dbplane.Catalog, error)
	CatalogEnginesFn  func(engine string) ([]dbplane.EngineVersion, error)
	CatalogFlavorsFn  func(engine string) ([]httpapi.FlavorInfo, error)
	CatalogFlavorFn   func(code string) (*httpapi.FlavorInfo, error)

	mu         sync.Mutex
	tokens     []string      // the token of every connect, in order
	tlsConfigs []*tls.Config // the TLS configuration of every connect
}

var _ api = (*fakeAPI)(nil)

func unexpected(method string) error {
	return dbplane.Errorf(dbplane.KindInternal, "unexpected call to %s", method)
}

// connect is a connectFunc that returns f and records the token and the
// TLS configuration.
func (f *fakeAPI) connect(_, token string, tc *tls.Config) api {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, token)
	f.tlsConfigs = append(f.tlsConfigs, tc)
	return f
}

// lastToken is the token of the last connect.
func (f *fakeAPI) lastToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tokens) == 0 {
		return ""
	}
	return f.tokens[len(f.tokens)-1]
}

func (f *fakeAPI) CreateCluster(_ context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
	if f.CreateClusterFn == nil {
		return nil, nil, unexpected("CreateCluster")
	}
	return f.CreateClusterFn(spec, dryRun)
}

func (f *fakeAPI) FindClusterByID(_ context.Context, id int64) (*dbplane.Cluster, error) {
	if f.FindClusterByIDFn == nil {
		return nil, unexpected("FindClusterByID")
	}
	return f.FindClusterByIDFn(id)
}

func (f *fakeAPI) FindClusters(_ context.Context, filter dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
	if f.FindClustersFn == nil {
		return nil, 0, unexpected("FindClusters")
	}
	return f.FindClustersFn(filter)
}

func (f *fakeAPI) DeleteCluster(_ context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	if f.DeleteClusterFn == nil {
		return nil, unexpected("DeleteCluster")
	}
	return f.DeleteClusterFn(id, dryRun)
}

func (f *fakeAPI) StopCluster(_ context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return f.power(dbplane.TaskKindClusterStop, id, dryRun)
}

func (f *fakeAPI) StartCluster(_ context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return f.power(dbplane.TaskKindClusterStart, id, dryRun)
}

func (f *fakeAPI) RestartCluster(_ context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return f.power(dbplane.TaskKindClusterRestart, id, dryRun)
}

func (f *fakeAPI) ChangePassword(_ context.Context, id int64, password string, dryRun bool) (*dbplane.Task, error) {
	if f.ChangePasswordFn == nil {
		return nil, unexpected("ChangePassword")
	}
	return f.ChangePasswordFn(id, password, dryRun)
}

func (f *fakeAPI) UpdateParameters(_ context.Context, id int64, params map[string]string, dryRun bool) (*dbplane.Task, error) {
	if f.UpdateParamsFn == nil {
		return nil, unexpected("UpdateParameters")
	}
	return f.UpdateParamsFn(id, params, dryRun)
}

// power answers stop, start and restart, which tell themselves apart by
// the task kind they pass.
func (f *fakeAPI) power(kind string, id int64, dryRun bool) (*dbplane.Task, error) {
	if f.PowerClusterFn == nil {
		return nil, unexpected(kind)
	}
	return f.PowerClusterFn(kind, id, dryRun)
}

func (f *fakeAPI) FindTaskByID(_ context.Context, id int64) (*dbplane.Task, error) {
	if f.FindTaskByIDFn == nil {
		return nil, unexpected("FindTaskByID")
	}
	return f.FindTaskByIDFn(id)
}

func (f *fakeAPI) FindTasks(_ context.Context, filter dbplane.TaskFilter) ([]*dbplane.Task, int, error) {
	if f.FindTasksFn == nil {
		return nil, 0, unexpected("FindTasks")
	}
	return f.FindTasksFn(filter)
}

func (f *fakeAPI) RetryTask(_ context.Context, id int64) (*dbplane.Task, error) {
	if f.RetryTaskFn == nil {
		return nil, unexpected("RetryTask")
	}
	return f.RetryTaskFn(id)
}

func (f *fakeAPI) RollbackTask(_ context.Context, id int64) (*dbplane.Task, error) {
	if f.RollbackTaskFn == nil {
		return nil, unexpected("RollbackTask")
	}
	return f.RollbackTaskFn(id)
}

func (f *fakeAPI) RetrySubtask(_ context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	if f.RetrySubtaskFn == nil {
		return nil, unexpected("RetrySubtask")
	}
	return f.RetrySubtaskFn(taskID, subtaskID)
}

func (f *fakeAPI) SkipSubtask(_ context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	if f.SkipSubtaskFn == nil {
		return nil, unexpected("SkipSubtask")
	}
	return f.SkipSubtaskFn(taskID, subtaskID)
}

func (f *fakeAPI) CancelSubtask(_ context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	if f.CancelSubtaskFn == nil {
		return nil, unexpected("CancelSubtask")
	}
	return f.CancelSubtaskFn(taskID, subtaskID)
}

func (f *fakeAPI) SubtaskLog(_ context.Context, taskID, subtaskID int64) ([]dbplane.LogLine, error) {
	if f.SubtaskLogFn == nil {
		return nil, unexpected("SubtaskLog")
	}
	return f.SubtaskLogFn(taskID, subtaskID)
}

func (f *fakeAPI) WatchTask(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
	if f.WatchTaskFn == nil {
		return nil, unexpected("WatchTask")
	}
	return f.WatchTaskFn(ctx, id, after)
}

func (f *fakeAPI) FindHosts(_ context.Context, filter dbplane.HostFilter) ([]*dbplane.Host, int, error) {
	if f.FindHostsFn == nil {
		return nil, 0, unexpected("FindHosts")
	}
	return f.FindHostsFn(filter)
}

func (f *fakeAPI) IssueToken(_ context.Context, user, password string) (*dbplane.Token, error) {
	if f.IssueTokenFn == nil {
		return nil, unexpected("IssueToken")
	}
	return f.IssueTokenFn(user, password)
}

func (f *fakeAPI) Authenticate(_ context.Context, token string) (*dbplane.Principal, error) {
	if f.AuthenticateFn == nil {
		return nil, unexpected("Authenticate")
	}
	return f.AuthenticateFn(token)
}

func (f *fakeAPI) AuthenticatePassword(context.Context, string, string) (*dbplane.Principal, error) {
	return nil, unexpected("AuthenticatePassword")
}

func (f *fakeAPI) AuthenticateSignature(context.Context, string, func(string) error) (*dbplane.Principal, error) {
	return nil, unexpected("AuthenticateSignature")
}

func (f *fakeAPI) Whoami(context.Context) (*dbplane.User, error) {
	if f.WhoamiFn == nil {
		return nil, unexpected("Whoami")
	}
	return f.WhoamiFn()
}

func (f *fakeAPI) Catalog(context.Context) (*dbplane.Catalog, error) {
	if f.CatalogFn == nil {
		return nil, unexpected("Catalog")
	}
	return f.CatalogFn()
}

func (f *fakeAPI) CatalogEngines(_ context.Context, engine string) ([]dbplane.EngineVersion, error) {
	if f.CatalogEnginesFn == nil {
		return nil, unexpected("CatalogEngines")
	}
	return f.CatalogEnginesFn(engine)
}

func (f *fakeAPI) CatalogFlavors(_ context.Context, engine string) ([]httpapi.FlavorInfo, error) {
	if f.CatalogFlavorsFn == nil {
		return nil, unexpected("CatalogFlavors")
	}
	return f.CatalogFlavorsFn(engine)
}

func (f *fakeAPI) CatalogFlavor(_ context.Context, code string) (*httpapi.FlavorInfo, error) {
	if f.CatalogFlavorFn == nil {
		return nil, unexpected("CatalogFlavor")
	}
	return f.CatalogFlavorFn(code)
}

// t0 is the time the fake world starts at, and at and atp the times
// after it: the task fixtures' clock.
var (
	t0  = tasktest.T0
	at  = tasktest.At
	atp = tasktest.AtP
)

// The task fixtures the renderer's tests share.
var (
	createTask   = tasktest.CreateTask
	subtaskEvent = tasktest.SubtaskEvent
	taskEvent    = tasktest.TaskEvent
	eventsOf     = tasktest.EventsOf
)

// result is the outcome of one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the CLI with args against f, with the environment vars
// (HOME and XDG_CONFIG_HOME point at a temporary directory unless set) and
// stdin as standard input.
func runCLI(t *testing.T, f *fakeAPI, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runCLIContext(t, t.Context(), f, vars, stdin, args...)
}

func runCLIContext(t *testing.T, ctx context.Context, f *fakeAPI, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	env := map[string]string{"XDG_CONFIG_HOME": t.TempDir(), "HOME": t.TempDir()}
	for k, v := range vars {
		env[k] = v
	}
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, envOf(f, env, stdin, &stdout, &stderr))
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// envOf is the process environment of a test run.
func envOf(f *fakeAPI, vars map[string]string, stdin string, stdout, stderr *bytes.Buffer) env {
	return env{
		stdin:   strings.NewReader(stdin),
		stdout:  stdout,
		stderr:  stderr,
		getenv:  func(k string) string { return vars[k] },
		connect: f.connect,
		now:     func() time.Time { return at(100) },
	}
}

// check fails t unless r has the exit code want.
func (r result) check(t *testing.T, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
}
