package ocp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/compat/ocp"
	"github.com/dbplane/dbplane/frontdoor"
	"github.com/dbplane/dbplane/signature"
)

// The fakes embed the service interfaces, so that each test sets only the
// functions it relies on: a call to any other method panics, which the
// server answers with a 500 that fails the test.

type fakeClusters struct {
	dbplane.ClusterService
	create func(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error)
	byID   func(ctx context.Context, id int64) (*dbplane.Cluster, error)
	list   func(ctx context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error)
	del    func(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error)
	// power answers stop, start and restart; op is "stop", "start" or
	// "restart".
	power func(ctx context.Context, op string, id int64, dryRun bool) (*dbplane.Task, error)
	// password and params answer ChangePassword and UpdateParameters.
	password func(ctx context.Context, id int64, pw string, dryRun bool) (*dbplane.Task, error)
	params   func(ctx context.Context, id int64, p map[string]string, dryRun bool) (*dbplane.Task, error)
}

func (f *fakeClusters) ChangePassword(ctx context.Context, id int64, pw string, dryRun bool) (*dbplane.Task, error) {
	return f.password(ctx, id, pw, dryRun)
}
func (f *fakeClusters) UpdateParameters(ctx context.Context, id int64, p map[string]string, dryRun bool) (*dbplane.Task, error) {
	return f.params(ctx, id, p, dryRun)
}

func (f *fakeClusters) CreateCluster(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
	return f.create(ctx, spec, dryRun)
}
func (f *fakeClusters) FindClusterByID(ctx context.Context, id int64) (*dbplane.Cluster, error) {
	return f.byID(ctx, id)
}
func (f *fakeClusters) FindClusters(ctx context.Context, fl dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
	return f.list(ctx, fl)
}
func (f *fakeClusters) DeleteCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return f.del(ctx, id, dryRun)
}

func (f *fakeClusters) StopCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return f.power(ctx, "stop", id, dryRun)
}
func (f *fakeClusters) StartCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return f.power(ctx, "start", id, dryRun)
}
func (f *fakeClusters) RestartCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return f.power(ctx, "restart", id, dryRun)
}

type fakeTasks struct {
	dbplane.TaskService
	byID     func(ctx context.Context, id int64) (*dbplane.Task, error)
	list     func(ctx context.Context, f dbplane.TaskFilter) ([]*dbplane.Task, int, error)
	retry    func(ctx context.Context, id int64) (*dbplane.Task, error)
	rollback func(ctx context.Context, id int64) (*dbplane.Task, error)
	skip     func(ctx context.Context, id, sid int64) (*dbplane.Subtask, error)
	retrySub func(ctx context.Context, id, sid int64) (*dbplane.Subtask, error)
	cancel   func(ctx context.Context, id, sid int64) (*dbplane.Subtask, error)
	log      func(ctx context.Context, id, sid int64) ([]dbplane.LogLine, error)
}

func (f *fakeTasks) FindTaskByID(ctx context.Context, id int64) (*dbplane.Task, error) {
	return f.byID(ctx, id)
}
func (f *fakeTasks) FindTasks(ctx context.Context, fl dbplane.TaskFilter) ([]*dbplane.Task, int, error) {
	return f.list(ctx, fl)
}
func (f *fakeTasks) RetryTask(ctx context.Context, id int64) (*dbplane.Task, error) {
	return f.retry(ctx, id)
}
func (f *fakeTasks) RollbackTask(ctx context.Context, id int64) (*dbplane.Task, error) {
	return f.rollback(ctx, id)
}
func (f *fakeTasks) SkipSubtask(ctx context.Context, id, sid int64) (*dbplane.Subtask, error) {
	return f.skip(ctx, id, sid)
}
func (f *fakeTasks) RetrySubtask(ctx context.Context, id, sid int64) (*dbplane.Subtask, error) {
	return f.retrySub(ctx, id, sid)
}
func (f *fakeTasks) CancelSubtask(ctx context.Context, id, sid int64) (*dbplane.Subtask, error) {
	return f.cancel(ctx, id, sid)
}
func (f *fakeTasks) SubtaskLog(ctx context.Context, id, sid int64) ([]dbplane.LogLine, error) {
	return f.log(ctx, id, sid)
}

type fakeHosts struct {
	dbplane.HostAdminService
	hosts map[int64]*dbplane.Host
	// refuse, when set, is what every lookup answers.
	refuse error
}

func (f *fakeHosts) FindHostByID(ctx context.Context, id int64) (*dbplane.Host, error) {
	if dbplane.PrincipalFrom(ctx) == nil {
		panic("host lookup without a principal")
	}
	if f.refuse != nil {
		return nil, f.refuse
	}
	h, ok := f.hosts[id]
	if !ok {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "host %d not found", id)
	}
	return h, nil
}

// Credentials the fake auth service accepts.
const (
	testUser     = "alice"
	testPassword = "Corr3ct-Horse"
	testAK       = "AKOCPTEST0001"
	testSK       = "sk-0123456789abcdef"
)

type fakeAuth struct{ dbplane.AuthService }

func principal(via string) *dbplane.Principal {
	return &dbplane.Principal{Via: via, User: &dbplane.User{ID: 7, Name: testUser,
		Bindings: []dbplane.RoleBinding{{UserID: 7, ProjectID: dbplane.GlobalScope, Role: dbplane.RoleAdmin}}}}
}

