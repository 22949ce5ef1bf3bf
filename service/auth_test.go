package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/sqlstore"
)

// authStore is a real SQLite store with hooks: a failure to inject, a
// concurrent writer to simulate, and a count of password writes.
type authStore struct {
	*sqlstore.DB
	mu sync.Mutex
	// beforeCreate, if set, runs once at the start of CreateUser.
	beforeCreate func()
	// findErr, if set, is returned by FindUserByName and FindUserByToken.
	findErr error
	writes  int // successful CreateUser and SetUserPassword calls
}

func (s *authStore) CreateUser(ctx context.Context, u *dbplane.User, hash string) error {
	s.mu.Lock()
	f := s.beforeCreate
	s.beforeCreate = nil
	s.mu.Unlock()
	if f != nil {
		f()
	}
	err := s.DB.CreateUser(ctx, u, hash)
	s.count(err)
	return err
}

func (s *authStore) SetUserPassword(ctx context.Context, id int64, hash string, now time.Time) error {
	err := s.DB.SetUserPassword(ctx, id, hash, now)
	s.count(err)
	return err
}

func (s *authStore) count(err error) {
	if err == nil {
		s.mu.Lock()
		s.writes++
		s.mu.Unlock()
	}
}

func (s *authStore) FindUserByName(ctx context.Context, name string) (*dbplane.User, string, error) {
	if s.findErr != nil {
		return nil, "", s.findErr
	}
	return s.DB.FindUserByName(ctx, name)
}

func (s *authStore) FindUserByToken(ctx context.Context, hash string, now time.Time) (*dbplane.User, int64, error) {
	if s.findErr != nil {
		return nil, 0, s.findErr
	}
	return s.DB.FindUserByToken(ctx, hash, now)
}

