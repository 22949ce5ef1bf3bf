package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
)

// testToken is the only token the fake AuthService accepts.
const testToken = "good-token"

var (
	t0       = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)
	testUser = &dbplane.User{ID: 1, Name: "admin", CreatedAt: t0,
		Bindings: []dbplane.RoleBinding{{UserID: 1, ProjectID: dbplane.GlobalScope, ProjectName: "*", Role: dbplane.RoleAdmin, CreatedAt: t0}}}
)

// env is a server on fake services, reached over real HTTP.
type env struct {
	srv      *httpapi.Server
	clusters *clusterService
	tasks    *taskService
	hosts    *hostService
	auth     *authService
	identity *identityService
	audit    *auditService
	recorder *recorder
	ts       *httptest.Server
	client   *httpapi.Client // authenticated with testToken
	logs     *syncBuffer
}

// newEnv starts a server; opts adjust it before its handler is built.
func newEnv(t testing.TB, opts ...func(*httpapi.Server)) *env {
	t.Helper()
	e := &env{
		clusters: &clusterService{},
		tasks:    &taskService{},
		hosts:    &hostService{},
		auth: &authService{
			AuthenticateFn: func(ctx context.Context, token string) (*dbplane.User, error) {
				if token != testToken {
					return nil, dbplane.Errorf(dbplane.KindUnauthorized, "unknown or expired token")
				}
				return testUser, nil
			},
		},
		identity: &identityService{},
		audit:    &auditService{},
		recorder: &recorder{},
		logs:     &syncBuffer{},
	}
	e.srv = &httpapi.Server{
		Clusters:      e.clusters,
		Tasks:         e.tasks,
		Hosts:         e.hosts,
		Auth:          e.auth,
		Identity:      e.identity,
		Audit:         e.audit,
		AuditRecorder: e.recorder,
		Logger:        slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(e.srv)
	}
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	e.client = httpapi.NewClient(e.ts.URL)
	e.client.Token = testToken
	return e
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// request sends a raw request, authenticated unless a header list sets
// Authorization itself (use "Authorization", "" for none). hdr alternates
// names and values.
func (e *env) request(t testing.TB, method, path, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// apiError is the error shape as a client sees it on the wire.
type apiError struct {
	Error struct {
		Code      string               `json:"code"`
		Message   string               `json:"message"`
		Details   []dbplane.FieldError `json:"details"`
		RequestID string               `json:"request_id"`
	} `json:"error"`
}

// mustErrorBody checks status and JSON content type and decodes the error
// shape strictly, so that any drift in its fields fails.
func mustErrorBody(t testing.TB, resp *http.Response, data []byte, status int) apiError {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, status, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var ae apiError
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ae); err != nil {
		t.Fatalf("error body %s: %v", data, err)
	}
	if ae.Error.RequestID == "" || ae.Error.RequestID != resp.Header.Get("X-Request-Id") {
		t.Fatalf("request_id = %q, header %q: want equal and set", ae.Error.RequestID, resp.Header.Get("X-Request-Id"))
	}
	return ae
}

// mustKind asserts that err is a *dbplane.Error of the given kind.
func mustKind(t testing.TB, err error, kind dbplane.Kind) *dbplane.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want kind %s", kind)
	}
	de, ok := err.(*dbplane.Error)
	if !ok {
		t.Fatalf("err = %T %v, want *dbplane.Error", err, err)
	}
	if de.Kind != kind {
		t.Fatalf("kind = %s (%v), want %s", de.Kind, err, kind)
	}
	return de
}
