package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/google/go-cmp/cmp"
)

// hostAdminService adds the administration and join services to the
// listing fake; unset functions panic, which fails the test with a 500.
type hostAdminService struct {
	hostService
	FindHostByIDFn    func(ctx context.Context, id int64) (*dbplane.Host, error)
	DeleteHostFn      func(ctx context.Context, id int64) error
	DrainHostFn       func(ctx context.Context, id int64, drained bool) (*dbplane.Host, error)
	CreateJoinTokenFn func(ctx context.Context, ttl time.Duration) (*dbplane.JoinToken, error)
	JoinFn            func(ctx context.Context, req dbplane.JoinRequest) (*dbplane.JoinResponse, error)
}

var (
	_ dbplane.HostAdminService = (*hostAdminService)(nil)
	_ dbplane.JoinService      = (*hostAdminService)(nil)
)

func (s *hostAdminService) FindHostByID(ctx context.Context, id int64) (*dbplane.Host, error) {
	return s.FindHostByIDFn(ctx, id)
}

func (s *hostAdminService) DeleteHost(ctx context.Context, id int64) error {
	return s.DeleteHostFn(ctx, id)
}

func (s *hostAdminService) DrainHost(ctx context.Context, id int64, drained bool) (*dbplane.Host, error) {
	return s.DrainHostFn(ctx, id, drained)
}

func (s *hostAdminService) CreateJoinToken(ctx context.Context, ttl time.Duration) (*dbplane.JoinToken, error) {
	return s.CreateJoinTokenFn(ctx, ttl)
}

func (s *hostAdminService) Join(ctx context.Context, req dbplane.JoinRequest) (*dbplane.JoinResponse, error) {
	return s.JoinFn(ctx, req)
}

func newAdminEnv(t *testing.T) (*env, *hostAdminService) {
	t.Helper()
	admin := &hostAdminService{}
	return newEnv(t, func(s *httpapi.Server) { s.Hosts = admin }), admin
}

var testHost = &dbplane.Host{ID: 7, Name: "db1", Address: "127.0.0.11", AgentPort: 7070, Status: dbplane.HostOnline,
	CPUs: 4, MemoryMB: 8192, DiskGB: 100, CreatedAt: t0, UpdatedAt: t0}

