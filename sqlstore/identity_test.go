package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/google/go-cmp/cmp"
)

func mustUser(tb testing.TB, db *sqlstore.DB, name string, bindings ...dbplane.RoleBinding) *dbplane.User {
	tb.Helper()
	u := &dbplane.User{Name: name, Bindings: bindings}
	if err := db.CreateUser(context.Background(), u, "hash-"+name); err != nil {
		tb.Fatal(err)
	}
	return u
}

func TestRoleBindings(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		now := testNow.Truncate(time.Microsecond)
		p := mustProject(t, db, "payments", dbplane.Quota{})
		alice := mustUser(t, db, "alice",
			dbplane.RoleBinding{ProjectID: p.ID, Role: dbplane.RoleOperator},
			dbplane.RoleBinding{ProjectID: dbplane.GlobalScope, Role: dbplane.RoleViewer})
		want := []dbplane.RoleBinding{
			{UserID: alice.ID, UserName: "alice", ProjectID: 0, ProjectName: "*", Role: dbplane.RoleViewer, CreatedAt: now},
			{UserID: alice.ID, UserName: "alice", ProjectID: p.ID, ProjectName: "payments", Role: dbplane.RoleOperator, CreatedAt: now},
		}
		check := func(t *testing.T, want []dbplane.RoleBinding) {
			t.Helper()
			byID, err := db.FindUserByID(ctx, alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			byName, _, err := db.FindUserByName(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			users, _, err := db.FindUsers(ctx, dbplane.UserFilter{Name: ptr("alice")})
			if err != nil || len(users) != 1 {
				t.Fatalf("FindUsers: %d users, %v", len(users), err)
			}
			for _, u := range []*dbplane.User{byID, byName, users[0]} {
				if diff := cmp.Diff(want, u.Bindings); diff != "" {
					t.Fatalf("bindings (-want +got):\n%s", diff)
				}
			}
		}

		t.Run("CreateUser", func(t *testing.T) {
			check(t, want)
			// CreateUser fills in the bindings it stored.
			if diff := cmp.Diff([]dbplane.RoleBinding{want[1], want[0]}, alice.Bindings); diff != "" {
				t.Fatalf("CreateUser's bindings (-want +got):\n%s", diff)
			}
		})

		t.Run("FindRoleBindings", func(t *testing.T) {
			bob := mustUser(t, db, "bob-"+p.Name, dbplane.RoleBinding{ProjectID: p.ID, Role: dbplane.RoleViewer})
			got, err := db.FindRoleBindings(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantP := []dbplane.RoleBinding{want[1], bob.Bindings[0]}
			if diff := cmp.Diff(wantP, got); diff != "" {
				t.Fatalf("bindings on the project (-want +got):\n%s", diff)
			}
			got, err = db.FindRoleBindings(ctx, dbplane.GlobalScope)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]dbplane.RoleBinding{want[0]}, got); diff != "" {
				t.Fatalf("global bindings (-want +got):\n%s", diff)
			}
			if err := db.DeleteUser(ctx, bob.ID); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("CreateUser/ErrProjectMissing", func(t *testing.T) {
			err := db.CreateUser(ctx, &dbplane.User{Name: "bob", Bindings: []dbplane.RoleBinding{{ProjectID: 9999, Role: "viewer"}}}, "h")
			assertError(t, err, dbplane.KindNotFound, "project 9999 not found")
			if _, _, err := db.FindUserByName(ctx, "bob"); dbplane.ErrorKind(err) != dbplane.KindNotFound {
				t.Fatalf("the user of a refused create exists: %v", err)
			}
		})

		t.Run("BindRole/Replace", func(t *testing.T) {
			later := testNow.Add(time.Hour)
			db.Now = func() time.Time { return later }
			defer func() { db.Now = func() time.Time { return testNow } }()
			b := &dbplane.RoleBinding{UserID: alice.ID, ProjectID: p.ID, Role: dbplane.RoleAdmin}
			if err := db.BindRole(ctx, b); err != nil {
				t.Fatal(err)
			}
			replaced := want[1]
			replaced.Role, replaced.CreatedAt = dbplane.RoleAdmin, later.Truncate(time.Microsecond)
			if diff := cmp.Diff(&replaced, b); diff != "" {
				t.Fatalf("BindRole's binding (-want +got):\n%s", diff)
			}
			check(t, []dbplane.RoleBinding{want[0], replaced})
			global := &dbplane.RoleBinding{UserID: alice.ID, ProjectID: dbplane.GlobalScope, Role: dbplane.RoleOperator}
			if err := db.BindRole(ctx, global); err != nil {
				t.Fatal(err)
			}
			if n := mustQueryInt(t, db, `SELECT COUNT(*) FROM role_bindings WHERE user_id = ?`, alice.ID); n != 2 {
				t.Fatalf("%d bindings after replacing both, want 2", n)
			}
		})

		t.Run("BindRole/Errors", func(t *testing.T) {
			err := db.BindRole(ctx, &dbplane.RoleBinding{UserID: alice.ID, ProjectID: p.ID, Role: "root"})
			assertError(t, err, dbplane.KindInvalid, `invalid role: "root" is not a role: use viewer, operator or admin`)
			err = db.BindRole(ctx, &dbplane.RoleBinding{UserID: 9999, ProjectID: p.ID, Role: "viewer"})
			assertError(t, err, dbplane.KindNotFound, "user 9999 not found")
			err = db.BindRole(ctx, &dbplane.RoleBinding{UserID: alice.ID, ProjectID: 9999, Role: "viewer"})
			assertError(t, err, dbplane.KindNotFound, "project 9999 not found")
		})

		t.Run("UnbindRole", func(t *testing.T) {
			if err := db.UnbindRole(ctx, alice.ID, dbplane.GlobalScope); err != nil {
				t.Fatal(err)
			}
			u, err := db.FindUserByID(ctx, alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Bindings) != 1 || u.Bindings[0].ProjectID != p.ID {
				t.Fatalf("bindings after unbinding the global one: %+v", u.Bindings)
			}
			err = db.UnbindRole(ctx, alice.ID, dbplane.GlobalScope)
			assertError(t, err, dbplane.KindNotFound, fmt.Sprintf("user %d has no binding on project 0", alice.ID))
		})
	})
}

func TestFindUsers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		for _, name := range []string{"u1", "u2", "u3"} {
			mustUser(t, db, name, dbplane.RoleBinding{Role: dbplane.RoleViewer})
		}
		users, total, err := db.FindUsers(ctx, dbplane.UserFilter{Offset: 1, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if total != 3 || len(users) != 1 || users[0].Name != "u2" || len(users[0].Bindings) != 1 {
			t.Fatalf("total=%d users=%+v", total, users)
		}
		users, total, err = db.FindUsers(ctx, dbplane.UserFilter{Name: ptr("nobody")})
		if err != nil || total != 0 || len(users) != 0 {
			t.Fatalf("no match: total=%d users=%v err=%v", total, users, err)
		}
	})
}

