package ocp_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

func TestAuthAcceptsBasicAndOCPSignatures(t *testing.T) {
	f := newFixture(t)
	f.tasks.byID = func(ctx context.Context, id int64) (*dbplane.Task, error) {
		if dbplane.PrincipalFrom(ctx).Name() != testUser {
			t.Errorf("service called without the caller's principal")
		}
		return dagTask(id), nil
	}
	if a := f.get(t, "/api/v2/tasks/instances/3"); a.HTTPStatus != http.StatusOK {
		t.Fatalf("Basic: %d %+v", a.HTTPStatus, a.Error)
	}
	req := sign(t, f.request(t, http.MethodGet, "/api/v2/tasks/instances/3?b=2&a=1", nil), testAK, testSK, time.Now())
	req.Header.Set("x-ocp-origin", "test")
	// The header was added after signing: OCP signs x-ocp-* headers.
	if a := send(t, req); a.HTTPStatus != http.StatusUnauthorized {
		t.Fatalf("an x-ocp header added after signing: %d", a.HTTPStatus)
	}
	req = f.request(t, http.MethodGet, "/api/v2/tasks/instances/3?b=2&a=1", nil)
	req.Header.Set("x-ocp-origin", "test")
	if a := send(t, sign(t, req, testAK, testSK, time.Now())); a.HTTPStatus != http.StatusOK {
		t.Fatalf("OCP signature: %d %+v", a.HTTPStatus, a.Error)
	}
	// A signed POST covers its body.
	f.tasks.skip = func(_ context.Context, id, sid int64) (*dbplane.Subtask, error) {
		return &dbplane.Subtask{ID: sid}, nil
	}
	req = sign(t, f.request(t, http.MethodPost, "/api/v2/tasks/instances/3/subtasks/4/skip", []byte(`{}`)), testAK, testSK, time.Now())
	if a := send(t, req); a.HTTPStatus != http.StatusOK {
		t.Fatalf("signed POST: %d %+v", a.HTTPStatus, a.Error)
	}
}

func TestAuthRefusalsAnswerTheOCPEnvelope(t *testing.T) {
	f := newFixture(t)
	f.tasks.byID = func(ctx context.Context, id int64) (*dbplane.Task, error) {
		t.Error("a refused request reached the service")
		return nil, dbplane.Errorf(dbplane.KindInternal, "unreachable")
	}
	const path = "/api/v2/tasks/instances/3"
	for name, tc := range map[string]struct {
		req  *http.Request
		code int
	}{
		"no credentials":  {f.request(t, http.MethodGet, path, nil), 30000},
		"wrong password":  {basic(f.request(t, http.MethodGet, path, nil), testUser, "Wr0ng-Horse"), 30004},
		"unknown user":    {basic(f.request(t, http.MethodGet, path, nil), "mallory", testPassword), 30004},
		"wrong signature": {sign(t, f.request(t, http.MethodGet, path, nil), testAK, "not-the-secret", time.Now()), 30004},
		"unknown key":     {sign(t, f.request(t, http.MethodGet, path, nil), "AKNOBODY00001", testSK, time.Now()), 30004},
		"stale Date":      {sign(t, f.request(t, http.MethodGet, path, nil), testAK, testSK, time.Now().Add(-16*time.Minute)), 30004},
		"future Date":     {sign(t, f.request(t, http.MethodGet, path, nil), testAK, testSK, time.Now().Add(16*time.Minute)), 30004},
		"bearer token":    {bearer(f.request(t, http.MethodGet, path, nil)), 30004},
	} {
		a := send(t, tc.req)
		wantError(t, a, http.StatusUnauthorized, tc.code)
		if a.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", name)
		}
	}
	// A signature within the 15 minutes passes.
	f.tasks.byID = func(ctx context.Context, id int64) (*dbplane.Task, error) { return dagTask(id), nil }
	if a := send(t, sign(t, f.request(t, http.MethodGet, path, nil), testAK, testSK, time.Now().Add(-14*time.Minute))); a.HTTPStatus != http.StatusOK {
		t.Fatalf("a 14-minute-old signature: %d %+v", a.HTTPStatus, a.Error)
	}
}

func bearer(req *http.Request) *http.Request {
	req.Header.Set("Authorization", "Bearer sometoken")
	return req
}

func TestRefusedMutationsAreAudited(t *testing.T) {
	f := newFixture(t)
	wantError(t, send(t, basic(f.request(t, http.MethodPost, "/api/v2/tasks/instances/3/retry", nil), testUser, "nope-Nope1")),
		http.StatusUnauthorized, 30004)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.audit) != 1 || f.audit[0].FrontDoor != "ocp" || f.audit[0].Action != "task.retry" ||
		f.audit[0].Status != http.StatusUnauthorized || f.audit[0].RequestID == "" {
		t.Fatalf("audit %+v", f.audit)
	}
}