func TestFindHostByID(t *testing.T) {
	e, admin := newAdminEnv(t)
	admin.FindHostByIDFn = func(_ context.Context, id int64) (*dbplane.Host, error) {
		if id != 7 {
			return nil, dbplane.Errorf(dbplane.KindNotFound, "host %d not found", id)
		}
		return testHost, nil
	}
	h, err := e.client.FindHostByID(t.Context(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testHost, h); diff != "" {
		t.Errorf("host (-want +got):\n%s", diff)
	}
	_, err = e.client.FindHostByID(t.Context(), 8)
	mustKind(t, err, dbplane.KindNotFound)
	resp, data := e.request(t, "GET", "/v1/hosts/abc", "")
	mustErrorBody(t, resp, data, http.StatusBadRequest)
}

func TestDeleteHost(t *testing.T) {
	e, admin := newAdminEnv(t)
	admin.DeleteHostFn = func(_ context.Context, id int64) error {
		if id == 7 {
			return dbplane.Errorf(dbplane.KindConflict, "host 7 carries 1 node(s): delete their clusters first")
		}
		return nil
	}
	resp, data := e.request(t, "DELETE", "/v1/hosts/8", "")
	if resp.StatusCode != http.StatusNoContent || len(data) != 0 {
		t.Fatalf("status %d body %q, want 204 and no body", resp.StatusCode, data)
	}
	if err := e.client.DeleteHost(t.Context(), 8); err != nil {
		t.Fatal(err)
	}
	err := e.client.DeleteHost(t.Context(), 7)
	if de := mustKind(t, err, dbplane.KindConflict); !strings.Contains(de.Message, "carries 1 node(s)") {
		t.Fatalf("message %q", de.Message)
	}
	resp, data = e.request(t, "DELETE", "/v1/hosts/0", "")
	mustErrorBody(t, resp, data, http.StatusBadRequest)
	resp, data = e.request(t, "DELETE", "/v1/hosts/8", "", "Authorization", "")
	mustErrorBody(t, resp, data, http.StatusUnauthorized)
}

func TestDrainHost(t *testing.T) {
	e, admin := newAdminEnv(t)
	var calls []bool
	admin.DrainHostFn = func(_ context.Context, id int64, drained bool) (*dbplane.Host, error) {
		calls = append(calls, drained)
		h := *testHost
		h.Drained = drained
		return &h, nil
	}
	h, err := e.client.DrainHost(t.Context(), 7, true)
	if err != nil || !h.Drained {
		t.Fatalf("drain: %+v, %v", h, err)
	}
	if h, err = e.client.DrainHost(t.Context(), 7, false); err != nil || h.Drained {
		t.Fatalf("undrain: %+v, %v", h, err)
	}
	if diff := cmp.Diff([]bool{true, false}, calls); diff != "" {
		t.Fatalf("calls (-want +got):\n%s", diff)
	}
}

func TestCreateJoinToken(t *testing.T) {
	e, admin := newAdminEnv(t)
	var got []time.Duration
	admin.CreateJoinTokenFn = func(_ context.Context, ttl time.Duration) (*dbplane.JoinToken, error) {
		got = append(got, ttl)
		return &dbplane.JoinToken{ID: 3, Secret: "dbpj_secret", Creator: "admin", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}, nil
	}
	tok, err := e.client.CreateJoinToken(t.Context(), 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := &dbplane.JoinToken{ID: 3, Secret: "dbpj_secret", Creator: "admin", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
	if diff := cmp.Diff(want, tok); diff != "" {
		t.Fatalf("token (-want +got):\n%s", diff)
	}
	// No body at all means the default.
	resp, data := e.request(t, "POST", "/v1/hosts/join-tokens", "")
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(data), `"token":"dbpj_secret"`) {
		t.Fatalf("status %d body %s", resp.StatusCode, data)
	}
	if diff := cmp.Diff([]time.Duration{2 * time.Hour, 0}, got); diff != "" {
		t.Fatalf("ttls (-want +got):\n%s", diff)
	}
	for _, body := range []string{`{"ttl_seconds":-1}`, `{"ttl_seconds":604801}`} {
		resp, data := e.request(t, "POST", "/v1/hosts/join-tokens", body)
		if ae := mustErrorBody(t, resp, data, http.StatusBadRequest); ae.Error.Details[0].Field != "ttl_seconds" {
			t.Errorf("%s: details %+v, want ttl_seconds", body, ae.Error.Details)
		}
	}
	resp, data = e.request(t, "POST", "/v1/hosts/join-tokens", `{"ttl":60}`)
	mustErrorBody(t, resp, data, http.StatusBadRequest)
	resp, data = e.request(t, "POST", "/v1/hosts/join-tokens", "", "Authorization", "")
	mustErrorBody(t, resp, data, http.StatusUnauthorized)
}

func TestJoinRoute(t *testing.T) {
	e, admin := newAdminEnv(t)
	var got dbplane.JoinRequest
	admin.JoinFn = func(ctx context.Context, req dbplane.JoinRequest) (*dbplane.JoinResponse, error) {
		if u := dbplane.PrincipalFrom(ctx); u != nil {
			t.Errorf("join ran as user %q: it must need no bearer token", u.Name())
		}
		got = req
		return &dbplane.JoinResponse{HostID: 7, Certificate: "cert", CA: "ca"}, nil
	}
	req := dbplane.JoinRequest{Token: "dbpj_x", CSR: "csr", AgentPort: 7070,
		Facts: dbplane.HostFacts{Hostname: "db1", Address: "127.0.0.11", CPUs: 2, Zone: "z1"}}
	anon := httpapi.NewClient(e.ts.URL)
	resp, err := anon.Join(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&dbplane.JoinResponse{HostID: 7, Certificate: "cert", CA: "ca"}, resp); diff != "" {
		t.Fatalf("answer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(req, got); diff != "" {
		t.Fatalf("request (-sent +received):\n%s", diff)
	}
	r, data := e.request(t, "POST", "/v1/agents/join", `{"csr":"x"}`, "Authorization", "")
	if ae := mustErrorBody(t, r, data, http.StatusBadRequest); ae.Error.Details[0].Field != "token" {
		t.Fatalf("details %+v, want token", ae.Error.Details)
	}
}

// TestHostRoutesNeedAdmin: a host service that only lists is a wiring
// mistake, answered 500 rather than a panic.
func TestHostRoutesNeedAdmin(t *testing.T) {
	e := newEnv(t)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v1/hosts/1", ""},
		{"DELETE", "/v1/hosts/1", ""},
		{"POST", "/v1/hosts/1/drain", ""},
		{"POST", "/v1/hosts/join-tokens", ""},
		{"POST", "/v1/agents/join", `{"token":"dbpj_x"}`},
	} {
		resp, data := e.request(t, r.method, r.path, r.body)
		mustErrorBody(t, resp, data, http.StatusInternalServerError)
	}
}