func TestTokenRevocation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		alice := mustUser(t, db, "alice")
		mint := func(hash string, expires time.Time) *dbplane.Token {
			t.Helper()
			tok := &dbplane.Token{UserID: alice.ID, ExpiresAt: expires}
			if err := db.CreateToken(ctx, tok, hash); err != nil {
				t.Fatal(err)
			}
			return tok
		}
		live := mint("h-live", testNow.Add(time.Hour))
		revoked := mint("h-revoked", testNow.Add(time.Hour))
		mint("h-expired", testNow.Add(-time.Minute))
		revokeAt := testNow.Add(time.Minute)

		t.Run("RevokeToken", func(t *testing.T) {
			if err := db.RevokeToken(ctx, revoked.ID, revokeAt); err != nil {
				t.Fatal(err)
			}
			_, _, err := db.FindUserByToken(ctx, "h-revoked", testNow)
			assertError(t, err, dbplane.KindUnauthorized, "invalid, expired or revoked token")
			// Revoking again keeps the first time.
			if err := db.RevokeToken(ctx, revoked.ID, revokeAt.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			got, err := db.FindToken(ctx, revoked.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.RevokedAt == nil || !got.RevokedAt.Equal(revokeAt.Truncate(time.Microsecond)) {
				t.Fatalf("RevokedAt=%v, want %v", got.RevokedAt, revokeAt)
			}
			assertError(t, db.RevokeToken(ctx, 9999, revokeAt), dbplane.KindNotFound, "token 9999 not found")
			_, err = db.FindToken(ctx, 9999)
			assertError(t, err, dbplane.KindNotFound, "token 9999 not found")
		})

		t.Run("FindTokens", func(t *testing.T) {
			toks, err := db.FindTokens(ctx, alice.ID, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if len(toks) != 2 || toks[0].ID != live.ID || toks[1].ID != revoked.ID {
				t.Fatalf("tokens %+v, want the live and the revoked one", toks)
			}
			if toks[0].RevokedAt != nil || toks[1].RevokedAt == nil || toks[0].Secret != "" {
				t.Fatalf("tokens %+v", toks)
			}
		})

		t.Run("SetUserPasswordRevokes", func(t *testing.T) {
			if _, id, err := db.FindUserByToken(ctx, "h-live", testNow); err != nil || id != live.ID {
				t.Fatalf("before: id=%d err=%v", id, err)
			}
			if err := db.SetUserPassword(ctx, alice.ID, "new-hash", revokeAt.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			_, _, err := db.FindUserByToken(ctx, "h-live", testNow)
			assertError(t, err, dbplane.KindUnauthorized, "invalid, expired or revoked token")
			got, err := db.FindToken(ctx, revoked.ID)
			if err != nil || !got.RevokedAt.Equal(revokeAt.Truncate(time.Microsecond)) {
				t.Fatalf("an earlier revocation changed: %v, %v", got.RevokedAt, err)
			}
		})
	})
}

func TestDeleteUser(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		p := mustProject(t, db, "p", dbplane.Quota{})
		bob := mustUser(t, db, "bob", dbplane.RoleBinding{ProjectID: p.ID, Role: "viewer"}, dbplane.RoleBinding{Role: "admin"})
		// keep is an admin too: the store keeps the last global admin.
		keep := mustUser(t, db, "keep", dbplane.RoleBinding{Role: "admin"})
		for _, u := range []*dbplane.User{bob, keep} {
			if err := db.CreateToken(ctx, &dbplane.Token{UserID: u.ID, ExpiresAt: testNow.Add(time.Hour)}, "h-"+u.Name); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateAccessKey(ctx, &dbplane.AccessKey{ID: "AK" + u.Name, UserID: u.ID}, "sk"); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteUser(ctx, bob.ID); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"role_bindings", "tokens", "access_keys"} {
			if n := mustQueryInt(t, db, `SELECT COUNT(*) FROM `+table+` WHERE user_id = ?`, bob.ID); n != 0 {
				t.Errorf("%d rows of %s survive their user", n, table)
			}
			if n := mustQueryInt(t, db, `SELECT COUNT(*) FROM `+table+` WHERE user_id = ?`, keep.ID); n != 1 {
				t.Errorf("%d rows of %s of another user, want 1", n, table)
			}
		}
		_, err := db.FindUserByID(ctx, bob.ID)
		assertError(t, err, dbplane.KindNotFound, fmt.Sprintf("user %d not found", bob.ID))
		assertError(t, db.DeleteUser(ctx, bob.ID), dbplane.KindNotFound, fmt.Sprintf("user %d not found", bob.ID))
	})
}

