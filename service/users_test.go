package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

// TestSetUserPassword_Current: a user changing its own password gives the
// current one, whatever credential it came with; a global admin setting
// another user's does not. Tokens die with the old password, access keys
// are kept.
func TestSetUserPassword_Current(t *testing.T) {
	var log bytes.Buffer
	w := newWorld(t)
	w.id.Logger = slog.New(slog.NewTextHandler(&log, nil))
	olga := w.operator.User.ID
	const newPW = "olga's brand new phrase"
	tok, err := w.auth.IssueToken(context.Background(), "olga", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	key, err := w.id.CreateAccessKey(as(w.operator), olga, "ci")
	if err != nil {
		t.Fatal(err)
	}
	byKey := &dbplane.Principal{User: w.operator.User, Via: dbplane.ViaAccessKey, AccessKeyID: key.ID}

	for _, p := range []*dbplane.Principal{w.operator, byKey} {
		err := w.id.SetUserPassword(as(p), olga, "", newPW)
		wantKind(t, err, dbplane.KindInvalid, "invalid current_password: required")
		err = w.id.SetUserPassword(as(p), olga, "a wrong guess at it", newPW)
		wantKind(t, err, dbplane.KindInvalid, "invalid current_password: does not match")
		wantField(t, err, "current_password")
	}
	// Nothing changed: the old password and token still work.
	if _, err := w.auth.AuthenticatePassword(context.Background(), "olga", testPassword); err != nil {
		t.Fatalf("the password changed without the current one: %v", err)
	}
	if _, err := w.auth.Authenticate(context.Background(), tok.Secret); err != nil {
		t.Fatalf("a refused change revoked a token: %v", err)
	}
	// The new password's rules still apply to the owner.
	wantField(t, w.id.SetUserPassword(as(w.operator), olga, testPassword, "short"), "password")

	if err := w.id.SetUserPassword(as(byKey), olga, testPassword, newPW); err != nil {
		t.Fatalf("changing with the current password: %v", err)
	}
	if _, err := w.auth.AuthenticatePassword(context.Background(), "olga", newPW); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	if _, err := w.auth.Authenticate(context.Background(), tok.Secret); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
		t.Fatalf("a token survived its password: %v", err)
	}
	if keys, err := w.id.FindAccessKeys(as(w.operator), olga); err != nil || len(keys) != 1 || keys[0].ID != key.ID {
		t.Fatalf("access keys after the change: %v, %v; want the key kept", keys, err)
	}

	// A global admin resets someone else's password without it, and
	// ignores one given; its own needs its own current password.
	if err := w.id.SetUserPassword(as(w.admin), olga, "", testPassword); err != nil {
		t.Fatalf("a global admin resetting a password: %v", err)
	}
	if err := w.id.SetUserPassword(as(w.admin), olga, "whatever", testPassword); err != nil {
		t.Fatalf("a global admin resetting a password with a stray current one: %v", err)
	}
	wantField(t, w.id.SetUserPassword(as(w.admin), w.admin.User.ID, "", "root's new phrase"), "current_password")
	if err := w.id.SetUserPassword(as(w.admin), w.admin.User.ID, testPassword, "root's new phrase"); err != nil {
		t.Fatalf("a global admin changing its own: %v", err)
	}
	// Others still may not, with or without the right current password.
	wantKind(t, w.id.SetUserPassword(as(w.betaAdm), olga, testPassword, newPW), dbplane.KindForbidden, "")
	for _, secret := range []string{testPassword, newPW, "a wrong guess at it"} {
		if strings.Contains(log.String(), secret) {
			t.Fatalf("the log holds a password: %s", log.String())
		}
	}
}

// TestSetUserPassword_Lockout: wrong current passwords count towards the
// user's lockout like failed logins, so the endpoint is no way to guess
// the password; while locked even the right one is refused, and so is a
// login.
func TestSetUserPassword_Lockout(t *testing.T) {
	w := newWorld(t)
	victor := w.viewer.User.ID
	policy := dbplane.DefaultLockoutPolicy
	// A failed login and failed changes share one count.
	if _, err := w.auth.AuthenticatePassword(context.Background(), "victor", "a wrong guess 0"); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
		t.Fatalf("a wrong login: %v", err)
	}
	for i := 2; i < policy.MaxFailures; i++ {
		err := w.id.SetUserPassword(as(w.viewer), victor, fmt.Sprintf("a wrong guess %d", i), "victor's new phrase")
		wantKind(t, err, dbplane.KindInvalid, "invalid current_password: does not match")
	}
	err := w.id.SetUserPassword(as(w.viewer), victor, "the last wrong guess", "victor's new phrase")
	wantLocked(t, err)
	wantLocked(t, w.id.SetUserPassword(as(w.viewer), victor, testPassword, "victor's new phrase"))
	_, err = w.auth.AuthenticatePassword(context.Background(), "victor", testPassword)
	wantLocked(t, err)
	// Another user is not locked, and an admin may still reset victor's.
	if err := w.id.SetUserPassword(as(w.operator), w.operator.User.ID, testPassword, "olga's new phrase"); err != nil {
		t.Fatalf("olga after victor's lockout: %v", err)
	}
	if err := w.id.SetUserPassword(as(w.admin), victor, "", "victor's reset phrase"); err != nil {
		t.Fatalf("an admin resetting a locked user's password: %v", err)
	}
}

// TestSetUserPassword_SuccessForgets: a right current password clears
// earlier failures, as a successful login does.
func TestSetUserPassword_SuccessForgets(t *testing.T) {
	w := newWorld(t)
	olga := w.operator.User.ID
	policy := dbplane.DefaultLockoutPolicy
	pw := testPassword
	for round := range 2 {
		for range policy.MaxFailures - 1 {
			wantField(t, w.id.SetUserPassword(as(w.operator), olga, "a wrong guess", "x"+pw), "current_password")
		}
		next := fmt.Sprintf("olga's phrase number %d", round)
		if err := w.id.SetUserPassword(as(w.operator), olga, pw, next); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		pw = next
	}
}

func wantLocked(t *testing.T, err error) {
	t.Helper()
	var de *dbplane.Error
	if !errors.As(err, &de) || de.Kind != dbplane.KindTooManyRequests || de.RetryAfter <= 0 ||
		de.RetryAfter > dbplane.DefaultLockoutPolicy.LockFor {
		t.Fatalf("err %v, want too many requests with a retry time", err)
	}
}
