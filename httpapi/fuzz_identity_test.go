package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
	"github.com/dbplane/dbplane/httpapi"
)

// fuzzServer is a server whose services accept everything, so that every
// answer but success comes from the request decoders.
func fuzzServer() http.Handler {
	ok := func(context.Context, int64) error { return nil }
	s := &httpapi.Server{
		Auth: &authService{
			AuthenticateFn: func(context.Context, string) (*dbplane.User, error) { return testUser, nil },
			IssueTokenFn: func(context.Context, string, string) (*dbplane.Token, error) {
				return &dbplane.Token{ID: 1, Secret: "dbp_x", ExpiresAt: t0}, nil
			},
		},
		Identity: &identityService{
			CreateProjectFn: func(context.Context, *dbplane.Project) error { return nil },
			UpdateProjectFn: func(context.Context, *dbplane.Project) error { return nil },
			CreateUserFn:    func(context.Context, *dbplane.User, string) error { return nil },
			BindRoleFn:      func(context.Context, *dbplane.RoleBinding) error { return nil },
			SetUserPasswordFn: func(context.Context, int64, string, string) error {
				return nil
			},
			FindAccessKeysFn: func(context.Context, int64) ([]*dbplane.AccessKey, error) {
				return []*dbplane.AccessKey{{ID: "DBPAKX"}}, nil
			},
			CreateAccessKeyFn: func(context.Context, int64, string) (*dbplane.AccessKey, error) {
				return &dbplane.AccessKey{ID: "DBPAKX", Secret: "s"}, nil
			},
			DeleteProjectFn: ok,
		},
		Audit: &auditService{FindAuditEventsFn: func(context.Context, dbplane.AuditFilter) ([]*dbplane.AuditEvent, int, error) {
			return nil, 0, nil
		}},
		// The fuzzer logs in far faster than any person.
		Security:     frontdoor.Config{AuthLimit: frontdoor.Off},
		MaxBodyBytes: 4096,
	}
	return s.Handler()
}

// fuzzBody feeds arbitrary bodies to one route: the answer is success, or
// a client error in the error shape that names a field, never a 500 or a
// panic.
func fuzzBody(f *testing.F, method, path string, success int, seeds ...string) {
	for _, s := range append(seeds, `null`, ``, `{`, `[]`, `{"a":1}{"b":2}`, `"\ud800"`, `{"x":1e400}`) {
		f.Add([]byte(s))
	}
	h := fuzzServer()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer x")
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		mustClientAnswer(t, w, success, string(body))
	})
}

// mustClientAnswer accepts success, or a 400 with field details or a 413,
// in the error shape.
func mustClientAnswer(t *testing.T, w *httptest.ResponseRecorder, success int, input string) {
	t.Helper()
	switch w.Code {
	case success:
		return
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
	default:
		t.Fatalf("status %d for %q: %s", w.Code, input, w.Body)
	}
	var ae apiError
	if err := json.Unmarshal(w.Body.Bytes(), &ae); err != nil || ae.Error.Code == "" || ae.Error.Message == "" {
		t.Fatalf("error body %s: %v", w.Body, err)
	}
	if w.Code == http.StatusBadRequest && len(ae.Error.Details) == 0 {
		t.Fatalf("400 without details for %q: %s", input, w.Body)
	}
}

func FuzzTokenBody(f *testing.F) {
	fuzzBody(f, "POST", "/v1/auth/token", http.StatusCreated,
		`{"user":"admin","password":"pa55word"}`, `{"user":"admin"}`, `{"user":1,"password":true}`, `{"user":"a","password":"b","otp":"1"}`)
}

func FuzzProjectCreateBody(f *testing.F) {
	fuzzBody(f, "POST", "/v1/projects", http.StatusCreated,
		`{"name":"payments","description":"team","quota":{"clusters":3,"nodes":9,"storage_gb":500}}`,
		`{"name":"p","quota":{"clusters":-1}}`, `{"name":"p","quota":[]}`, `{"name":"p","id":4}`,
		`{"name":"p","quota":{"clusters":9223372036854775808}}`)
}

func FuzzProjectUpdateBody(f *testing.F) {
	fuzzBody(f, "PUT", "/v1/projects/4", http.StatusOK,
		`{"description":"d","quota":{"clusters":1,"nodes":2,"storage_gb":3}}`, `{"name":"rename"}`, `{"quota":null}`, `{"quota":{"nodes":"2"}}`)
}

func FuzzMemberBody(f *testing.F) {
	fuzzBody(f, "PUT", "/v1/projects/4/members/9", http.StatusOK,
		`{"role":"viewer"}`, `{"role":""}`, `{"role":["admin"]}`, `{"role":"admin","project_id":1}`)
}

func FuzzUserCreateBody(f *testing.F) {
	fuzzBody(f, "POST", "/v1/users", http.StatusCreated,
		`{"name":"ann","password":"Correct-Horse-1","bindings":[{"project_id":4,"role":"viewer"}]}`,
		`{"name":"ann","password":"p","bindings":[{"project_id":0,"role":"admin"},{"project_id":"x"}]}`,
		`{"name":"ann","password":"p","bindings":{}}`, `{"name":"ann","password":"p","bindings":[null]}`,
		`{"name":"ann","password":"p","role":"admin"}`)
}

func FuzzPasswordBody(f *testing.F) {
	fuzzBody(f, "PUT", "/v1/users/9/password", http.StatusOK,
		`{"password":"Correct-Horse-1"}`, `{"password":""}`, `{"password":null}`, `{"old":"x","password":"y"}`,
		`{"password":"Correct-Horse-1","current_password":"Old-Horse-1"}`, `{"password":"p","current_password":7}`,
		`{"password":"p","current_password":null}`, `{"current_password":"Old-Horse-1"}`)
}

func FuzzAccessKeyBody(f *testing.F) {
	fuzzBody(f, "POST", "/v1/access-keys", http.StatusCreated,
		`{"description":"backups"}`, `{"user_id":9,"description":"x"}`, `{"user_id":-1}`, `{"user_id":1.5}`, `{"secret":"mine"}`)
}

// FuzzAuditQuery feeds arbitrary query strings to GET /v1/audit: 200, or a
// 400 naming the parameter.
func FuzzAuditQuery(f *testing.F) {
	for _, s := range []string{
		"user=ann&project_id=4&action=cluster.create&result=success&since=2026-09-01T10:00:00Z&until=2026-09-02T10:00:00.5%2B02:00&offset=1&limit=5",
		"since=yesterday", "until=2026-13-01T00:00:00Z", "project_id=0", "project_id=99999999999999999999",
		"limit=-1", "offset=2147483648", "user=a&user=b", "%zz", "since=2026-09-02T00:00:00Z&until=2026-09-01T00:00:00Z",
	} {
		f.Add(s)
	}
	h := fuzzServer()
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "/v1/audit", nil)
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Bearer x")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		mustClientAnswer(t, w, http.StatusOK, query)
	})
}
