package dbplane

import (
	"context"
	"errors"
	"time"
)

// AdminUser is the name of the bootstrap administrator. It holds the admin
// role on every project.
const AdminUser = "admin"

// DefaultProject is the project that clusters go to when their spec names
// none. It exists in every installation.
const DefaultProject = "default"

// User is a person or robot that calls dbplane. What it may do is given by
// its role bindings.
type User struct {
	ID        int64         `json:"id"`
	Name      string        `json:"name"`
	Bindings  []RoleBinding `json:"bindings,omitempty"`
	CreatedAt time.Time     `json:"created_at"`
}

// Roles, from least to most powerful: each may do what the one before it
// may, and more.
const (
	RoleViewer   = "viewer"   // reads the clusters and tasks of a project
	RoleOperator = "operator" // also creates, changes and deletes them
	RoleAdmin    = "admin"    // also manages the project's members and audit
)

// Project is a tenant: it owns clusters, and users act on it through role
// bindings.
type Project struct {
	ID          int64       `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Quota       Quota       `json:"quota"`
	Usage       *QuotaUsage `json:"usage,omitempty"` // set by reads that ask for it
	CreatedAt   time.Time   `json:"created_at"`
}

// Quota bounds what a project may hold. Zero means unlimited.
type Quota struct {
	Clusters  int `json:"clusters"`
	Nodes     int `json:"nodes"`
	StorageGB int `json:"storage_gb"` // sum of the nodes' volumes
}

// QuotaUsage is what a project holds, counted like its Quota.
type QuotaUsage struct {
	Clusters  int `json:"clusters"`
	Nodes     int `json:"nodes"`
	StorageGB int `json:"storage_gb"`
}

// GlobalScope is the ProjectID of a binding that applies to every project
// and to the fleet itself (hosts, users, projects, audit).
const GlobalScope int64 = 0

// RoleBinding grants a user a role on a project, or on every project when
// ProjectID is GlobalScope.
type RoleBinding struct {
	UserID      int64     `json:"user_id"`
	UserName    string    `json:"user,omitempty"`
	ProjectID   int64     `json:"project_id"`
	ProjectName string    `json:"project,omitempty"` // "*" for GlobalScope
	Role        string    `json:"role"`
	CreatedAt   time.Time `json:"created_at"`
}

// Token is a bearer token issued to a user. The secret is only known at
// creation; the store keeps its hash.
type Token struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"user_id"`
	Secret    string     `json:"token,omitempty"` // only set when issued
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// DefaultTokenTTL is how long an issued token is valid.
const DefaultTokenTTL = 24 * time.Hour

// MaxAccessKeys bounds the access keys of one user: enough to rotate a key
// used by a few tools without downtime, few enough to keep track of. The
// store enforces it in the transaction that adds a key, so concurrent
// creates cannot exceed it.
const MaxAccessKeys = 5

// ErrAccessKeyLimit is wrapped by the KindConflict error of a store that
// refuses a key beyond MaxAccessKeys, telling it apart from a taken id.
var ErrAccessKeyLimit = errors.New("access key limit reached")

// ErrLastAdmin is wrapped by the KindConflict error of a store that refuses
// to remove the last global admin binding, by unbinding, downgrading or
// deleting its user: nobody could manage the fleet any more.
var ErrLastAdmin = errors.New("last global admin")

// AccessKey is an AK/SK pair of a user, for signed requests. The secret is
// returned once, when the key is created; the store keeps it encrypted
// because verifying an HMAC signature needs it.
type AccessKey struct {
	ID          string     `json:"id"` // the AK
	UserID      int64      `json:"user_id"`
	Description string     `json:"description,omitempty"`
	Secret      string     `json:"secret,omitempty"` // the SK: only set at creation
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// Principal is an authenticated caller: a user, its bindings, and the
// credential it used. Authorization decisions are made on it alone.
type Principal struct {
	User *User
	// Via names the credential: "token", "password" or "access-key".
	Via string
	// TokenID or AccessKeyID identify the credential, for audit.
	TokenID     int64
	AccessKeyID string
}

// Credential kinds of Principal.Via.
const (
	ViaToken     = "token"
	ViaPassword  = "password"
	ViaAccessKey = "access-key"
)

// Action is what a caller wants to do, for authorization.
type Action uint8

// Actions, each implied by the next.
const (
	ActionRead    Action = iota + 1 // view
	ActionOperate                   // create, change, delete, run task operations
	ActionManage                    // manage members, quotas, users, hosts; read audit
)

// roleActions is the one policy table: the most a role may do.
var roleActions = map[string]Action{
	RoleViewer:   ActionRead,
	RoleOperator: ActionOperate,
	RoleAdmin:    ActionManage,
}

// ValidRole reports whether role is one of the roles.
func ValidRole(role string) bool { _, ok := roleActions[role]; return ok }

// Can reports whether the principal may do a on project, or on the fleet
// when project is GlobalScope. A global binding applies to every project;
// a project binding only to its project.
func (p *Principal) Can(a Action, project int64) bool {
	if p == nil || p.User == nil {
		return false
	}
	for _, b := range p.User.Bindings {
		if b.ProjectID != GlobalScope && b.ProjectID != project {
			continue
		}
		if roleActions[b.Role] >= a {
			return true
		}
	}
	return false
}

// Projects returns the projects on which the principal may do a: all is
// true when a global binding allows it everywhere, else ids lists them.
func (p *Principal) Projects(a Action) (all bool, ids []int64) {
	if p == nil || p.User == nil {
		return false, nil
	}
	for _, b := range p.User.Bindings {
		if roleActions[b.Role] < a {
			continue
		}
		if b.ProjectID == GlobalScope {
			return true, nil
		}
		ids = append(ids, b.ProjectID)
	}
	return false, ids
}

// Name returns the principal's user name, or "" for nil.
func (p *Principal) Name() string {
	if p == nil || p.User == nil {
		return ""
	}
	return p.User.Name
}

// AuthService authenticates callers. Every front door turns its credential
// into a Principal through it.
type AuthService interface {
	// IssueToken checks a user's password and issues a bearer token.
	// KindUnauthorized for a wrong user or password (the same answer for
	// both, so user names do not leak); KindTooManyRequests with a retry
	// time while the user is locked out after repeated failures.
	IssueToken(ctx context.Context, user, password string) (*Token, error)
	// Authenticate returns the principal of a bearer token.
	// KindUnauthorized for an unknown, expired or revoked token.
	Authenticate(ctx context.Context, token string) (*Principal, error)
	// AuthenticatePassword checks a user's password, for front doors that
	// take HTTP Basic. Errors as IssueToken.
	AuthenticatePassword(ctx context.Context, user, password string) (*Principal, error)
	// AuthenticateSignature authenticates a signed request: it looks up
	// the secret of accessKeyID and calls verify with it, which checks the
	// request's signature. KindUnauthorized for an unknown key or a failed
	// verification (the same answer for both); failures count towards the
	// key's lockout, KindTooManyRequests with a retry time while it lasts.
	// The secret goes nowhere but verify.
	AuthenticateSignature(ctx context.Context, accessKeyID string, verify func(secret string) error) (*Principal, error)
}

// IdentityService manages projects, users, role bindings, tokens and access
// keys. Implementations authorize every call against the principal of ctx.
type IdentityService interface {
	CreateProject(ctx context.Context, p *Project) error
	FindProjectByID(ctx context.Context, id int64) (*Project, error)
	FindProjects(ctx context.Context, filter ProjectFilter) ([]*Project, int, error)
	// UpdateProject replaces a project's description and quota.
	UpdateProject(ctx context.Context, p *Project) error
	// DeleteProject removes an empty project. KindConflict while it owns
	// clusters.
	DeleteProject(ctx context.Context, id int64) error

	// CreateUser creates a user with a password that must satisfy the
	// password rules.
	CreateUser(ctx context.Context, u *User, password string) error
	FindUserByID(ctx context.Context, id int64) (*User, error)
	FindUsers(ctx context.Context, filter UserFilter) ([]*User, int, error)
	// SetUserPassword replaces a user's password and revokes its tokens;
	// the user's access keys are kept. A user changing its own password
	// must give its current one: KindInvalid on field "current_password"
	// if it is missing or does not match, and a wrong one counts towards
	// the user's lockout (KindTooManyRequests once locked), so a stolen
	// token or access key cannot take the account over. A global admin
	// setting another user's password gives no current one.
	SetUserPassword(ctx context.Context, id int64, current, password string) error
	// DeleteUser removes a user with its bindings, tokens and access keys.
	DeleteUser(ctx context.Context, id int64) error

	// BindRole grants b.Role on b.ProjectID to b.UserID; binding the same
	// user and project again replaces the role.
	BindRole(ctx context.Context, b *RoleBinding) error
	// UnbindRole removes a user's binding on a project.
	UnbindRole(ctx context.Context, userID, projectID int64) error
	// FindMembers returns the bindings on a project, or the global ones
	// for GlobalScope, by user id.
	FindMembers(ctx context.Context, projectID int64) ([]RoleBinding, error)

	// FindTokens lists a user's unexpired tokens, without secrets.
	FindTokens(ctx context.Context, userID int64) ([]*Token, error)
	// RevokeToken revokes a token; it stops working at once.
	RevokeToken(ctx context.Context, id int64) error

	// CreateAccessKey creates an access key for a user and returns it with
	// its secret, the only time the secret is shown.
	CreateAccessKey(ctx context.Context, userID int64, description string) (*AccessKey, error)
	FindAccessKeys(ctx context.Context, userID int64) ([]*AccessKey, error)
	DeleteAccessKey(ctx context.Context, id string) error
}

// ProjectFilter selects projects.
type ProjectFilter struct {
	Name   *string `json:"name,omitempty"`
	IDs    []int64 `json:"-"` // nil: all; set by authorization
	Offset int     `json:"offset,omitempty"`
	Limit  int     `json:"limit,omitempty"`
}

// UserFilter selects users.
type UserFilter struct {
	Name   *string `json:"name,omitempty"`
	Offset int     `json:"offset,omitempty"`
	Limit  int     `json:"limit,omitempty"`
}

type ctxKey int

const principalKey ctxKey = iota

// WithPrincipal returns a context carrying the authenticated caller.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFrom returns the authenticated caller of ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey).(*Principal)
	return p
}