func TestAccessKeys(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		alice := mustUser(t, db, "alice")
		k := &dbplane.AccessKey{ID: "AKALICE1", UserID: alice.ID, Description: "ci"}
		if err := db.CreateAccessKey(ctx, k, "secret-key-1"); err != nil {
			t.Fatal(err)
		}
		if !k.CreatedAt.Equal(testNow.Truncate(time.Microsecond)) {
			t.Fatalf("CreatedAt=%v", k.CreatedAt)
		}
		var raw []byte
		if err := db.SQL().QueryRow(rebind(db, `SELECT secret_ciphertext FROM access_keys WHERE id = ?`), k.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		} else if len(raw) == 0 || contains(raw, "secret-key-1") {
			t.Fatalf("secret stored as %q: not encrypted", raw)
		}

		got, secret, err := db.FindAccessKey(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(k, got); diff != "" || secret != "secret-key-1" {
			t.Fatalf("secret=%q; key (-created +found):\n%s", secret, diff)
		}

		err = db.CreateAccessKey(ctx, &dbplane.AccessKey{ID: "AKALICE1", UserID: alice.ID}, "other")
		assertError(t, err, dbplane.KindConflict, "access key AKALICE1 already exists")
		err = db.CreateAccessKey(ctx, &dbplane.AccessKey{ID: "AKNOBODY", UserID: 9999}, "other")
		assertError(t, err, dbplane.KindNotFound, "user 9999 not found")
		_, _, err = db.FindAccessKey(ctx, "AKNONE")
		assertError(t, err, dbplane.KindNotFound, "access key AKNONE not found")

		used := testNow.Add(time.Minute)
		if err := db.TouchAccessKey(ctx, k.ID, used); err != nil {
			t.Fatal(err)
		}
		assertError(t, db.TouchAccessKey(ctx, "AKNONE", used), dbplane.KindNotFound, "access key AKNONE not found")
		k2 := &dbplane.AccessKey{ID: "AKALICE2", UserID: alice.ID}
		if err := db.CreateAccessKey(ctx, k2, "secret-key-2"); err != nil {
			t.Fatal(err)
		}
		keys, err := db.FindAccessKeys(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 || keys[0].ID != k.ID || keys[1].ID != k2.ID || keys[0].Secret != "" ||
			keys[0].LastUsedAt == nil || !keys[0].LastUsedAt.Equal(used.Truncate(time.Microsecond)) || keys[1].LastUsedAt != nil {
			t.Fatalf("keys %+v", keys)
		}

		if err := db.DeleteAccessKey(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		assertError(t, db.DeleteAccessKey(ctx, k.ID), dbplane.KindNotFound, "access key AKALICE1 not found")
		if keys, err := db.FindAccessKeys(ctx, alice.ID); err != nil || len(keys) != 1 {
			t.Fatalf("after delete: %d keys, %v", len(keys), err)
		}
	})
}

// TestLastGlobalAdminStays removes global admins concurrently: the store
// locks their bindings, so one of two admins removing each other fails,
// and the last one can be neither unbound, downgraded nor deleted.
func TestLastGlobalAdminStays(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		admin := dbplane.RoleBinding{ProjectID: dbplane.GlobalScope, Role: dbplane.RoleAdmin}
		a, b := mustUser(t, db, "ann", admin), mustUser(t, db, "ben", admin)
		viewer := mustUser(t, db, "vic") // no admin binding: removable at will
		errs := make(chan error, 2)
		for _, u := range []*dbplane.User{a, b} {
			go func() { errs <- db.UnbindRole(ctx, u.ID, dbplane.GlobalScope) }()
		}
		e1, e2 := <-errs, <-errs
		if (e1 == nil) == (e2 == nil) {
			t.Fatalf("unbinding both admins at once: %v and %v; want exactly one refused", e1, e2)
		}
		last := a
		if bs, err := db.FindRoleBindings(ctx, dbplane.GlobalScope); err != nil || len(bs) != 1 {
			t.Fatalf("global bindings %+v, %v; want one", bs, err)
		} else if bs[0].UserID == b.ID {
			last = b
		}
		for name, err := range map[string]error{
			"unbind":    db.UnbindRole(ctx, last.ID, dbplane.GlobalScope),
			"downgrade": db.BindRole(ctx, &dbplane.RoleBinding{UserID: last.ID, ProjectID: dbplane.GlobalScope, Role: dbplane.RoleViewer}),
			"delete":    db.DeleteUser(ctx, last.ID),
		} {
			if !errors.Is(err, dbplane.ErrLastAdmin) || dbplane.ErrorKind(err) != dbplane.KindConflict {
				t.Errorf("%s the last admin: %v; want a conflict", name, err)
			}
		}
		if err := db.DeleteUser(ctx, viewer.ID); err != nil {
			t.Fatalf("deleting a non-admin: %v", err)
		}
	})
}

