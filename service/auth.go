package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/dbplane/dbplane"
)

var _ dbplane.AuthService = (*Auth)(nil)

// TokenPrefix starts every bearer token dbplane issues, so a leaked token is
// recognisable by secret scanners and a malformed one is refused without a
// store lookup.
const TokenPrefix = "dbp_"

// Auth issues bearer tokens for users' passwords and authenticates requests
// by them. Tokens are stored as SHA-256 hashes: they are 256-bit random
// secrets, so a slow hash would add cost without adding safety.
type Auth struct {
	Store AuthStore
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TokenTTL is how long an issued token is valid; zero means
	// dbplane.DefaultTokenTTL.
	TokenTTL time.Duration
	// Lockout is the policy for repeated failures; zero means
	// dbplane.DefaultLockoutPolicy.
	Lockout dbplane.LockoutPolicy
	// Logger receives audit lines; it never sees passwords or tokens. Nil
	// discards them.
	Logger *slog.Logger
}

// AuthStore is what Auth keeps users and credentials in; it binds roles
// too, so EnsureAdmin can restore the admin's global role.
type AuthStore interface {
	dbplane.UserStore
	BindRole(ctx context.Context, b *dbplane.RoleBinding) error
}

// errBadCredentials is the one answer to a wrong user or a wrong password.
func errBadCredentials() error {
	return dbplane.Errorf(dbplane.KindUnauthorized, "invalid user or password")
}

func errBadToken() error {
	return dbplane.Errorf(dbplane.KindUnauthorized, "invalid or expired token")
}

// IssueToken checks the password of user and issues a token valid for
// TokenTTL.
func (a *Auth) IssueToken(ctx context.Context, user, password string) (*dbplane.Token, error) {
	const op = "service.IssueToken"
	p, err := a.AuthenticatePassword(ctx, user, password)
	if err != nil {
		return nil, err
	}
	secret, err := newTokenSecret()
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	now := a.now()
	t := &dbplane.Token{UserID: p.User.ID, ExpiresAt: now.Add(a.ttl()), CreatedAt: now}
	if err := a.Store.CreateToken(ctx, t, hashToken(secret)); err != nil {
		return nil, dbplane.E(op, err)
	}
	t.Secret = secret
	a.logger().InfoContext(ctx, "token issued", "user", user, "token_id", t.ID, "expires_at", t.ExpiresAt)
	return t, nil
}

// AuthenticatePassword checks the password of user. A wrong user and a
// wrong password get the same error after the same work, so neither the
// answer nor its timing reveals which user names exist. Failures count
// towards the name's lockout, whether the user exists or not, so a locked
// answer reveals nothing either.
func (a *Auth) AuthenticatePassword(ctx context.Context, user, password string) (*dbplane.Principal, error) {
	const op = "service.AuthenticatePassword"
	subject := "user:" + user
	if err := a.checkLockout(ctx, subject); err != nil {
		return nil, err
	}
	u, hash, err := a.Store.FindUserByName(ctx, user)
	if dbplane.ErrorKind(err) == dbplane.KindNotFound {
		_, _ = VerifyPassword(dummyHash(), password)
		// The name is not logged: people type passwords into it.
		a.logger().InfoContext(ctx, "password refused", "reason", "unknown user")
		return nil, a.failed(ctx, subject, errBadCredentials())
	} else if err != nil {
		return nil, dbplane.E(op, err)
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while verifying the password of user %d: %w", u.ID, err))
	}
	if !ok {
		a.logger().InfoContext(ctx, "password refused", "user", user, "reason", "wrong password")
		return nil, a.failed(ctx, subject, errBadCredentials())
	}
	if err := a.Store.ClearAuthFailures(ctx, subject); err != nil {
		return nil, dbplane.E(op, err)
	}
	return &dbplane.Principal{User: u, Via: dbplane.ViaPassword}, nil
}

// Authenticate returns the principal of an unexpired, unrevoked token.
func (a *Auth) Authenticate(ctx context.Context, token string) (*dbplane.Principal, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return nil, errBadToken()
	}
	u, id, err := a.Store.FindUserByToken(ctx, hashToken(token), a.now())
	if err == nil {
		return &dbplane.Principal{User: u, Via: dbplane.ViaToken, TokenID: id}, nil
	}
	if k := dbplane.ErrorKind(err); k == dbplane.KindUnauthorized || k == dbplane.KindNotFound {
		return nil, errBadToken()
	}
	return nil, dbplane.E("service.Authenticate", err)
}

