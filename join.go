package dbplane

import (
	"context"
	"time"
)

// JoinTokenPrefix starts every join token, so that a leaked one is
// recognisable and a bearer token passed by mistake is refused at once.
const JoinTokenPrefix = "dbpj_"

// Join token lifetimes: a token left lying around stops working soon.
const (
	DefaultJoinTokenTTL = time.Hour
	MaxJoinTokenTTL     = 7 * 24 * time.Hour
)

// JoinToken is a one-time credential with which an agent joins the control
// plane. The secret is only known at creation; the store keeps its hash.
type JoinToken struct {
	ID        int64     `json:"id"`
	Secret    string    `json:"token,omitempty"` // only set when created
	Creator   string    `json:"creator,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// JoinRequest is what an agent sends to join: its join token, a PEM
// certificate request for the key it keeps, its host's facts and the port
// its mTLS API listens on at Facts.Address.
type JoinRequest struct {
	Token     string    `json:"token"`
	CSR       string    `json:"csr"`
	Facts     HostFacts `json:"facts"`
	AgentPort int       `json:"agent_port"`
}

// JoinResponse is the answer to a join: the host's id, the agent's
// certificate and the CA certificate both sides verify each other with.
type JoinResponse struct {
	HostID      int64  `json:"host_id"`
	Certificate string `json:"certificate"`
	CA          string `json:"ca"`
}

// JoinService lets agents join. It authenticates by the join token alone.
type JoinService interface {
	// Join consumes a join token, registers (or re-registers) the host and
	// signs the agent's certificate. KindUnauthorized for an unknown,
	// expired or used token; KindInvalid for a bad request.
	Join(ctx context.Context, req JoinRequest) (*JoinResponse, error)
}

// HostAdminService is the host API beyond listing: what an administrator
// does to the fleet.
type HostAdminService interface {
	HostService
	// FindHostByID returns a host. KindNotFound if missing.
	FindHostByID(ctx context.Context, id int64) (*Host, error)
	// DeleteHost removes a host's record; its agent's certificate then
	// names no host and is refused. KindConflict while nodes are placed on
	// it.
	DeleteHost(ctx context.Context, id int64) error
	// DrainHost sets whether a host takes new nodes and returns it.
	DrainHost(ctx context.Context, id int64, drained bool) (*Host, error)
	// CreateJoinToken issues a one-time join token valid for ttl
	// (DefaultJoinTokenTTL if zero, at most MaxJoinTokenTTL).
	CreateJoinToken(ctx context.Context, ttl time.Duration) (*JoinToken, error)
}