func (s *authStore) hashOf(t *testing.T, name string) string {
	t.Helper()
	_, hash, err := s.DB.FindUserByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

// mustOpenDB opens a migrated SQLite store in a temporary directory.
func mustOpenDB(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(tb.TempDir(), "dbplane.db"),
		sqlstore.WithSecretBox(testdb.SecretBox()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// authFixture is an Auth over a real store with a settable clock and a
// captured log.
type authFixture struct {
	*Auth
	store *authStore
	now   time.Time
	log   bytes.Buffer
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	f := &authFixture{store: &authStore{DB: mustOpenDB(t)}, now: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)}
	f.Auth = &Auth{
		Store:    f.store,
		Now:      func() time.Time { return f.now },
		TokenTTL: time.Hour,
		Logger:   slog.New(slog.NewTextHandler(&f.log, nil)),
	}
	return f
}

// addUser creates a user with a password directly in the store.
func (f *authFixture) addUser(t *testing.T, name, password string, bindings ...dbplane.RoleBinding) *dbplane.User {
	t.Helper()
	hash, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	u := &dbplane.User{Name: name, Bindings: bindings, CreatedAt: f.now}
	if err := f.store.DB.CreateUser(t.Context(), u, hash); err != nil {
		t.Fatal(err)
	}
	return u
}

// assertLogClean fails if the log shows any of the secrets.
func (f *authFixture) assertLogClean(t *testing.T, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(f.log.String(), s) {
			t.Errorf("log contains a secret:\n%s", f.log.String())
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestAuth_IssueToken(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := newAuthFixture(t)
		alice := f.addUser(t, "alice", "Alice-pass1", bind(dbplane.GlobalScope, dbplane.RoleViewer))
		tok, err := f.IssueToken(t.Context(), "alice", "Alice-pass1")
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^dbp_[A-Za-z0-9_-]{43}$`).MatchString(tok.Secret) {
			t.Errorf("Secret = %q, want dbp_ and 32 bytes in base64url", tok.Secret)
		}
		if got, want := tok.ExpiresAt, f.now.Add(time.Hour); !got.Equal(want) {
			t.Errorf("ExpiresAt = %v, want %v", got, want)
		}
		if tok.UserID != alice.ID || tok.ID == 0 {
			t.Errorf("token = %+v, want user %d and an ID", tok, alice.ID)
		}
		// The store knows the token by its SHA-256 alone.
		if _, id, err := f.store.DB.FindUserByToken(t.Context(), sha256Hex(tok.Secret), f.now); err != nil || id != tok.ID {
			t.Fatalf("store lookup by the token's SHA-256 = %d, %v; want token %d", id, err, tok.ID)
		}
		stored, err := f.store.FindToken(t.Context(), tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Secret != "" {
			t.Error("the secret reached the store")
		}

		p, err := f.Authenticate(t.Context(), tok.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name() != "alice" || p.User.ID != alice.ID || p.Via != dbplane.ViaToken || p.TokenID != tok.ID {
			t.Errorf("Authenticate = %+v, want alice by token %d", p, tok.ID)
		}
		if !p.Can(dbplane.ActionRead, 7) || p.Can(dbplane.ActionOperate, 7) {
			t.Errorf("principal's bindings %+v, want alice's global viewer role", p.User.Bindings)
		}
		f.assertLogClean(t, "Alice-pass1", tok.Secret)
	})

	t.Run("TokensAreUnique", func(t *testing.T) {
		f := newAuthFixture(t)
		f.addUser(t, "alice", "Alice-pass1")
		a, errA := f.IssueToken(t.Context(), "alice", "Alice-pass1")
		b, errB := f.IssueToken(t.Context(), "alice", "Alice-pass1")
		if err := errors.Join(errA, errB); err != nil {
			t.Fatal(err)
		}
		if a.Secret == b.Secret {
			t.Error("two tokens have the same secret")
		}
	})

	t.Run("DefaultTTL", func(t *testing.T) {
		f := newAuthFixture(t)
		f.TokenTTL = 0
		f.addUser(t, "alice", "Alice-pass1")
		tok, err := f.IssueToken(t.Context(), "alice", "Alice-pass1")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tok.ExpiresAt, f.now.Add(dbplane.DefaultTokenTTL); !got.Equal(want) {
			t.Errorf("ExpiresAt = %v, want %v", got, want)
		}
	})

	// A wrong password and an unknown user get the same error, so the
	// answer does not reveal which user names exist.
	t.Run("ErrBadCredentials", func(t *testing.T) {
		f := newAuthFixture(t)
		alice := f.addUser(t, "alice", "Alice-pass1")
		for _, c := range []struct{ user, password string }{
			{"alice", "Alice-pass2"},
			{"alice", ""},
			{"bob", "Alice-pass1"},
			{"", ""},
		} {
			tok, err := f.IssueToken(t.Context(), c.user, c.password)
			if tok != nil {
				t.Errorf("IssueToken(%q, %q) issued a token", c.user, c.password)
			}
			if got := dbplane.ErrorKind(err); got != dbplane.KindUnauthorized {
				t.Errorf("IssueToken(%q, %q) kind = %v, want unauthorized", c.user, c.password, got)
			}
			if got := dbplane.ErrorMessage(err); got != "invalid user or password" {
				t.Errorf("IssueToken(%q, %q) message = %q", c.user, c.password, got)
			}
		}
		if ts, err := f.store.FindTokens(t.Context(), alice.ID, f.now); err != nil || len(ts) != 0 {
			t.Errorf("tokens after refusals: %v, %v", ts, err)
		}
		f.assertLogClean(t, "Alice-pass1", "Alice-pass2", "bob")
	})

	t.Run("ErrStore", func(t *testing.T) {
		f := newAuthFixture(t)
		f.store.findErr = errors.New("disk on fire")
		_, err := f.IssueToken(t.Context(), "alice", "Alice-pass1")
		if got := dbplane.ErrorKind(err); got != dbplane.KindInternal {
			t.Errorf("kind = %v, want internal", got)
		}
	})

	t.Run("ErrMalformedStoredHash", func(t *testing.T) {
		f := newAuthFixture(t)
		if err := f.store.DB.CreateUser(t.Context(), &dbplane.User{Name: "alice", CreatedAt: f.now}, "not-a-hash"); err != nil {
			t.Fatal(err)
		}
		_, err := f.IssueToken(t.Context(), "alice", "Alice-pass1")
		if got := dbplane.ErrorKind(err); got != dbplane.KindInternal {
			t.Errorf("kind = %v (%v), want internal", got, err)
		}
	})
}

func TestAuth_Authenticate(t *testing.T) {
	f := newAuthFixture(t)
	f.addUser(t, "alice", "Alice-pass1")
	tok, err := f.IssueToken(t.Context(), "alice", "Alice-pass1")
	if err != nil {
		t.Fatal(err)
	}
	issued := f.now

	t.Run("ValidUntilExpiry", func(t *testing.T) {
		f.now = issued.Add(time.Hour - time.Second)
		if _, err := f.Authenticate(t.Context(), tok.Secret); err != nil {
			t.Fatalf("Authenticate before expiry: %v", err)
		}
	})

	tests := []struct {
		name  string
		now   time.Time
		token string
	}{
		{"ErrExpired", issued.Add(time.Hour), tok.Secret},
		{"ErrLongExpired", issued.Add(48 * time.Hour), tok.Secret},
		{"ErrUnknown", issued, "dbp_" + base64.RawURLEncoding.EncodeToString(make([]byte, 32))},
		{"ErrTampered", issued, tok.Secret[:len(tok.Secret)-1] + flip(tok.Secret[len(tok.Secret)-1])},
		{"ErrNoPrefix", issued, strings.TrimPrefix(tok.Secret, "dbp_")},
		{"ErrEmpty", issued, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.now = tt.now
			p, err := f.Authenticate(t.Context(), tt.token)
			if p != nil {
				t.Errorf("Authenticate returned %+v", p)
			}
			if got := dbplane.ErrorKind(err); got != dbplane.KindUnauthorized {
				t.Errorf("kind = %v (%v), want unauthorized", got, err)
			}
			if got := dbplane.ErrorMessage(err); got != "invalid or expired token" {
				t.Errorf("message = %q", got)
			}
		})
	}

	t.Run("ErrRevoked", func(t *testing.T) {
		f.now = issued
		other, err := f.IssueToken(t.Context(), "alice", "Alice-pass1")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.RevokeToken(t.Context(), other.ID, f.now); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Authenticate(t.Context(), other.Secret); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
			t.Errorf("revoked token: %v, want unauthorized", err)
		}
	})

	t.Run("ErrStore", func(t *testing.T) {
		f.now = issued
		f.store.findErr = errors.New("disk on fire")
		defer func() { f.store.findErr = nil }()
		_, err := f.Authenticate(t.Context(), tok.Secret)
		if got := dbplane.ErrorKind(err); got != dbplane.KindInternal {
			t.Errorf("kind = %v, want internal", got)
		}
	})
	f.assertLogClean(t, "Alice-pass1", tok.Secret)
}

// TestAuth_Lockout: repeated failures lock a user name out with a retry
// time, whether the user exists or not; the lock ends by itself; a success
// forgets earlier failures.
func TestAuth_Lockout(t *testing.T) {
	policy := dbplane.DefaultLockoutPolicy
	for _, user := range []string{"alice", "nobody"} {
		t.Run(user, func(t *testing.T) {
			f := newAuthFixture(t)
			f.addUser(t, "alice", "Alice-pass1")
			for i := 1; i < policy.MaxFailures; i++ {
				if _, err := f.IssueToken(t.Context(), user, "wrong-password"); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
					t.Fatalf("failure %d: %v, want unauthorized", i, err)
				}
			}
			_, err := f.IssueToken(t.Context(), user, "wrong-password")
			assertLocked(t, err, policy.LockFor)
			// While locked, even the right password is refused.
			f.now = f.now.Add(policy.LockFor / 2)
			_, err = f.AuthenticatePassword(t.Context(), "alice", "Alice-pass1")
			if user == "alice" {
				assertLocked(t, err, policy.LockFor/2)
			} else if err != nil {
				t.Fatalf("locking %q locked alice: %v", user, err)
			}
			f.now = f.now.Add(policy.LockFor/2 + time.Second)
			if _, err := f.AuthenticatePassword(t.Context(), "alice", "Alice-pass1"); err != nil {
				t.Fatalf("after the lock: %v", err)
			}
		})
	}

	t.Run("SuccessForgets", func(t *testing.T) {
		f := newAuthFixture(t)
		f.addUser(t, "alice", "Alice-pass1")
		for range 2 {
			for range policy.MaxFailures - 1 {
				if _, err := f.IssueToken(t.Context(), "alice", "wrong-password"); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
					t.Fatal(err)
				}
			}
			if _, err := f.IssueToken(t.Context(), "alice", "Alice-pass1"); err != nil {
				t.Fatalf("success after %d failures: %v", policy.MaxFailures-1, err)
			}
		}
	})
}

func assertLocked(t *testing.T, err error, retry time.Duration) {
	t.Helper()
	if dbplane.ErrorKind(err) != dbplane.KindTooManyRequests {
		t.Fatalf("err %v, want too many requests", err)
	}
	var de *dbplane.Error
	if !errors.As(err, &de) || de.RetryAfter <= 0 || de.RetryAfter > retry {
		t.Fatalf("err %#v, want a retry time within %v", err, retry)
	}
	if !strings.Contains(dbplane.ErrorMessage(err), "locked until") {
		t.Fatalf("message %q does not say until when", dbplane.ErrorMessage(err))
	}
}

// TestAuth_AuthenticateSignature: verify sees the key's secret; an unknown
// key and a bad signature get one answer and count towards the key's
// lockout.
func TestAuth_AuthenticateSignature(t *testing.T) {
	f := newAuthFixture(t)
	alice := f.addUser(t, "alice", "Alice-pass1", bind(dbplane.GlobalScope, dbplane.RoleOperator))
	key := &dbplane.AccessKey{ID: "DBPAKABCDEFGHIJKLMNO", UserID: alice.ID, CreatedAt: f.now}
	const secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-abcde"
	if err := f.store.CreateAccessKey(t.Context(), key, secret); err != nil {
		t.Fatal(err)
	}
	good := func(s string) error {
		if s != secret {
			return dbplane.Errorf(dbplane.KindUnauthorized, "signature mismatch")
		}
		return nil
	}
	p, err := f.AuthenticateSignature(t.Context(), key.ID, good)
	if err != nil {
		t.Fatal(err)
	}
	if p.User.ID != alice.ID || p.Via != dbplane.ViaAccessKey || p.AccessKeyID != key.ID || !p.Can(dbplane.ActionOperate, 3) {
		t.Fatalf("principal %+v, want alice by access key", p)
	}
	keys, err := f.store.FindAccessKeys(t.Context(), alice.ID)
	if err != nil || len(keys) != 1 || keys[0].LastUsedAt == nil {
		t.Fatalf("keys %+v, %v; want the key marked used", keys, err)
	}

	bad := func(string) error { return errors.New("bad signature") }
	for _, c := range []struct {
		id     string
		verify func(string) error
	}{{"DBPAKUNKNOWNKEY00000", good}, {key.ID, bad}} {
		_, err := f.AuthenticateSignature(t.Context(), c.id, c.verify)
		if dbplane.ErrorKind(err) != dbplane.KindUnauthorized || dbplane.ErrorMessage(err) != "invalid access key or signature" {
			t.Errorf("AuthenticateSignature(%s) = %v, want the one unauthorized answer", c.id, err)
		}
	}
	for range dbplane.DefaultLockoutPolicy.MaxFailures - 2 {
		if _, err := f.AuthenticateSignature(t.Context(), key.ID, bad); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
			t.Fatal(err)
		}
	}
	_, err = f.AuthenticateSignature(t.Context(), key.ID, bad)
	assertLocked(t, err, dbplane.DefaultLockoutPolicy.LockFor)
	_, err = f.AuthenticateSignature(t.Context(), key.ID, good)
	assertLocked(t, err, dbplane.DefaultLockoutPolicy.LockFor)
	f.assertLogClean(t, secret)
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestAuth_EnsureAdmin(t *testing.T) {
	t.Run("CreateWithPassword", func(t *testing.T) {
		f := newAuthFixture(t)
		generated, err := f.EnsureAdmin(t.Context(), "Admin-pass1")
		if err != nil {
			t.Fatal(err)
		}
		if generated != "" {
			t.Errorf("generated = %q, want none for a given password", generated)
		}
		u, _, err := f.store.FindUserByName(t.Context(), dbplane.AdminUser)
		if err != nil {
			t.Fatal(err)
		}
		if !isGlobalAdmin(u) {
			t.Errorf("bindings = %+v, want a global admin binding", u.Bindings)
		}
		mustLogIn(t, f, "Admin-pass1")
		f.assertLogClean(t, "Admin-pass1")
	})

	t.Run("CreateGenerated", func(t *testing.T) {
		f := newAuthFixture(t)
		generated, err := f.EnsureAdmin(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if generated == "" {
			t.Fatal("no password generated")
		}
		assertPasswordRules(t, generated)
		mustLogIn(t, f, generated)
		f.assertLogClean(t, generated)

		// The next start-up without a password keeps it.
		again, err := f.EnsureAdmin(t.Context(), "")
		if err != nil || again != "" {
			t.Fatalf("second EnsureAdmin = %q, %v; want nothing", again, err)
		}
		mustLogIn(t, f, generated)
	})

	t.Run("Rotate", func(t *testing.T) {
		f := newAuthFixture(t)
		if _, err := f.EnsureAdmin(t.Context(), "Admin-pass1"); err != nil {
			t.Fatal(err)
		}
		generated, err := f.EnsureAdmin(t.Context(), "Admin-pass2")
		if err != nil || generated != "" {
			t.Fatalf("EnsureAdmin = %q, %v", generated, err)
		}
		mustLogIn(t, f, "Admin-pass2")
		if _, err := f.IssueToken(t.Context(), dbplane.AdminUser, "Admin-pass1"); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
			t.Errorf("old password still works: %v", err)
		}
		f.assertLogClean(t, "Admin-pass1", "Admin-pass2")
	})

	t.Run("NoOp", func(t *testing.T) {
		f := newAuthFixture(t)
		if _, err := f.EnsureAdmin(t.Context(), "Admin-pass1"); err != nil {
			t.Fatal(err)
		}
		hash := f.store.hashOf(t, dbplane.AdminUser)
		for _, pw := range []string{"", "Admin-pass1"} {
			if generated, err := f.EnsureAdmin(t.Context(), pw); err != nil || generated != "" {
				t.Fatalf("EnsureAdmin(%q) = %q, %v", pw, generated, err)
			}
		}
		if f.store.writes != 1 {
			t.Errorf("%d writes, want only the creation", f.store.writes)
		}
		if f.store.hashOf(t, dbplane.AdminUser) != hash {
			t.Error("hash changed")
		}
	})

	// An admin that lost its global role (an old installation, or admins
	// who demoted each other) gets it back at the next start, its
	// password untouched.
	t.Run("RestoreRole", func(t *testing.T) {
		f := newAuthFixture(t)
		admin := f.addUser(t, dbplane.AdminUser, "Admin-pass1")
		if generated, err := f.EnsureAdmin(t.Context(), ""); err != nil || generated != "" {
			t.Fatalf("EnsureAdmin = %q, %v", generated, err)
		}
		u, err := f.store.FindUserByID(t.Context(), admin.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !isGlobalAdmin(u) {
			t.Fatalf("bindings %+v, want the global admin role restored", u.Bindings)
		}
		mustLogIn(t, f, "Admin-pass1")
	})

	// Another control-plane replica creates the admin between our lookup
	// and our insert.
	t.Run("ConcurrentCreate", func(t *testing.T) {
		for _, pw := range []string{"", "Admin-pass2"} {
			f := newAuthFixture(t)
			f.store.beforeCreate = func() {
				f.addUser(t, dbplane.AdminUser, "Other-pass1", bind(dbplane.GlobalScope, dbplane.RoleAdmin))
			}
			generated, err := f.EnsureAdmin(t.Context(), pw)
			if err != nil || generated != "" {
				t.Fatalf("EnsureAdmin(%q) = %q, %v; want nothing generated", pw, generated, err)
			}
			want := pw
			if want == "" {
				want = "Other-pass1" // the other replica's password stands
			}
			mustLogIn(t, f, want)
		}
	})

	t.Run("ErrStore", func(t *testing.T) {
		f := newAuthFixture(t)
		f.store.findErr = errors.New("disk on fire")
		if _, err := f.EnsureAdmin(t.Context(), ""); dbplane.ErrorKind(err) != dbplane.KindInternal {
			t.Errorf("err = %v, want internal", err)
		}
	})
}

func mustLogIn(t *testing.T, f *authFixture, password string) {
	t.Helper()
	tok, err := f.IssueToken(t.Context(), dbplane.AdminUser, password)
	if err != nil {
		t.Fatalf("admin cannot log in: %v", err)
	}
	p, err := f.Authenticate(t.Context(), tok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != dbplane.AdminUser || !p.Can(dbplane.ActionManage, dbplane.GlobalScope) {
		t.Errorf("token belongs to %q with bindings %+v, want the global admin", p.Name(), p.User.Bindings)
	}
}