// AuthenticateSignature checks a signed request with the secret of its
// access key. An unknown key and a bad signature get the same answer, and
// both count towards the key's lockout. An id that is no key id of
// dbplane's (newAccessKey) gets that answer too, without touching the
// store: no such key exists, and clients must not be able to fill the
// lockout table with subjects of their choosing.
func (a *Auth) AuthenticateSignature(ctx context.Context, accessKeyID string, verify func(secret string) error) (*dbplane.Principal, error) {
	const op = "service.AuthenticateSignature"
	if len(accessKeyID) != accessKeyIDLen || !strings.HasPrefix(accessKeyID, AccessKeyPrefix) ||
		strings.TrimLeft(accessKeyID[len(AccessKeyPrefix):], "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		a.logger().InfoContext(ctx, "signature refused", "reason", "malformed access key")
		return nil, errBadSignature()
	}
	subject := "access-key:" + accessKeyID
	if err := a.checkLockout(ctx, subject); err != nil {
		return nil, err
	}
	k, secret, err := a.Store.FindAccessKey(ctx, accessKeyID)
	if dbplane.ErrorKind(err) == dbplane.KindNotFound {
		a.logger().InfoContext(ctx, "signature refused", "reason", "unknown access key")
		return nil, a.failed(ctx, subject, errBadSignature())
	} else if err != nil {
		return nil, dbplane.E(op, err)
	}
	if err := verify(secret); err != nil {
		a.logger().InfoContext(ctx, "signature refused", "access_key", accessKeyID, "reason", dbplane.ErrorMessage(err))
		if dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
			err = errBadSignature()
		}
		return nil, a.failed(ctx, subject, err)
	}
	u, err := a.Store.FindUserByID(ctx, k.UserID)
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	if err := a.Store.TouchAccessKey(ctx, accessKeyID, a.now()); err != nil {
		return nil, dbplane.E(op, err)
	}
	return &dbplane.Principal{User: u, Via: dbplane.ViaAccessKey, AccessKeyID: accessKeyID}, nil
}

func errBadSignature() error {
	return dbplane.Errorf(dbplane.KindUnauthorized, "invalid access key or signature")
}

// checkLockout refuses a subject that is locked out, with the time it may
// try again.
func (a *Auth) checkLockout(ctx context.Context, subject string) error {
	until, err := a.Store.AuthLockedUntil(ctx, subject, a.now())
	if err != nil {
		return dbplane.E("service.checkLockout", err)
	}
	if until.IsZero() {
		return nil
	}
	return errLocked(until, a.now())
}

// failed records a failure of subject and returns refusal, or the lockout
// error if this failure locked the subject out.
func (a *Auth) failed(ctx context.Context, subject string, refusal error) error {
	now := a.now()
	until, err := a.Store.RecordAuthFailure(ctx, subject, now, a.lockout())
	if err != nil {
		return dbplane.E("service.failed", err)
	}
	if !until.IsZero() {
		a.logger().WarnContext(ctx, "locked out after repeated failures", "until", until)
		return errLocked(until, now)
	}
	return refusal
}

func errLocked(until, now time.Time) error {
	e := dbplane.Errorf(dbplane.KindTooManyRequests,
		"too many failed attempts: locked until %s", until.UTC().Format(time.RFC3339))
	e.RetryAfter = until.Sub(now)
	return e
}

func (a *Auth) lockout() dbplane.LockoutPolicy {
	if a.Lockout.MaxFailures > 0 {
		return a.Lockout
	}
	return dbplane.DefaultLockoutPolicy
}

// EnsureAdmin makes sure the bootstrap admin user exists with the global
// admin role, so a fresh installation can be logged into and an
// installation whose admins all lost their role can be recovered by a
// restart. Without an admin it creates one with password, or with a
// generated password that it returns for the caller to show once. With an
// admin, a non-empty password replaces the admin's one, so changing
// DBPLANE_ADMIN_PASSWORD and restarting rotates it; an empty password
// leaves the password as it is.
func (a *Auth) EnsureAdmin(ctx context.Context, password string) (generated string, err error) {
	const op = "service.EnsureAdmin"
	u, hash, err := a.Store.FindUserByName(ctx, dbplane.AdminUser)
	switch {
	case dbplane.ErrorKind(err) == dbplane.KindNotFound:
		return a.createAdmin(ctx, password)
	case err != nil:
		return "", dbplane.E(op, err)
	}
	if err := a.restoreAdminRole(ctx, u); err != nil {
		return "", dbplane.E(op, err)
	}
	if password == "" {
		return "", nil
	}
	return "", dbplane.E(op, a.rotateAdmin(ctx, u, hash, password))
}

