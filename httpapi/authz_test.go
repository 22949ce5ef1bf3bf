package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/signature"
	"github.com/dbplane/dbplane/sqlstore"
)

// publicRoutes are the routes that need no credentials, by design: probes,
// the API's description, and the two credential exchanges (a password for
// a token, a join token for an agent certificate).
var publicRoutes = []string{
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /v1/openapi.json",
	"GET /v1/ca",
	"POST /v1/auth/token",
	"POST /v1/agents/join",
}

// Names of project B's things. None may appear in an answer to a caller
// who may not see them.
const (
	projectBName = "bravo-secret-project"
	clusterBName = "bravo-secret-cluster"
	adminBName   = "bertha-bravo-admin"
	matrixPass   = "Correct-Horse-Battery-9"
)

// matrix is the real API over a real store: sqlstore on SQLite and the
// service package, with two projects A and B, a cluster and its task in B,
// and users with different roles.
type matrix struct {
	db     *sqlstore.DB
	ts     *httptest.Server
	srv    *httpapi.Server
	params map[string]string        // path parameter values, by name
	bodies map[string]string        // request bodies of mutating routes, by pattern
	query  map[string]string        // queries aiming list routes at B, by pattern
	tokens map[string]string        // bearer tokens, by user name
	key    *dbplane.AccessKey       // the global admin's access key
	users  map[string]*dbplane.User // by name
}

