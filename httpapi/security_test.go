package httpapi_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/dbplane/dbplane/signature"
)

// TestRouteActions checks that every route names a distinct audit action
// of the form resource.verb.
func TestRouteActions(t *testing.T) {
	srv := &httpapi.Server{}
	actions := srv.Actions()
	seen := map[string]string{}
	valid := regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)+$`)
	for _, p := range srv.Patterns() {
		a, ok := actions[p]
		switch {
		case !ok || a == "":
			t.Errorf("route %q names no action", p)
		case !valid.MatchString(a):
			t.Errorf("route %q: action %q is not resource.verb", p, a)
		case seen[a] != "":
			t.Errorf("routes %q and %q share action %q", seen[a], p, a)
		}
		seen[a] = p
	}
}

func TestAuditRecorded(t *testing.T) {
	e := newEnv(t)
	e.clusters.CreateClusterFn = func(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
		dbplane.AuditTarget(ctx, "cluster/1", 4)
		return sampleCluster(1), sampleTask(2), nil
	}
	e.clusters.DeleteClusterFn = func(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
		dbplane.AuditTarget(ctx, "cluster/"+itoa(id), 0)
		return nil, dbplane.Errorf(dbplane.KindForbidden, "user %q lacks the operator role", "admin")
	}
	e.clusters.FindClustersFn = func(context.Context, dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
		return nil, 0, nil
	}
	e.request(t, "POST", "/v1/clusters", `{"name":"orders"}`, "X-Request-Id", "req-create")
	e.request(t, "DELETE", "/v1/clusters/7", "", "X-Request-Id", "req-delete")
	e.request(t, "DELETE", "/v1/clusters/8", "", "Authorization", "", "X-Request-Id", "req-anon")
	e.request(t, "DELETE", "/v1/clusters/9", "", "Authorization", "Bearer stolen", "X-Request-Id", "req-stolen")
	e.request(t, "GET", "/v1/clusters", "")       // reads are not audited
	e.request(t, "PATCH", "/v1/clusters/1", "")   // nor calls no route takes
	e.request(t, "POST", "/v1/no-such-route", "") // nor unknown paths
	want := []dbplane.AuditEvent{
		{User: "admin", UserID: 1, Via: "token", ProjectID: 4, Action: "cluster.create", Target: "cluster/1", Result: "success", Status: 202, RequestID: "req-create"},
		{User: "admin", UserID: 1, Via: "token", Action: "cluster.delete", Target: "cluster/7", Result: "forbidden", Status: 403, RequestID: "req-delete"},
		{Action: "cluster.delete", Result: "unauthorized", Status: 401, RequestID: "req-anon"},
		{Action: "cluster.delete", Result: "unauthorized", Status: 401, RequestID: "req-stolen"},
	}
	got := e.recorder.wait(len(want))
	if len(got) != len(want) {
		t.Fatalf("%d events recorded, want %d: %+v", len(got), len(want), got)
	}
	for i, ev := range got {
		if ev.FrontDoor != "v1" || ev.Source != "127.0.0.1" || time.Since(ev.Time) > time.Minute {
			t.Errorf("event %d: front door %q, source %q, time %v", i, ev.FrontDoor, ev.Source, ev.Time)
		}
		ev.FrontDoor, ev.Source, ev.Time = "", "", time.Time{}
		if ev != want[i] {
			t.Errorf("event %d:\n%+v\nwant\n%+v", i, ev, want[i])
		}
	}
}

// TestTokenRateLimit checks that POST /v1/auth/token is limited per source
// address, with a Retry-After, and that the refusal is audited.
func TestTokenRateLimit(t *testing.T) {
	e := newEnv(t, func(s *httpapi.Server) {
		s.Security.AuthLimit = frontdoor.Limit{PerSecond: 0.01, Burst: 2}
	})
	e.auth.IssueTokenFn = func(ctx context.Context, user, password string) (*dbplane.Token, error) {
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "invalid user or password")
	}
	for range 2 {
		resp, data := e.request(t, "POST", "/v1/auth/token", `{"user":"a","password":"b"}`, "Authorization", "")
		mustErrorBody(t, resp, data, http.StatusUnauthorized)
	}
	resp, data := e.request(t, "POST", "/v1/auth/token", `{"user":"a","password":"b"}`, "Authorization", "")
	ae := mustErrorBody(t, resp, data, http.StatusTooManyRequests)
	if ae.Error.Code != "too_many_requests" || resp.Header.Get("Retry-After") != "100" {
		t.Errorf("code %q, Retry-After %q", ae.Error.Code, resp.Header.Get("Retry-After"))
	}
	_, err := httpapi.NewClient(e.ts.URL).IssueToken(t.Context(), "a", "b")
	if de := mustKind(t, err, dbplane.KindTooManyRequests); !strings.Contains(de.Message, "retry in 100s") {
		t.Errorf("message %q", de.Message)
	}
	// The authenticated API is not affected.
	if _, err := e.client.Whoami(t.Context()); err != nil {
		t.Errorf("whoami: %v", err)
	}
	ev := e.recorder.wait(4)
	if len(ev) != 4 || ev[0].Action != "auth.token" || ev[0].Result != "unauthorized" || ev[2].Result != "too_many_requests" || ev[2].Status != 429 {
		t.Errorf("events %+v", ev)
	}
}

// TestLockout checks that a locked-out user's 429 carries the service's
// retry time, and a successful login is audited under the user's name.
func TestLockout(t *testing.T) {
	e := newEnv(t)
	e.auth.IssueTokenFn = func(ctx context.Context, user, password string) (*dbplane.Token, error) {
		if user == "ann" {
			return &dbplane.Token{ID: 12, UserID: 5, Secret: "dbp_x", ExpiresAt: t0}, nil
		}
		err := dbplane.Errorf(dbplane.KindTooManyRequests, "too many failed attempts")
		err.RetryAfter = 5*time.Minute - time.Millisecond
		return nil, err
	}
	resp, data := e.request(t, "POST", "/v1/auth/token", `{"user":"bob","password":"x"}`, "Authorization", "")
	mustErrorBody(t, resp, data, http.StatusTooManyRequests)
	if got := resp.Header.Get("Retry-After"); got != "300" {
		t.Errorf("Retry-After = %q, want 300", got)
	}
	if _, err := httpapi.NewClient(e.ts.URL).IssueToken(t.Context(), "ann", "pw"); err != nil {
		t.Fatal(err)
	}
	ev := e.recorder.wait(2)
	if len(ev) != 2 || ev[0].User != "" || ev[0].Result != "too_many_requests" ||
		ev[1].User != "ann" || ev[1].UserID != 5 || ev[1].Via != "password" || ev[1].Target != "token/12" || ev[1].Status != 201 {
		t.Errorf("events %+v", ev)
	}
}

// TestFailedAuthenticationLimit checks that a source that keeps failing to
// authenticate is refused with a Retry-After.
func TestFailedAuthenticationLimit(t *testing.T) {
	e := newEnv(t, func(s *httpapi.Server) {
		s.Security.FailureLimit = frontdoor.Limit{PerSecond: 0.5, Burst: 3}
	})
	for range 3 {
		resp, data := e.request(t, "GET", "/v1/clusters", "", "Authorization", "Bearer guess")
		mustErrorBody(t, resp, data, http.StatusUnauthorized)
	}
	resp, data := e.request(t, "GET", "/v1/clusters", "")
	mustErrorBody(t, resp, data, http.StatusTooManyRequests)
	if got := resp.Header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2", got)
	}
}

// TestRetryAfterFromService checks that any error with a retry time gets
// a Retry-After, whoever made it.
func TestRetryAfterFromService(t *testing.T) {
	e := newEnv(t)
	e.clusters.FindClusterByIDFn = func(context.Context, int64) (*dbplane.Cluster, error) {
		err := dbplane.Errorf(dbplane.KindUnavailable, "the store is busy")
		err.RetryAfter = 3 * time.Second
		return nil, dbplane.E("service.FindClusterByID", err)
	}
	resp, data := e.request(t, "GET", "/v1/clusters/1", "")
	mustErrorBody(t, resp, data, http.StatusServiceUnavailable)
	if got := resp.Header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After = %q, want 3", got)
	}
}

// TestSignedRequests checks that the client signs with an access key, and
// that the server accepts SigV4 for the dbplane service in any region.
func TestSignedRequests(t *testing.T) {
	e := newEnv(t)
	e.auth.AuthenticateSignatureFn = func(ctx context.Context, ak string, verify func(string) error) (*dbplane.Principal, error) {
		if ak != "DBPAKEXAMPLE" {
			return nil, dbplane.Errorf(dbplane.KindUnauthorized, "signature does not match")
		}
		if err := verify("s3cr3t"); err != nil {
			return nil, err
		}
		return &dbplane.Principal{User: testUser, Via: dbplane.ViaAccessKey, AccessKeyID: ak}, nil
	}
	e.clusters.CreateClusterFn = func(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
		return sampleCluster(1), sampleTask(2), nil
	}
	c := httpapi.NewClient(e.ts.URL)
	c.AccessKeyID, c.SecretKey = "DBPAKEXAMPLE", "s3cr3t"
	if u, err := c.Whoami(t.Context()); err != nil || u.Name != "admin" {
		t.Fatalf("Whoami = %v, %v", u, err)
	}
	// The body is covered by the signature and still reaches the handler.
	if _, _, err := c.CreateCluster(t.Context(), sampleSpec(), false); err != nil {
		t.Fatal(err)
	}
	if ev := e.recorder.wait(1); len(ev) != 1 || ev[0].Via != "access-key" || ev[0].Status != 202 {
		t.Errorf("events %+v", ev)
	}
	c.SecretKey = "wrong"
	_, err := c.Whoami(t.Context())
	mustKind(t, err, dbplane.KindUnauthorized)

	for _, tc := range []struct {
		name   string
		scheme *signature.SigV4
		status int
	}{
		{"AnyRegion", &signature.SigV4{Services: []string{"dbplane"}, Region: "eu-west-3"}, 200},
		{"OtherService", &signature.SigV4{Services: []string{"s3"}, Region: "us-east-1"}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", e.ts.URL+"/v1/whoami", nil)
			if err := tc.scheme.Sign(req, "DBPAKEXAMPLE", "s3cr3t", time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}