func (fakeAuth) AuthenticatePassword(ctx context.Context, user, password string) (*dbplane.Principal, error) {
	if user != testUser || password != testPassword {
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "wrong user name or password")
	}
	return principal(dbplane.ViaPassword), nil
}

func (fakeAuth) AuthenticateSignature(ctx context.Context, ak string, verify func(string) error) (*dbplane.Principal, error) {
	if ak != testAK {
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "signature does not verify")
	}
	if err := verify(testSK); err != nil {
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "signature does not verify")
	}
	return principal(dbplane.ViaAccessKey), nil
}

// fixture is an OCP server over fakes.
type fixture struct {
	clusters *fakeClusters
	tasks    *fakeTasks
	hosts    *fakeHosts
	srv      *httptest.Server
	mu       sync.Mutex
	audit    []dbplane.AuditEvent
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clusters: &fakeClusters{}, tasks: &fakeTasks{}, hosts: &fakeHosts{hosts: map[int64]*dbplane.Host{}}}
	s := &ocp.Server{
		Clusters: f.clusters, Tasks: f.tasks, Hosts: f.hosts, Auth: fakeAuth{},
		Catalog: dbplane.DefaultCatalog(),
		AuditRecorder: frontdoor.RecorderFunc(func(_ context.Context, e *dbplane.AuditEvent) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.audit = append(f.audit, *e)
		}),
		Security: frontdoor.Config{FailureLimit: frontdoor.Off},
	}
	f.srv = httptest.NewServer(s.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// answer is a decoded OCP envelope.
type answer struct {
	HTTPStatus int
	Header     http.Header
	Raw        map[string]json.RawMessage
	Data       json.RawMessage `json:"data"`
	Successful bool            `json:"successful"`
	Timestamp  string          `json:"timestamp"`
	Duration   *int64          `json:"duration"`
	Status     int             `json:"status"`
	TraceID    string          `json:"traceId"`
	Server     string          `json:"server"`
	Error      *struct {
		Code      int    `json:"code"`
		Message   string `json:"message"`
		SubErrors []struct {
			Object        string `json:"object"`
			Field         string `json:"field"`
			RejectedValue any    `json:"rejectedValue"`
			Message       string `json:"message"`
		} `json:"subErrors"`
	} `json:"error"`
}

// request builds a request to the fixture; body, if not nil, is JSON.
func (f *fixture) request(t *testing.T, method, path string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// basic adds HTTP Basic credentials to req.
func basic(req *http.Request, user, password string) *http.Request {
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	return req
}

// send sends req and decodes the envelope, which every answer must be.
func send(t *testing.T, req *http.Request) *answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := &answer{HTTPStatus: resp.StatusCode, Header: resp.Header}
	if err := json.Unmarshal(raw, a); err != nil {
		t.Fatalf("%s %s answered %d with a body that is no JSON envelope: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, raw)
	}
	if err := json.Unmarshal(raw, &a.Raw); err != nil {
		t.Fatal(err)
	}
	if a.Status != resp.StatusCode {
		t.Fatalf("envelope status %d, HTTP status %d", a.Status, resp.StatusCode)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000-07:00", a.Timestamp); err != nil {
		t.Fatalf("timestamp %q is not OCP's: %v", a.Timestamp, err)
	}
	if a.TraceID == "" || a.TraceID != resp.Header.Get("X-Request-Id") || a.Server != "127.0.0.1" || a.Duration == nil {
		t.Fatalf("envelope traceId %q (header %q), server %q, duration %v", a.TraceID, resp.Header.Get("X-Request-Id"), a.Server, a.Duration)
	}
	if a.Successful != (resp.StatusCode < 400) || (a.Error != nil) == a.Successful {
		t.Fatalf("status %d with successful %v and error %+v", resp.StatusCode, a.Successful, a.Error)
	}
	return a
}

// get sends an authenticated GET.
func (f *fixture) get(t *testing.T, path string) *answer {
	t.Helper()
	return send(t, basic(f.request(t, http.MethodGet, path, nil), testUser, testPassword))
}

// post sends an authenticated POST with a JSON body (nil for none).
func (f *fixture) post(t *testing.T, path string, body []byte) *answer {
	t.Helper()
	return send(t, basic(f.request(t, http.MethodPost, path, body), testUser, testPassword))
}

// wantError checks an error answer's status and code, and returns the
// fields of its sub errors.
func wantError(t *testing.T, a *answer, status, code int) []string {
	t.Helper()
	if a.HTTPStatus != status || a.Error == nil || a.Error.Code != code {
		t.Fatalf("answer %d with error %+v; want %d with code %d", a.HTTPStatus, a.Error, status, code)
	}
	if a.Error.Message == "" || a.Error.SubErrors == nil {
		t.Fatalf("error %+v without message or subErrors array", a.Error)
	}
	var fields []string
	for _, s := range a.Error.SubErrors {
		fields = append(fields, s.Field)
	}
	return fields
}

// sign signs req with OCP's scheme as of now.
func sign(t *testing.T, req *http.Request, ak, sk string, now time.Time) *http.Request {
	t.Helper()
	if err := (signature.OCP{}).Sign(req, ak, sk, now); err != nil {
		t.Fatal(err)
	}
	return req
}

func decodeData[T any](t *testing.T, a *answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.Data, &v); err != nil {
		t.Fatalf("data %s: %v", a.Data, err)
	}
	return v
}