// TestAccessKeyLimitUnderConcurrency creates more keys than allowed at
// once: the store counts in the insert's transaction, so exactly
// MaxAccessKeys succeed and the others name the limit.
func TestAccessKeyLimitUnderConcurrency(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		bob := mustUser(t, db, "bob")
		const tries = dbplane.MaxAccessKeys + 4
		errs := make(chan error, tries)
		for i := range tries {
			go func() {
				errs <- db.CreateAccessKey(ctx, &dbplane.AccessKey{ID: fmt.Sprintf("AKBOB%d", i), UserID: bob.ID}, "sk")
			}()
		}
		created := 0
		for range tries {
			err := <-errs
			switch {
			case err == nil:
				created++
			case !errors.Is(err, dbplane.ErrAccessKeyLimit) || dbplane.ErrorKind(err) != dbplane.KindConflict:
				t.Errorf("err %v; want a conflict naming the limit", err)
			}
		}
		if created != dbplane.MaxAccessKeys {
			t.Fatalf("%d keys created; want %d", created, dbplane.MaxAccessKeys)
		}
	})
}

func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}

func TestLockout(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		policy := dbplane.LockoutPolicy{MaxFailures: 3, Window: 10 * time.Minute, LockFor: 5 * time.Minute}
		at := func(min int) time.Time { return testNow.Add(time.Duration(min) * time.Minute) }
		fail := func(subject string, min int) time.Time {
			t.Helper()
			until, err := db.RecordAuthFailure(ctx, subject, at(min), policy)
			if err != nil {
				t.Fatal(err)
			}
			return until
		}
		lockedAt := func(subject string, min int) time.Time {
			t.Helper()
			until, err := db.AuthLockedUntil(ctx, subject, at(min))
			if err != nil {
				t.Fatal(err)
			}
			return until
		}

		t.Run("LocksAtMax", func(t *testing.T) {
			for _, min := range []int{0, 1} {
				if until := fail("user:a", min); !until.IsZero() {
					t.Fatalf("locked after failure at %d: %v", min, until)
				}
			}
			want := at(2 + 5).Truncate(time.Microsecond)
			if until := fail("user:a", 2); !until.Equal(want) {
				t.Fatalf("third failure: locked until %v, want %v", until, want)
			}
			if got := lockedAt("user:a", 6); !got.Equal(want) {
				t.Fatalf("AuthLockedUntil during the lock = %v, want %v", got, want)
			}
			// A failure while locked does not extend the lock.
			if until := fail("user:a", 3); !until.Equal(want) {
				t.Fatalf("failure while locked: %v, want %v", until, want)
			}
			if got := lockedAt("user:a", 7); !got.IsZero() {
				t.Fatalf("still locked when the lock ends: %v", got)
			}
			// After the lock the subject has its full number of attempts.
			if until := fail("user:a", 8); !until.IsZero() {
				t.Fatalf("first failure after the lock locked again until %v", until)
			}
			if got := lockedAt("user:other", 0); !got.IsZero() {
				t.Fatalf("another subject is locked: %v", got)
			}
		})

		t.Run("WindowRestarts", func(t *testing.T) {
			fail("user:b", 0)
			fail("user:b", 9)
			// 10 minutes after the first failure the window has passed: the
			// count restarts at this failure.
			if until := fail("user:b", 10); !until.IsZero() {
				t.Fatalf("failure after the window locked until %v", until)
			}
			if until := fail("user:b", 11); !until.IsZero() {
				t.Fatalf("second failure of the new window locked until %v", until)
			}
			if until := fail("user:b", 12); until.IsZero() {
				t.Fatal("third failure of the new window did not lock")
			}
		})

		t.Run("Clear", func(t *testing.T) {
			fail("user:c", 0)
			fail("user:c", 0)
			if err := db.ClearAuthFailures(ctx, "user:c"); err != nil {
				t.Fatal(err)
			}
			if until := fail("user:c", 1); !until.IsZero() {
				t.Fatalf("failures survived ClearAuthFailures: locked until %v", until)
			}
			fail("user:d", 0)
			fail("user:d", 0)
			fail("user:d", 0)
			if err := db.ClearAuthFailures(ctx, "user:d"); err != nil {
				t.Fatal(err)
			}
			if got := lockedAt("user:d", 1); !got.IsZero() {
				t.Fatalf("lock survived ClearAuthFailures: %v", got)
			}
		})

		// Concurrent failures are all counted: none is lost to a race.
		t.Run("Concurrent", func(t *testing.T) {
			const n = 8
			p := dbplane.LockoutPolicy{MaxFailures: n, Window: time.Hour, LockFor: time.Hour}
			errs := make(chan error, n)
			for range n {
				go func() {
					_, err := db.RecordAuthFailure(ctx, "user:e", testNow, p)
					errs <- err
				}()
			}
			for range n {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			if got := lockedAt("user:e", 0); got.IsZero() {
				t.Fatalf("%d concurrent failures with MaxFailures %d did not lock", n, n)
			}
		})
	})
}

