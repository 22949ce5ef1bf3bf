package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/sqlstore"
)

// TestUserPassword: PUT /v1/users/{user_id}/password hands the current
// and the new password to the service, and answers with the number of
// access keys the user keeps; the service's refusals keep their field and
// retry time, and neither password reaches the log.
func TestUserPassword(t *testing.T) {
	e := newEnv(t)
	var got [3]string
	refuse := error(nil)
	e.identity.SetUserPasswordFn = func(ctx context.Context, id int64, current, pw string) error {
		got = [3]string{itoa(id), current, pw}
		return refuse
	}
	e.identity.FindAccessKeysFn = func(ctx context.Context, id int64) ([]*dbplane.AccessKey, error) {
		return []*dbplane.AccessKey{{ID: "DBPAKA", UserID: id}, {ID: "DBPAKB", UserID: id}}, nil
	}

	resp, data := e.request(t, "PUT", "/v1/users/9/password", `{"password":"New-Horse-1","current_password":"Old-Horse-1"}`)
	if resp.StatusCode != http.StatusOK || got != [3]string{"9", "Old-Horse-1", "New-Horse-1"} {
		t.Fatalf("status %d %s; service got %q", resp.StatusCode, data, got)
	}
	var pc map[string]any
	if err := json.Unmarshal(data, &pc); err != nil || pc["user_id"] != float64(9) || pc["access_keys"] != float64(2) || len(pc) != 2 {
		t.Fatalf("answer %s (%v), want user 9 with 2 access keys", data, err)
	}
	ch, err := e.client.ChangeUserPassword(t.Context(), 9, "", "New-Horse-2")
	if err != nil || *ch != (httpapi.PasswordChange{UserID: 9, AccessKeys: 2}) || got[1] != "" {
		t.Fatalf("ChangeUserPassword = %+v, %v; service got %q", ch, err, got)
	}

	refuse = dbplane.Invalid(dbplane.FieldError{Field: "current_password", Message: "does not match"})
	resp, data = e.request(t, "PUT", "/v1/users/9/password", `{"password":"New-Horse-1","current_password":"Guess-1"}`)
	if ae := mustErrorBody(t, resp, data, http.StatusBadRequest); ae.Error.Details[0].Field != "current_password" {
		t.Errorf("details %+v, want current_password", ae.Error.Details)
	}
	locked := dbplane.Errorf(dbplane.KindTooManyRequests, "too many failed attempts")
	locked.RetryAfter = 90 * time.Second
	refuse = locked
	resp, data = e.request(t, "PUT", "/v1/users/9/password", `{"password":"New-Horse-1","current_password":"Guess-2"}`)
	mustErrorBody(t, resp, data, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") != "90" {
		t.Errorf("Retry-After = %q, want 90", resp.Header.Get("Retry-After"))
	}
	for _, secret := range []string{"Old-Horse-1", "New-Horse-1", "New-Horse-2", "Guess-1", "Guess-2"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Fatalf("the log holds a password: %s", e.logs)
		}
	}
}

// TestUserPasswordReal drives a password change through the real service
// and store: the owner must give its current password, a global admin
// need not for another user, tokens die, access keys stay and are
// counted.
func TestUserPasswordReal(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "dbplane.db"), sqlstore.WithSecretBox(testdb.SecretBox()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	auth := &service.Auth{Store: db}
	identity := &service.Identity{Store: db}
	sys := service.SystemContext(ctx)
	const pass = "Correct-Horse-Battery-9"
	olga := &dbplane.User{Name: "olga"}
	root := &dbplane.User{Name: "root", Bindings: []dbplane.RoleBinding{{ProjectID: dbplane.GlobalScope, Role: dbplane.RoleAdmin}}}
	for _, u := range []*dbplane.User{olga, root} {
		if err := identity.CreateUser(sys, u, pass); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := identity.CreateAccessKey(sys, olga.ID, "ci"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer((&httpapi.Server{Auth: auth, Identity: identity}).Handler())
	t.Cleanup(ts.Close)
	client := func(user, pw string) *httpapi.Client {
		t.Helper()
		tok, err := auth.IssueToken(ctx, user, pw)
		if err != nil {
			t.Fatal(err)
		}
		c := httpapi.NewClient(ts.URL)
		c.Token = tok.Secret
		return c
	}

	asOlga := client("olga", pass)
	for current, want := range map[string]string{"": "invalid current_password: required", "Wrong-Horse-1": "invalid current_password: does not match"} {
		err := asOlga.SetUserPassword(ctx, olga.ID, current, "Olga-New-Horse-1")
		if e := mustKind(t, err, dbplane.KindInvalid); e.Message != want || e.Fields[0].Field != "current_password" {
			t.Errorf("current %q: %v, want %q", current, err, want)
		}
	}
	ch, err := asOlga.ChangeUserPassword(ctx, olga.ID, pass, "Olga-New-Horse-1")
	if err != nil || ch.UserID != olga.ID || ch.AccessKeys != 1 {
		t.Fatalf("changing with the current password: %+v, %v", ch, err)
	}
	_, err = asOlga.FindUserByID(ctx, olga.ID)
	mustKind(t, err, dbplane.KindUnauthorized)

	asRoot := client("root", pass)
	if ch, err := asRoot.ChangeUserPassword(ctx, olga.ID, "", pass); err != nil || ch.AccessKeys != 1 {
		t.Fatalf("a global admin resetting olga's password: %+v, %v", ch, err)
	}
	// The lockout is the one of logins: wrong current passwords lock olga
	// out of both.
	asOlga = client("olga", pass)
	for i := range dbplane.DefaultLockoutPolicy.MaxFailures {
		err = asOlga.SetUserPassword(ctx, olga.ID, "Wrong-Horse-"+strconv.Itoa(i), "Olga-New-Horse-2")
	}
	mustKind(t, err, dbplane.KindTooManyRequests)
	if _, err := auth.IssueToken(ctx, "olga", pass); dbplane.ErrorKind(err) != dbplane.KindTooManyRequests {
		t.Fatalf("login after the lockout: %v", err)
	}
}
