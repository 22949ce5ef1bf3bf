package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/google/go-cmp/cmp"
)

func TestIssueToken(t *testing.T) {
	e := newEnv(t)
	e.auth.IssueTokenFn = func(ctx context.Context, user, password string) (*dbplane.Token, error) {
		if user != "admin" || password != "pa55word" {
			return nil, dbplane.Errorf(dbplane.KindUnauthorized, "wrong user or password")
		}
		return &dbplane.Token{ID: 3, UserID: 1, Secret: testToken, ExpiresAt: t0.Add(dbplane.DefaultTokenTTL), CreatedAt: t0}, nil
	}
	anon := httpapi.NewClient(e.ts.URL + "/") // a trailing slash is tolerated

	t.Run("OK", func(t *testing.T) {
		tok, err := anon.IssueToken(t.Context(), "admin", "pa55word")
		if err != nil {
			t.Fatal(err)
		}
		want := &dbplane.Token{ID: 3, Secret: testToken, ExpiresAt: t0.Add(dbplane.DefaultTokenTTL)}
		if diff := cmp.Diff(want, tok); diff != "" {
			t.Errorf("token (-want +got):\n%s", diff)
		}
		// The answer holds the secret and its expiry, nothing else.
		resp, data := e.request(t, "POST", "/v1/auth/token", `{"user":"admin","password":"pa55word"}`, "Authorization", "")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status = %d, want 201: %s", resp.StatusCode, data)
		}
		if got, want := string(data), `{"id":3,"token":"good-token","expires_at":"2026-09-02T10:00:00Z"}`+"\n"; got != want {
			t.Errorf("body = %s, want %s", got, want)
		}
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		_, err := anon.IssueToken(t.Context(), "admin", "nope")
		mustKind(t, err, dbplane.KindUnauthorized)
		resp, data := e.request(t, "POST", "/v1/auth/token", `{"user":"admin","password":"nope"}`, "Authorization", "")
		mustErrorBody(t, resp, data, http.StatusUnauthorized)
		if got := resp.Header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("WWW-Authenticate = %q, want Bearer", got)
		}
	})
	t.Run("ErrMissingFields", func(t *testing.T) {
		_, err := anon.IssueToken(t.Context(), "", "")
		de := mustKind(t, err, dbplane.KindInvalid)
		want := []dbplane.FieldError{{Field: "user", Message: "required"}, {Field: "password", Message: "required"}}
		if diff := cmp.Diff(want, de.Fields); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	t.Run("Whoami", func(t *testing.T) {
		u, err := e.client.Whoami(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(testUser, u); diff != "" {
			t.Errorf("user (-want +got):\n%s", diff)
		}
	})
	t.Run("ErrWhoamiWithoutToken", func(t *testing.T) {
		_, err := httpapi.NewClient(e.ts.URL).Whoami(t.Context())
		mustKind(t, err, dbplane.KindUnauthorized)
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		anon := httpapi.NewClient(e.ts.URL)
		_, _, err := anon.FindClusters(t.Context(), dbplane.ClusterFilter{})
		mustKind(t, err, dbplane.KindUnauthorized)
		for _, auth := range []string{"", "Basic YWRtaW46cGFzcw==", "Bearer ", "Bearer"} {
			resp, data := e.request(t, "GET", "/v1/clusters", "", "Authorization", auth)
			ae := mustErrorBody(t, resp, data, http.StatusUnauthorized)
			if got := resp.Header.Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("%q: WWW-Authenticate = %q, want Bearer", auth, got)
			}
			if ae.Error.Code != "unauthorized" {
				t.Errorf("%q: code = %q, want unauthorized", auth, ae.Error.Code)
			}
		}
	})
	t.Run("ErrBadToken", func(t *testing.T) {
		bad := httpapi.NewClient(e.ts.URL)
		bad.Token = "stolen"
		_, err := bad.FindTaskByID(t.Context(), 1)
		if de := mustKind(t, err, dbplane.KindUnauthorized); de.Message != "unknown or expired token" {
			t.Errorf("message = %q", de.Message)
		}
		resp, data := e.request(t, "GET", "/v1/whoami", "", "Authorization", "bearer stolen")
		mustErrorBody(t, resp, data, http.StatusUnauthorized)
		if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") || !strings.Contains(got, "invalid_token") {
			t.Errorf("WWW-Authenticate = %q, want Bearer with invalid_token", got)
		}
	})
	t.Run("SchemeIsCaseInsensitive", func(t *testing.T) {
		resp, data := e.request(t, "GET", "/v1/whoami", "", "Authorization", "BEARER "+testToken)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status = %d, want 200: %s", resp.StatusCode, data)
		}
	})
	t.Run("ErrAuthServiceDown", func(t *testing.T) {
		e := newEnv(t)
		e.auth.AuthenticateFn = func(context.Context, string) (*dbplane.User, error) {
			return nil, dbplane.Errorf(dbplane.KindUnavailable, "store unavailable")
		}
		_, err := e.client.Whoami(t.Context())
		mustKind(t, err, dbplane.KindUnavailable)
	})
}