func TestAudit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		p := mustProject(t, db, "payments", dbplane.Quota{})
		at := func(min int) time.Time {
			return testNow.Add(time.Duration(min) * time.Minute).Truncate(time.Microsecond)
		}
		events := []*dbplane.AuditEvent{
			{Time: at(0), User: "alice", UserID: 1, Via: "token", ProjectID: p.ID, FrontDoor: "v1",
				Action: "cluster.create", Target: "cluster/1", Result: dbplane.AuditResultSuccess, Status: 201,
				Source: "10.0.0.1", RequestID: "r1"},
			{Time: at(1), User: "bob", FrontDoor: "ocp", Action: "cluster.delete", Result: "forbidden", Status: 403, RequestID: "r2"},
			{Time: at(2), User: "alice", FrontDoor: "v1", Action: "cluster.delete", ProjectID: p.ID, Project: "kept",
				Result: dbplane.AuditResultSuccess, Status: 202, RequestID: "r3"},
			{FrontDoor: "v1", Action: "token.issue", Result: "unauthorized", Status: 401, RequestID: "r4"}, // time: now
		}
		for _, e := range events {
			if err := db.RecordAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
			if e.ID == 0 {
				t.Fatal("ID not set")
			}
		}
		if events[0].Project != "payments" || events[2].Project != "kept" || !events[3].Time.Equal(at(0)) {
			t.Fatalf("RecordAudit did not fill in the project name or the time: %+v %+v", events[0], events[3])
		}

		find := func(t *testing.T, f dbplane.AuditFilter) ([]string, int) {
			t.Helper()
			es, total, err := db.FindAuditEvents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range es {
				ids = append(ids, e.RequestID)
			}
			return ids, total
		}
		for _, tc := range []struct {
			name   string
			filter dbplane.AuditFilter
			want   []string
			total  int
		}{
			{"All", dbplane.AuditFilter{}, []string{"r3", "r2", "r4", "r1"}, 4},
			{"User", dbplane.AuditFilter{User: ptr("alice")}, []string{"r3", "r1"}, 2},
			{"ProjectID", dbplane.AuditFilter{ProjectID: &p.ID}, []string{"r3", "r1"}, 2},
			{"ProjectIDs", dbplane.AuditFilter{ProjectIDs: []int64{p.ID, 9999}}, []string{"r3", "r1"}, 2},
			{"EmptyProjectIDs", dbplane.AuditFilter{ProjectIDs: []int64{}}, nil, 0},
			{"Action", dbplane.AuditFilter{Action: ptr("cluster.delete")}, []string{"r3", "r2"}, 2},
			{"Result", dbplane.AuditFilter{Result: ptr(dbplane.AuditResultSuccess)}, []string{"r3", "r1"}, 2},
			{"Since", dbplane.AuditFilter{Since: ptr(at(1))}, []string{"r3", "r2"}, 2},
			{"Until", dbplane.AuditFilter{Until: ptr(at(1))}, []string{"r4", "r1"}, 2},
			{"Page", dbplane.AuditFilter{Offset: 1, Limit: 2}, []string{"r2", "r4"}, 4},
			{"Combined", dbplane.AuditFilter{User: ptr("alice"), Action: ptr("cluster.create"), Since: ptr(at(0)),
				Until: ptr(at(5))}, []string{"r1"}, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, total := find(t, tc.filter)
				if diff := cmp.Diff(tc.want, got); diff != "" || total != tc.total {
					t.Fatalf("total=%d, want %d; events (-want +got):\n%s", total, tc.total, diff)
				}
			})
		}

		t.Run("RoundTrip", func(t *testing.T) {
			es, _, err := db.FindAuditEvents(ctx, dbplane.AuditFilter{User: ptr("alice"), Action: ptr("cluster.create")})
			if err != nil || len(es) != 1 {
				t.Fatalf("%d events, %v", len(es), err)
			}
			if diff := cmp.Diff(events[0], es[0]); diff != "" {
				t.Fatalf("(-recorded +found):\n%s", diff)
			}
		})
	})
}
