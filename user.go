package dbplane

import (
	"context"
	"time"
)

// AdminUser is the name of the bootstrap administrator.
const AdminUser = "admin"

// User is a person or robot that calls dbplane.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Roles.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleViewer   = "viewer"
)

// Token is a bearer token issued to a user. The secret is only known at
// creation; the store keeps its hash.
type Token struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Secret    string    `json:"token,omitempty"` // only set when issued
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// DefaultTokenTTL is how long an issued token is valid.
const DefaultTokenTTL = 24 * time.Hour

// AuthService authenticates callers.
type AuthService interface {
	// IssueToken checks a user's password and issues a bearer token.
	// KindUnauthorized for a wrong user or password (the same answer for
	// both, so user names do not leak).
	IssueToken(ctx context.Context, user, password string) (*Token, error)
	// Authenticate returns the user owning a bearer token. KindUnauthorized
	// for an unknown or expired token.
	Authenticate(ctx context.Context, token string) (*User, error)
}

type ctxKey int

const userKey ctxKey = iota

// WithUser returns a context carrying the authenticated user.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

// UserFromContext returns the authenticated user, or nil.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userKey).(*User)
	return u
}
