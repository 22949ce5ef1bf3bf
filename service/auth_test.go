package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"golang.org/x/crypto/argon2"
)

// memUserStore is an in-memory dbplane.UserStore with the semantics
// sqlstore documents: KindNotFound for unknown names, KindConflict for taken
// ones, KindUnauthorized for unknown or expired tokens.
type memUserStore struct {
	mu     sync.Mutex
	users  map[string]*dbplane.User
	hashes map[int64]string
	tokens map[string]dbplane.Token // by secret hash
	nextID int64
	writes int // successful CreateUser and SetUserPassword calls

	// beforeCreate, if set, runs at the start of CreateUser, to simulate a
	// concurrent writer.
	beforeCreate func()
	// findErr, if set, is returned by FindUserByName and FindUserByToken.
	findErr error
}

var _ dbplane.UserStore = (*memUserStore)(nil)

func newMemUserStore() *memUserStore {
	return &memUserStore{users: map[string]*dbplane.User{}, hashes: map[int64]string{}, tokens: map[string]dbplane.Token{}}
}

func (m *memUserStore) CreateUser(_ context.Context, u *dbplane.User, passwordHash string) error {
	if f := m.beforeCreate; f != nil {
		m.beforeCreate = nil
		f()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[u.Name]; ok {
		return dbplane.Errorf(dbplane.KindConflict, "user name %q already exists", u.Name)
	}
	m.nextID++
	u.ID = m.nextID
	cp := *u
	m.users[u.Name] = &cp
	m.hashes[u.ID] = passwordHash
	m.writes++
	return nil
}

func (m *memUserStore) FindUserByName(_ context.Context, name string) (*dbplane.User, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.findErr != nil {
		return nil, "", m.findErr
	}
	u, ok := m.users[name]
	if !ok {
		return nil, "", dbplane.Errorf(dbplane.KindNotFound, "user %q not found", name)
	}
	cp := *u
	return &cp, m.hashes[u.ID], nil
}

func (m *memUserStore) SetUserPassword(_ context.Context, userID int64, passwordHash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.hashes[userID]; !ok {
		return dbplane.Errorf(dbplane.KindNotFound, "user %d not found", userID)
	}
	m.hashes[userID] = passwordHash
	m.writes++
	return nil
}

func (m *memUserStore) CreateToken(_ context.Context, t *dbplane.Token, secretHash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t.ID = int64(len(m.tokens) + 1)
	m.tokens[secretHash] = *t
	return nil
}

func (m *memUserStore) FindUserByToken(_ context.Context, secretHash string, now time.Time) (*dbplane.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.findErr != nil {
		return nil, m.findErr
	}
	t, ok := m.tokens[secretHash]
	if !ok || !t.ExpiresAt.After(now) {
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "invalid token")
	}
	for _, u := range m.users {
		if u.ID == t.UserID {
			cp := *u
			return &cp, nil
		}
	}
	return nil, dbplane.Errorf(dbplane.KindUnauthorized, "invalid token")
}

func (m *memUserStore) hashOf(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hashes[m.users[name].ID]
}

// authFixture is an Auth over a memUserStore with a settable clock and a
// captured log.
type authFixture struct {
	*Auth
	store *memUserStore
	now   time.Time
	log   bytes.Buffer
}

func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	f := &authFixture{store: newMemUserStore(), now: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)}
	f.Auth = &Auth{
		Store:    f.store,
		Now:      func() time.Time { return f.now },
		TokenTTL: time.Hour,
		Logger:   slog.New(slog.NewTextHandler(&f.log, nil)),
	}
	return f
}

