package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/google/go-cmp/cmp"
)

func TestUsers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		alice := &dbplane.User{Name: "alice", Bindings: []dbplane.RoleBinding{{Role: dbplane.RoleOperator}}}
		if err := db.CreateUser(ctx, alice, "hash-1"); err != nil {
			t.Fatal(err)
		}
		if alice.ID == 0 || !alice.CreatedAt.Equal(testNow.Truncate(time.Microsecond)) {
			t.Fatalf("ID=%d CreatedAt=%v: not set by CreateUser", alice.ID, alice.CreatedAt)
		}

		t.Run("FindUserByName", func(t *testing.T) {
			u, hash, err := db.FindUserByName(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(alice, u); diff != "" {
				t.Fatalf("user (-created +found):\n%s", diff)
			} else if hash != "hash-1" {
				t.Fatalf("hash=%q", hash)
			}
		})

		t.Run("ErrNameTaken", func(t *testing.T) {
			err := db.CreateUser(ctx, &dbplane.User{Name: "alice"}, "hash-2")
			assertError(t, err, dbplane.KindConflict, `user name "alice" already exists`)
			if _, hash, err := db.FindUserByName(ctx, "alice"); err != nil || hash != "hash-1" {
				t.Fatalf("after a refused create: hash=%q err=%v", hash, err)
			}
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			_, _, err := db.FindUserByName(ctx, "bob")
			assertError(t, err, dbplane.KindNotFound, `user "bob" not found`)
		})

		t.Run("SetUserPassword", func(t *testing.T) {
			if err := db.SetUserPassword(ctx, alice.ID, "hash-3", testNow); err != nil {
				t.Fatal(err)
			}
			if _, hash, err := db.FindUserByName(ctx, "alice"); err != nil {
				t.Fatal(err)
			} else if hash != "hash-3" {
				t.Fatalf("hash=%q, want hash-3", hash)
			}
			err := db.SetUserPassword(ctx, 9999, "hash-4", testNow)
			assertError(t, err, dbplane.KindNotFound, "user 9999 not found")
		})
	})
}

func TestTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		alice := &dbplane.User{Name: "alice"}
		if err := db.CreateUser(ctx, alice, "pw"); err != nil {
			t.Fatal(err)
		}
		expires := testNow.Add(time.Hour).Truncate(time.Microsecond)
		mustToken := func(secretHash string) *dbplane.Token {
			t.Helper()
			tok := &dbplane.Token{UserID: alice.ID, ExpiresAt: expires}
			if err := db.CreateToken(ctx, tok, secretHash); err != nil {
				t.Fatal(err)
			}
			return tok
		}
		tok := mustToken("secret-hash-1")
		if tok.ID == 0 || !tok.CreatedAt.Equal(testNow.Truncate(time.Microsecond)) {
			t.Fatalf("ID=%d CreatedAt=%v: not set by CreateToken", tok.ID, tok.CreatedAt)
		}

		t.Run("Valid", func(t *testing.T) {
			for _, now := range []time.Time{testNow, expires.Add(-time.Microsecond)} {
				u, id, err := db.FindUserByToken(ctx, "secret-hash-1", now)
				if err != nil {
					t.Fatalf("at %v: %v", now, err)
				} else if id != tok.ID {
					t.Fatalf("token id %d, want %d", id, tok.ID)
				}
				if diff := cmp.Diff(alice, u); diff != "" {
					t.Fatalf("user (-want +got):\n%s", diff)
				}
			}
		})

		t.Run("Expired", func(t *testing.T) {
			for _, now := range []time.Time{expires, expires.Add(time.Hour)} {
				_, _, err := db.FindUserByToken(ctx, "secret-hash-1", now)
				assertError(t, err, dbplane.KindUnauthorized, "invalid, expired or revoked token")
			}
		})

		t.Run("Unknown", func(t *testing.T) {
			_, _, err := db.FindUserByToken(ctx, "secret-hash-unknown", testNow)
			assertError(t, err, dbplane.KindUnauthorized, "invalid, expired or revoked token")
		})

		t.Run("Revoked", func(t *testing.T) {
			revoked := mustToken("secret-hash-2")
			if _, _, err := db.FindUserByToken(ctx, "secret-hash-2", testNow); err != nil {
				t.Fatal(err)
			}
			mustExec(t, db, `UPDATE tokens SET revoked_at = ? WHERE id = ?`, testNow.UnixMicro(), revoked.ID)
			_, _, err := db.FindUserByToken(ctx, "secret-hash-2", testNow)
			assertError(t, err, dbplane.KindUnauthorized, "invalid, expired or revoked token")
		})

		t.Run("ErrUserNotFound", func(t *testing.T) {
			err := db.CreateToken(ctx, &dbplane.Token{UserID: 9999, ExpiresAt: expires}, "secret-hash-3")
			assertError(t, err, dbplane.KindNotFound, "user 9999 not found")
		})

		t.Run("DeletedUser", func(t *testing.T) {
			bob := &dbplane.User{Name: "bob"}
			if err := db.CreateUser(ctx, bob, "pw"); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateToken(ctx, &dbplane.Token{UserID: bob.ID, ExpiresAt: expires}, "secret-hash-bob"); err != nil {
				t.Fatal(err)
			}
			mustExec(t, db, `DELETE FROM users WHERE id = ?`, bob.ID)
			_, _, err := db.FindUserByToken(ctx, "secret-hash-bob", testNow)
			assertError(t, err, dbplane.KindUnauthorized, "invalid, expired or revoked token")
		})

		// Hashes of other users' tokens must not authenticate as alice.
		t.Run("OwnerOnly", func(t *testing.T) {
			carol := &dbplane.User{Name: "carol"}
			if err := db.CreateUser(ctx, carol, "pw"); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateToken(ctx, &dbplane.Token{UserID: carol.ID, ExpiresAt: expires}, "secret-hash-carol"); err != nil {
				t.Fatal(err)
			}
			u, _, err := db.FindUserByToken(ctx, "secret-hash-carol", testNow)
			if err != nil {
				t.Fatal(err)
			}
			if u.ID != carol.ID || u.Name != "carol" {
				t.Fatalf("token of carol authenticates %s", fmt.Sprint(u.ID, " ", u.Name))
			}
		})
	})
}
