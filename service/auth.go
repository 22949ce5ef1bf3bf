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
	Store dbplane.UserStore
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TokenTTL is how long an issued token is valid; zero means
	// dbplane.DefaultTokenTTL.
	TokenTTL time.Duration
	// Logger receives audit lines; it never sees passwords or tokens. Nil
	// discards them.
	Logger *slog.Logger
}

// errBadCredentials is the one answer to a wrong user or a wrong password.
func errBadCredentials() error {
	return dbplane.Errorf(dbplane.KindUnauthorized, "invalid user or password")
}

func errBadToken() error {
	return dbplane.Errorf(dbplane.KindUnauthorized, "invalid or expired token")
}

// IssueToken checks the password of user and issues a token valid for
// TokenTTL. A wrong user and a wrong password get the same error after the
// same work, so neither the answer nor its timing reveals which user names
// exist.
func (a *Auth) IssueToken(ctx context.Context, user, password string) (*dbplane.Token, error) {
	const op = "service.IssueToken"
	u, hash, err := a.Store.FindUserByName(ctx, user)
	if dbplane.ErrorKind(err) == dbplane.KindNotFound {
		_, _ = VerifyPassword(dummyHash(), password)
		// The name is not logged: people type passwords into it.
		a.logger().InfoContext(ctx, "token refused", "reason", "unknown user")
		return nil, errBadCredentials()
	} else if err != nil {
		return nil, dbplane.E(op, err)
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while verifying the password of user %d: %w", u.ID, err))
	}
	if !ok {
		a.logger().InfoContext(ctx, "token refused", "user", user, "reason", "wrong password")
		return nil, errBadCredentials()
	}

	secret, err := newTokenSecret()
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	now := a.now()
	t := &dbplane.Token{UserID: u.ID, ExpiresAt: now.Add(a.ttl()), CreatedAt: now}
	if err := a.Store.CreateToken(ctx, t, hashToken(secret)); err != nil {
		return nil, dbplane.E(op, err)
	}
	t.Secret = secret
	a.logger().InfoContext(ctx, "token issued", "user", user, "token_id", t.ID, "expires_at", t.ExpiresAt)
	return t, nil
}

// Authenticate returns the owner of an unexpired token.
func (a *Auth) Authenticate(ctx context.Context, token string) (*dbplane.User, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return nil, errBadToken()
	}
	u, err := a.Store.FindUserByToken(ctx, hashToken(token), a.now())
	if err == nil {
		return u, nil
	}
	if k := dbplane.ErrorKind(err); k == dbplane.KindUnauthorized || k == dbplane.KindNotFound {
		return nil, errBadToken()
	}
	return nil, dbplane.E("service.Authenticate", err)
}

// EnsureAdmin makes sure the bootstrap admin user exists, so a fresh
// installation can be logged into. Without an admin it creates one with
// password, or with a generated password that it returns for the caller to
// show once. With an admin, a non-empty password replaces the admin's one,
// so changing DBPLANE_ADMIN_PASSWORD and restarting rotates it; an empty
// password leaves the admin as it is.
func (a *Auth) EnsureAdmin(ctx context.Context, password string) (generated string, err error) {
	const op = "service.EnsureAdmin"
	u, hash, err := a.Store.FindUserByName(ctx, dbplane.AdminUser)
	switch {
	case dbplane.ErrorKind(err) == dbplane.KindNotFound:
		return a.createAdmin(ctx, password)
	case err != nil:
		return "", dbplane.E(op, err)
	case password == "":
		return "", nil
	}
	return "", dbplane.E(op, a.rotateAdmin(ctx, u, hash, password))
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
	u := &dbplane.User{Name: dbplane.AdminUser, Role: dbplane.RoleAdmin, CreatedAt: a.now()}
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
	if err := a.Store.SetUserPassword(ctx, u.ID, newHash); err != nil {
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