// restoreAdminRole gives the admin user back its global admin binding if it
// lost it.
func (a *Auth) restoreAdminRole(ctx context.Context, u *dbplane.User) error {
	if isGlobalAdmin(u) {
		return nil
	}
	b := &dbplane.RoleBinding{UserID: u.ID, ProjectID: dbplane.GlobalScope, Role: dbplane.RoleAdmin, CreatedAt: a.now().UTC()}
	if err := a.Store.BindRole(ctx, b); err != nil {
		return err
	}
	a.logger().WarnContext(ctx, "admin user's global admin role restored", "user_id", u.ID)
	return nil
}

func (a *Auth) createAdmin(ctx context.Context, password string) (string, error) {
	const op = "service.EnsureAdmin"
	var generated string
	if password == "" {
		var err error
		if generated, err = GeneratePassword(); err != nil {
			return "", dbplane.E(op, err)
		}
		password = generated
	}
	hash, err := HashPassword(password)
	if err != nil {
		return "", dbplane.E(op, err)
	}
	u := &dbplane.User{Name: dbplane.AdminUser, CreatedAt: a.now(), Bindings: []dbplane.RoleBinding{
		{ProjectID: dbplane.GlobalScope, Role: dbplane.RoleAdmin},
	}}
	err = a.Store.CreateUser(ctx, u, hash)
	if dbplane.ErrorKind(err) == dbplane.KindConflict {
		// Another control-plane replica created the admin between our
		// lookup and insert. A generated password is then useless (the
		// other replica printed its own); a given one must still win.
		if generated != "" {
			return "", nil
		}
		u, hash, err := a.Store.FindUserByName(ctx, dbplane.AdminUser)
		if err != nil {
			return "", dbplane.E(op, err)
		}
		return "", dbplane.E(op, a.rotateAdmin(ctx, u, hash, password))
	} else if err != nil {
		return "", dbplane.E(op, err)
	}
	a.logger().InfoContext(ctx, "admin user created", "user_id", u.ID, "generated_password", generated != "")
	return generated, nil
}

// rotateAdmin sets the admin's password unless it already matches, so a
// restart with the same DBPLANE_ADMIN_PASSWORD writes nothing.
func (a *Auth) rotateAdmin(ctx context.Context, u *dbplane.User, hash, password string) error {
	if ok, err := VerifyPassword(hash, password); err == nil && ok {
		return nil
	}
	newHash, err := HashPassword(password)
	if err != nil {
		return err
	}
	if err := a.Store.SetUserPassword(ctx, u.ID, newHash, a.now()); err != nil {
		return err
	}
	a.logger().InfoContext(ctx, "admin password changed", "user_id", u.ID)
	return nil
}

// Generated passwords use specials that need no quoting in a POSIX shell,
// because users paste them into command lines.
const (
	genUpper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	genLower   = "abcdefghijkmnopqrstuvwxyz"
	genDigits  = "23456789"
	genSpecial = "-_=+.,@%"
	genLength  = 24
)

// GeneratePassword returns a random 24-character password with at least one
// upper-case letter, lower-case letter, digit and special, so it passes the
// cluster password rules wherever it is used. Look-alike characters (I, l,
// O, 0, 1) are left out because people copy it by eye.
func GeneratePassword() (string, error) {
	classes := []string{genUpper, genLower, genDigits, genSpecial}
	all := strings.Join(classes, "")
	b := make([]byte, genLength)
	for i := range b {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		c, err := randIndex(len(set))
		if err != nil {
			return "", fmt.Errorf("while generating a password: %w", err)
		}
		b[i] = set[c]
	}
	// Fisher-Yates, so the guaranteed classes are not always in front.
	for i := len(b) - 1; i > 0; i-- {
		j, err := randIndex(i + 1)
		if err != nil {
			return "", fmt.Errorf("while generating a password: %w", err)
		}
		b[i], b[j] = b[j], b[i]
	}
	return string(b), nil
}

// randIndex returns a uniform random integer in [0, n).
func randIndex(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, err
	}
	return int(v.Int64()), nil
}

// newTokenSecret returns TokenPrefix and 32 random bytes in base64url.
func newTokenSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("while generating a token: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// hashToken returns the hex SHA-256 of a whole token, prefix included: the
// form stored and looked up.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// dummyHash is verified against for unknown users, so refusing them costs
// as much as refusing a wrong password. Its parameters are those of real
// hashes; the password it encodes does not matter.
var dummyHash = sync.OnceValue(func() string {
	p := argonParams{
		memory: argonMemoryKiB, time: argonTime, threads: argonThreads,
		salt: make([]byte, argonSaltLen), keyLen: argonKeyLen,
	}
	return p.format(make([]byte, argonKeyLen))
})

func (a *Auth) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Auth) ttl() time.Duration {
	if a.TokenTTL > 0 {
		return a.TokenTTL
	}
	return dbplane.DefaultTokenTTL
}

func (a *Auth) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.New(slog.DiscardHandler)
}