// addUser creates a user with a password directly in the store.
func (f *authFixture) addUser(t *testing.T, name, password string) *dbplane.User {
	t.Helper()
	hash, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	u := &dbplane.User{Name: name, Role: dbplane.RoleOperator}
	if err := f.store.CreateUser(t.Context(), u, hash); err != nil {
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

func TestAuth_IssueToken(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		f := newAuthFixture(t)
		alice := f.addUser(t, "alice", "Alice-pass1")
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
		sum := sha256.Sum256([]byte(tok.Secret))
		stored, ok := f.store.tokens[hex.EncodeToString(sum[:])]
		if !ok {
			t.Fatalf("store does not hold the SHA-256 of the token: %v", f.store.tokens)
		}
		if stored.Secret != "" {
			t.Error("the secret reached the store")
		}

		u, err := f.Authenticate(t.Context(), tok.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if u.Name != "alice" || u.ID != alice.ID {
			t.Errorf("Authenticate = %+v, want alice", u)
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
		f.addUser(t, "alice", "Alice-pass1")
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
		if len(f.store.tokens) != 0 {
			t.Errorf("%d tokens stored after refusals", len(f.store.tokens))
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
		if err := f.store.CreateUser(t.Context(), &dbplane.User{Name: "alice"}, "not-a-hash"); err != nil {
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
			u, err := f.Authenticate(t.Context(), tt.token)
			if u != nil {
				t.Errorf("Authenticate returned %+v", u)
			}
			if got := dbplane.ErrorKind(err); got != dbplane.KindUnauthorized {
				t.Errorf("kind = %v (%v), want unauthorized", got, err)
			}
			if got := dbplane.ErrorMessage(err); got != "invalid or expired token" {
				t.Errorf("message = %q", got)
			}
		})
	}

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
		if u.Role != dbplane.RoleAdmin {
			t.Errorf("role = %q, want admin", u.Role)
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
		hash := f.store.hashOf(dbplane.AdminUser)
		for _, pw := range []string{"", "Admin-pass1"} {
			if generated, err := f.EnsureAdmin(t.Context(), pw); err != nil || generated != "" {
				t.Fatalf("EnsureAdmin(%q) = %q, %v", pw, generated, err)
			}
		}
		if f.store.writes != 1 {
			t.Errorf("%d writes, want only the creation", f.store.writes)
		}
		if f.store.hashOf(dbplane.AdminUser) != hash {
			t.Error("hash changed")
		}
	})

	// Another control-plane replica creates the admin between our lookup
	// and our insert.
	t.Run("ConcurrentCreate", func(t *testing.T) {
		for _, pw := range []string{"", "Admin-pass2"} {
			f := newAuthFixture(t)
			f.store.beforeCreate = func() { f.addUser(t, dbplane.AdminUser, "Other-pass1") }
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
	u, err := f.Authenticate(t.Context(), tok.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != dbplane.AdminUser {
		t.Errorf("token belongs to %q", u.Name)
	}
}

// assertPasswordRules checks pw against the cluster password rules, so a
// generated password is usable wherever a user's would be.
func assertPasswordRules(t *testing.T, pw string) {
	t.Helper()
	spec := dbplane.ClusterSpec{
		Name: "check", Engine: dbplane.EnginePostgreSQL, Topology: dbplane.TopologyStandalone,
		Flavor: "dbp.c1.m2", VolumeGB: 10, Password: pw,
	}
	if err := dbplane.ValidateClusterSpec(&spec, dbplane.DefaultCatalog()); err != nil {
		t.Errorf("generated password breaks the rules: %v", err)
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 24 {
			t.Fatalf("len(%q) = %d, want 24", pw, len(pw))
		}
		if strings.ContainsAny(pw, "IlO01 '\"\\$!&|()`") {
			t.Fatalf("%q has a look-alike or shell-special character", pw)
		}
		assertPasswordRules(t, pw)
		if seen[pw] {
			t.Fatalf("%q generated twice", pw)
		}
		seen[pw] = true
	}
}

func TestHashPassword(t *testing.T) {
	h1, err := HashPassword("Secret-pw1")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPassword("Secret-pw1")
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h1) {
		t.Errorf("hash %q is not a PHC argon2id string with the expected parameters", h1)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{"Secret-pw1", true}, {"Secret-pw2", false}, {"secret-pw1", false}, {"", false}} {
		got, err := VerifyPassword(h1, c.pw)
		if err != nil || got != c.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", c.pw, got, err, c.want)
		}
	}
}

// VerifyPassword takes the parameters from the hash, so hashes made with
// other (older or newer) parameters keep working. The hash here is built
// with argon2 directly, independently of HashPassword.
func TestVerifyPassword_OtherParameters(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("Secret-pw1"), salt, 1, 8192, 1, 24)
	b64 := base64.RawStdEncoding
	hash := fmt.Sprintf("$argon2id$v=19$m=8192,t=1,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	if ok, err := VerifyPassword(hash, "Secret-pw1"); err != nil || !ok {
		t.Errorf("VerifyPassword(right) = %v, %v", ok, err)
	}
	if ok, err := VerifyPassword(hash, "Secret-pw2"); err != nil || ok {
		t.Errorf("VerifyPassword(wrong) = %v, %v", ok, err)
	}
}

func TestVerifyPassword_Malformed(t *testing.T) {
	salt := "MDEyMzQ1Njc4OWFiY2RlZg"                     // 16 bytes
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY" // 32 bytes
	ok := "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key
	if _, err := VerifyPassword(ok, "x"); err != nil {
		t.Fatalf("the base case must parse: %v", err)
	}
	for _, hash := range []string{
		"",
		"plain",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"$argon2i$v=19$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key + "$",
		"x$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=0,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=100,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=08192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=8192,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1,x=2$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "==$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key[:20],
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key + "!",
	} {
		if ok, err := VerifyPassword(hash, "x"); err == nil || ok {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", hash, ok, err)
		} else if strings.Contains(err.Error(), salt) || strings.Contains(err.Error(), key[:20]) {
			t.Errorf("error %q echoes the hash", err)
		}
	}
}

// A failed lookup of an unknown user must cost a full verification, or
// timing would reveal which names exist: the dummy hash must be well formed
// and use the parameters of real hashes.
func TestDummyHash(t *testing.T) {
	p, _, err := parseHash(dummyHash())
	if err != nil {
		t.Fatalf("dummy hash is malformed: %v", err)
	}
	real, err := HashPassword("Secret-pw1")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := parseHash(real)
	if err != nil {
		t.Fatal(err)
	}
	if p.memory != want.memory || p.time != want.time || p.threads != want.threads || p.keyLen != want.keyLen {
		t.Errorf("dummy hash parameters %+v differ from real ones %+v", p, want)
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", "x")
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$$", "pw")
	f.Add("$$$$$", "")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		ok, err := VerifyPassword(hash, pw)
		if err != nil && ok {
			t.Fatal("VerifyPassword returned true with an error")
		}
	})
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("Secret-pw1"); err != nil {
			b.Fatal(err)
		}
	}
}