func newMatrix(t *testing.T) *matrix {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "dbplane.db"), sqlstore.WithSecretBox(testdb.SecretBox()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// Lockouts would turn the many refused credentials below into 429s;
	// they are tested on their own.
	noLockout := dbplane.LockoutPolicy{MaxFailures: 1 << 30, Window: time.Minute, LockFor: time.Second}
	auth := &service.Auth{Store: db, Lockout: noLockout}
	identity := &service.Identity{Store: db}
	sys := service.SystemContext(ctx)
	m := &matrix{db: db, tokens: map[string]string{}, users: map[string]*dbplane.User{}}

	projA := &dbplane.Project{Name: "alpha-project"}
	projB := &dbplane.Project{Name: projectBName}
	for _, p := range []*dbplane.Project{projA, projB} {
		if err := identity.CreateProject(sys, p); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range map[string]dbplane.RoleBinding{
		"olga-operator-a": {ProjectID: projA.ID, Role: dbplane.RoleOperator},
		"victor-viewer-b": {ProjectID: projB.ID, Role: dbplane.RoleViewer},
		adminBName:        {ProjectID: projB.ID, Role: dbplane.RoleAdmin},
		"root-admin":      {ProjectID: dbplane.GlobalScope, Role: dbplane.RoleAdmin},
	} {
		u := &dbplane.User{Name: name, Bindings: []dbplane.RoleBinding{b}}
		if err := identity.CreateUser(sys, u, matrixPass); err != nil {
			t.Fatal(err)
		}
		tok, err := auth.IssueToken(ctx, name, matrixPass)
		if err != nil {
			t.Fatal(err)
		}
		m.users[name], m.tokens[name] = u, tok.Secret
	}
	// A token issued two days ago has expired; another one is revoked.
	past := &service.Auth{Store: db, Lockout: noLockout, Now: func() time.Time { return time.Now().Add(-48 * time.Hour) }}
	expired, err := past.IssueToken(ctx, "root-admin", matrixPass)
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := auth.IssueToken(ctx, "root-admin", matrixPass)
	if err != nil {
		t.Fatal(err)
	}
	if err := identity.RevokeToken(sys, revoked.ID); err != nil {
		t.Fatal(err)
	}
	m.tokens["expired"], m.tokens["revoked"] = expired.Secret, revoked.Secret
	if m.key, err = identity.CreateAccessKey(sys, m.users["root-admin"].ID, "matrix"); err != nil {
		t.Fatal(err)
	}
	adminB := m.users[adminBName]
	keyB, err := identity.CreateAccessKey(sys, adminB.ID, "b's automation")
	if err != nil {
		t.Fatal(err)
	}
	tokB, err := auth.IssueToken(ctx, adminBName, matrixPass)
	if err != nil {
		t.Fatal(err)
	}

	// B's cluster and its create task go straight to the store: the
	// matrix is about the API, not about planning clusters.
	now := time.Now().UTC()
	cluster := &dbplane.Cluster{Name: clusterBName, ProjectID: projB.ID, Project: projB.Name,
		Engine: dbplane.EnginePostgreSQL, Version: "15", Topology: dbplane.TopologyStandalone, Status: dbplane.ClusterCreating,
		Spec: dbplane.ClusterSpec{Name: clusterBName, Project: projB.Name, Engine: dbplane.EnginePostgreSQL, Version: "15",
			Topology: dbplane.TopologyStandalone, Flavor: "dbp.c2.m4", VolumeGB: 20}, CreatedAt: now, UpdatedAt: now}
	plan := dbplane.TaskPlan{Name: "create " + clusterBName, Kind: dbplane.TaskKindClusterCreate, Creator: adminBName,
		Steps: []dbplane.PlanStep{{Key: "start", Name: "start " + clusterBName, Handler: "test.noop"}}}
	task, err := db.CreateCluster(ctx, cluster, "Secret-Passw0rd", plan)
	if err != nil {
		t.Fatal(err)
	}
	if task, err = db.FindTaskByID(ctx, task.ID); err != nil || len(task.Subtasks) == 0 {
		t.Fatalf("task %+v: %v", task, err)
	}
	// Hosts join through agents; the store has no other way in.
	if _, err := db.SQL().Exec(`INSERT INTO hosts (name, address, zone, cpus, memory_mb, disk_gb, status, created_at, updated_at)
		VALUES ('h1', '127.0.0.21:7070', 'z1', 4, 8192, 100, 'online', 1000, 2000)`); err != nil {
		t.Fatal(err)
	}
	var hostID int64
	if err := db.SQL().QueryRow(`SELECT id FROM hosts WHERE name = 'h1'`).Scan(&hostID); err != nil {
		t.Fatal(err)
	}

	svc := &service.Service{Store: db, Catalog: dbplane.DefaultCatalog()}
	m.srv = &httpapi.Server{
		Clusters: svc, Tasks: svc, Hosts: &service.Hosts{Store: db}, Auth: auth,
		Identity: identity, Audit: &service.Audit{Store: db}, AuditRecorder: &service.Audit{Store: db},
		Catalog: dbplane.DefaultCatalog(),
		// The per-source limit of failed authentications would refuse
		// most of the matrix with 429; it is tested on its own.
		Security: frontdoor.Config{FailureLimit: frontdoor.Off},
	}
	m.ts = httptest.NewServer(m.srv.Handler())
	t.Cleanup(m.ts.Close)

	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	m.params = map[string]string{
		"cluster_id":    id(cluster.ID),
		"task_id":       id(task.ID),
		"subtask_id":    id(task.Subtasks[0].ID),
		"host_id":       id(hostID),
		"code":          "dbp.c2.m4",
		"project_id":    id(projB.ID),
		"user_id":       id(adminB.ID),
		"token_id":      id(tokB.ID),
		"access_key_id": keyB.ID,
	}
	m.bodies = map[string]string{
		"POST /v1/clusters": `{"name":"bravo-new","project":"` + projectBName + `","engine":"postgresql","version":"15",` +
			`"topology":"standalone","flavor":"dbp.c2.m4","volume_gb":20,"password":"Secret-Passw0rd"}`,
		"POST /v1/projects":                               `{"name":"charlie","quota":{"clusters":1,"nodes":1,"storage_gb":10}}`,
		"PUT /v1/projects/{project_id}":                   `{"description":"taken over","quota":{"clusters":0,"nodes":0,"storage_gb":0}}`,
		"PUT /v1/projects/{project_id}/members/{user_id}": `{"role":"viewer"}`,
		"PUT /v1/global/members/{user_id}":                `{"role":"admin"}`,
		"POST /v1/users":                                  `{"name":"mallory","password":"` + matrixPass + `","bindings":[{"project_id":` + id(projB.ID) + `,"role":"admin"}]}`,
		"PUT /v1/users/{user_id}/password":                `{"password":"Mallory-Was-Here-1"}`,
		"POST /v1/access-keys":                            `{"user_id":` + id(adminB.ID) + `,"description":"mallory's"}`,
		"POST /v1/hosts/join-tokens":                      `{"ttl_seconds":60}`,
		"POST /v1/clusters/{cluster_id}/password":         `{"password":"Mallory-Was-Here-1"}`,
		"PATCH /v1/clusters/{cluster_id}/parameters":      `{"parameters":{"max_connections":"10"}}`,
	}
	m.query = map[string]string{
		"GET /v1/clusters":    "project_id=" + id(projB.ID),
		"GET /v1/tasks":       "cluster_id=" + id(cluster.ID),
		"GET /v1/tokens":      "user_id=" + id(adminB.ID),
		"GET /v1/access-keys": "user_id=" + id(adminB.ID),
		"GET /v1/audit":       "project_id=" + id(projB.ID),
		"GET /v1/projects":    "name=" + projectBName,
		"GET /v1/users":       "name=" + adminBName,
	}
	return m
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// request builds the request of a route pattern, its path parameters
// filled from the fixtures by name. A parameter without a fixture fails
// the test: a new route must be added to the matrix, not skipped by it.
func (m *matrix) request(t *testing.T, ctx context.Context, pattern string) *http.Request {
	t.Helper()
	method, path, _ := strings.Cut(pattern, " ")
	path = pathParam.ReplaceAllStringFunc(path, func(p string) string {
		name := strings.TrimSuffix(p[1:len(p)-1], "...")
		v, ok := m.params[name]
		if !ok {
			t.Fatalf("route %q: the authorization matrix has no fixture for path parameter %q; add one", pattern, name)
		}
		return v
	})
	if q := m.query[pattern]; q != "" {
		path += "?" + q
	}
	var body io.Reader
	if b, ok := m.bodies[pattern]; ok {
		body = strings.NewReader(b)
	}
	r, err := http.NewRequestWithContext(ctx, method, m.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// send sends r and returns the status and up to 64 KiB of the body; an
// event stream that stays open is cut by r's context.
func send(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(data)
}

// bearer returns a credential that sends token.
func bearer(token string) func(*testing.T, *http.Request) {
	return func(_ *testing.T, r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// tamperedSignature signs r with the admin's access key, then changes one
// character of the signature.
func (m *matrix) tamperedSignature(t *testing.T, r *http.Request) {
	sigv4 := &signature.SigV4{Services: []string{httpapi.SignatureService}}
	if err := sigv4.Sign(r, m.key.ID, m.key.Secret, time.Now()); err != nil {
		t.Fatal(err)
	}
	h := r.Header.Get("Authorization")
	last := h[len(h)-1]
	flipped := byte('0')
	if last == '0' {
		flipped = '1'
	}
	r.Header.Set("Authorization", h[:len(h)-1]+string(flipped))
}

// sharedParams are path parameters that name what every caller may read:
// catalog entries.
var sharedParams = []string{"code"}

// targetless reports whether a route names no resource of anyone's: a GET
// whose path parameters, if any, are shared (a list, the caller's own
// view, the catalog), whose answer is scoped to the caller rather than
// refused.
func targetless(pattern string) bool {
	if !strings.HasPrefix(pattern, "GET ") {
		return false
	}
	for _, p := range pathParam.FindAllStringSubmatch(pattern, -1) {
		if !slices.Contains(sharedParams, p[1]) {
			return false
		}
	}
	return true
}

// hiddenNames are the path parameters and request fields that name a thing
// of a project (a cluster, its tasks, the project) or of a user (its
// tokens and access keys, the user whose credentials are listed or made).
// To a caller who may not see it, it does not exist: 404, never 403.
var hiddenNames = []string{"cluster_id", "task_id", "subtask_id", "project_id", "project", "token_id", "access_key_id", "user_id"}

// fleetCollections are the collections of the fleet itself, under /v1/:
// only global roles reach them, and a refusal comes before any lookup, so
// it can be 403 without revealing anything.
var fleetCollections = []string{"hosts", "users", "global", "audit"}

// outsiderStatus is the answer of pattern, aimed at B by the fixtures, to a
// caller without any role in B. It is derived from the route's path and
// its request body, so that new routes are classified without being
// listed:
//
//   - a route of the fleet's own collections is for global roles only:
//     403;
//   - a route whose path or body names a thing of B's or of B's admin
//     (hiddenNames), B's own record included, even to change it: 404;
//   - a read that names nothing in its path (a list, the caller's own
//     view, the catalog) is scoped to the caller: 0 means 2xx without B's
//     data, or 404 when its filter names what the caller cannot see;
//   - any other change (creating a project) is the fleet's: 403.
func (m *matrix) outsiderStatus(t *testing.T, pattern string) int {
	_, path, _ := strings.Cut(pattern, " ")
	collection, _, _ := strings.Cut(strings.TrimPrefix(path, "/v1/"), "/")
	if slices.Contains(fleetCollections, collection) {
		return http.StatusForbidden
	}
	var named []string
	for _, p := range pathParam.FindAllStringSubmatch(path, -1) {
		named = append(named, strings.TrimSuffix(p[1], "..."))
	}
	if b, ok := m.bodies[pattern]; ok {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(b), &fields); err != nil {
			t.Fatalf("body of %s: %v", pattern, err)
		}
		for f := range fields {
			named = append(named, f)
		}
	}
	for _, n := range named {
		if slices.Contains(hiddenNames, n) {
			return http.StatusNotFound
		}
	}
	if targetless(pattern) {
		return 0
	}
	return http.StatusForbidden
}

// TestAuthorizationMatrix walks every route of the router against the real
// services: without credentials, with an expired, a revoked or a forged
// credential, as an operator of project A reaching into project B, and as
// a viewer of B trying to change it. Every answer is 401, 403 or 404 and
// none carries B's data; only caller-scoped reads may answer 2xx, and then
// without B's data. The operator of A gets exactly the answer of
// outsiderStatus: 404 for B's things, 403 for the fleet's.
func TestAuthorizationMatrix(t *testing.T) {
	m := newMatrix(t)
	patterns := m.srv.Patterns()
	if got := m.srv.PublicPatterns(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(publicRoutes))) {
		t.Fatalf("public routes are %q, want exactly %q", got, publicRoutes)
	}
	secrets := []string{projectBName, clusterBName, adminBName}
	cases := []struct {
		name          string
		auth          func(*testing.T, *http.Request)
		badCredential bool // the answer must be 401
		mutatingOnly  bool
		outsider      bool // the answer must be outsiderStatus's
	}{
		{"NoCredentials", nil, true, false, false},
		{"ExpiredToken", bearer(m.tokens["expired"]), true, false, false},
		{"RevokedToken", bearer(m.tokens["revoked"]), true, false, false},
		{"TamperedSignature", m.tamperedSignature, true, false, false},
		{"WrongProject", bearer(m.tokens["olga-operator-a"]), false, false, true},
		{"ViewerMutating", bearer(m.tokens["victor-viewer-b"]), false, true, false},
	}
	outsider := map[int]int{} // routes, by the outsider's expected answer
	checked := 0
	audited := map[string]int{} // mutating calls sent, by action
	actions := m.srv.Actions()
	for _, pattern := range patterns {
		if slices.Contains(publicRoutes, pattern) {
			continue
		}
		method, _, _ := strings.Cut(pattern, " ")
		for _, tc := range cases {
			if tc.mutatingOnly && !frontdoor.Mutating(method) {
				continue
			}
			t.Run(tc.name+"/"+pattern, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				r := m.request(t, ctx, pattern)
				if tc.auth != nil {
					tc.auth(t, r)
				}
				asked := r.URL.String() + m.bodies[pattern]
				status, body := send(t, r)
				for _, s := range secrets {
					// Echoing what the caller sent (a project named in
					// a spec) reveals nothing.
					if strings.Contains(body, s) && !strings.Contains(asked, s) {
						t.Fatalf("answer %d leaks %q: %s", status, s, body)
					}
				}
				refused := status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound
				if tc.outsider {
					want := m.outsiderStatus(t, pattern)
					outsider[want]++
					if want == 0 && !(status < 300 || status == http.StatusNotFound) {
						t.Fatalf("answer %d to a caller-scoped read, want 2xx or 404: %s", status, body)
					}
					if want != 0 && status != want {
						t.Fatalf("answer %d, want %d: %s", status, want, body)
					}
				} else if !refused {
					t.Fatalf("answer %d, want 401, 403 or 404: %s", status, body)
				}
				if tc.badCredential && status != http.StatusUnauthorized {
					t.Fatalf("answer %d to a bad credential, want 401: %s", status, body)
				}
			})
			checked++
			if frontdoor.Mutating(method) {
				audited[actions[pattern]]++
			}
		}
	}
	if checked < 4*len(patterns) {
		t.Fatalf("only %d checks for %d routes", checked, len(patterns))
	}
	if outsider[http.StatusNotFound] == 0 || outsider[http.StatusForbidden] == 0 || outsider[0] == 0 {
		t.Fatalf("outsider answers %v: every kind of route should occur", outsider)
	}
	t.Run("Audited", func(t *testing.T) { m.audited(t, audited) })
	t.Run("Control", func(t *testing.T) { m.control(t, patterns) })
}

// audited checks that every refused change was recorded by the real
// recorder, once, with its action and the error's code.
func (m *matrix) audited(t *testing.T, sent map[string]int) {
	want := 0
	for _, n := range sent {
		want += n
	}
	// An event is recorded after its answer is written, so the last ones
	// may land just after the client read them.
	var (
		events []*dbplane.AuditEvent
		total  int
		err    error
	)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		events, total, err = m.db.FindAuditEvents(context.Background(), dbplane.AuditFilter{Limit: dbplane.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		if total >= want || time.Now().After(deadline) {
			break
		}
	}
	if total > len(events) {
		t.Fatalf("%d events, more than a page: raise the limit", total)
	}
	got := map[string]int{}
	for _, e := range events {
		got[e.Action]++
		if e.Result == dbplane.AuditResultSuccess || e.Status < 400 || e.FrontDoor != httpapi.FrontDoorName || e.Source != "127.0.0.1" {
			t.Errorf("event %+v: want a refusal from 127.0.0.1 through v1", e)
		}
		if (e.Result == "unauthorized") != (e.User == "") {
			t.Errorf("event %+v: a user is recorded exactly when one authenticated", e)
		}
	}
	for action, n := range sent {
		if got[action] != n {
			t.Errorf("action %s: %d events recorded, %d calls sent", action, got[action], n)
		}
	}
	if len(got) != len(sent) {
		t.Errorf("events of actions %v, calls of %v", got, sent)
	}
}

// control proves that the matrix could fail: the global admin reads every
// route the matrix walked with the same fixtures, and gets 2xx answers
// that do carry B's data where the route shows it.
func (m *matrix) control(t *testing.T, patterns []string) {
	shows := map[string]string{
		"GET /v1/clusters":                      clusterBName,
		"GET /v1/clusters/{cluster_id}":         clusterBName,
		"GET /v1/tasks":                         clusterBName,
		"GET /v1/tasks/{task_id}":               clusterBName,
		"GET /v1/projects":                      projectBName,
		"GET /v1/projects/{project_id}":         projectBName,
		"GET /v1/projects/{project_id}/members": adminBName,
		"GET /v1/users":                         adminBName,
		"GET /v1/users/{user_id}":               adminBName,
	}
	for _, pattern := range patterns {
		if slices.Contains(publicRoutes, pattern) || !strings.HasPrefix(pattern, "GET ") {
			continue
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		r := m.request(t, ctx, pattern)
		bearer(m.tokens["root-admin"])(t, r)
		if strings.HasSuffix(pattern, "/events") {
			// The stream stays open while the task runs: the status is
			// enough.
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s as the global admin: %d", pattern, resp.StatusCode)
			}
			cancel()
			continue
		}
		status, body := send(t, r)
		cancel()
		if status != http.StatusOK {
			t.Errorf("%s as the global admin: %d %s", pattern, status, body)
		}
		if want := shows[pattern]; want != "" && !strings.Contains(body, want) {
			t.Errorf("%s as the global admin does not show %q: %s", pattern, want, body)
		}
	}
}
