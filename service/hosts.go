package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
)

var (
	_ dbplane.HostAdminService = (*Hosts)(nil)
	_ dbplane.JoinService      = (*Hosts)(nil)
)

// Hosts implements the host API: listing and administering hosts, issuing
// join tokens, and letting agents join by signing their certificates with
// the control plane's CA.
type Hosts struct {
	Store dbplane.HostStore
	// CA signs the certificates of joining agents.
	CA *pki.CA
	// Logger receives audit lines; it never sees tokens. Nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// fleet authorizes a on the fleet itself: hosts and join tokens belong to
// no project, so a refusal is KindForbidden.
func fleet(ctx context.Context, a dbplane.Action) error {
	_, err := authorize(ctx, a, resource{project: dbplane.GlobalScope})
	return err
}

// FindHosts returns a page of hosts.
func (s *Hosts) FindHosts(ctx context.Context, f dbplane.HostFilter) ([]*dbplane.Host, int, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, 0, err
	}
	return s.Store.FindHosts(ctx, f)
}

// FindHostByID returns a host.
func (s *Hosts) FindHostByID(ctx context.Context, id int64) (*dbplane.Host, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, err
	}
	return s.Store.FindHostByID(ctx, id)
}

// DeleteHost removes a host's record, refused while nodes are placed on it.
// Nothing is done on the host: its agent keeps running, but the control
// plane no longer calls it, and its certificate cannot join again (joining
// needs a new token).
func (s *Hosts) DeleteHost(ctx context.Context, id int64) error {
	dbplane.AuditTarget(ctx, target("host", id), dbplane.GlobalScope)
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return err
	}
	if err := s.Store.DeleteHost(ctx, id); err != nil {
		return err
	}
	s.logger().InfoContext(ctx, "host deleted", "host_id", id, "user", userName(ctx))
	return nil
}

// DrainHost sets whether a host takes new nodes. The nodes it carries stay.
func (s *Hosts) DrainHost(ctx context.Context, id int64, drained bool) (*dbplane.Host, error) {
	dbplane.AuditTarget(ctx, target("host", id), dbplane.GlobalScope)
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return nil, err
	}
	h, err := s.Store.SetHostDrained(ctx, id, drained)
	if err != nil {
		return nil, err
	}
	s.logger().InfoContext(ctx, "host drain set", "host_id", id, "drained", drained, "user", userName(ctx))
	return h, nil
}

// CreateJoinToken issues a one-time join token valid for ttl. The secret is
// returned this once; the store keeps its SHA-256.
func (s *Hosts) CreateJoinToken(ctx context.Context, ttl time.Duration) (*dbplane.JoinToken, error) {
	const op = "service.CreateJoinToken"
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return nil, err
	}
	switch {
	case ttl == 0:
		ttl = dbplane.DefaultJoinTokenTTL
	case ttl < time.Second || ttl > dbplane.MaxJoinTokenTTL:
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "ttl",
			Message: fmt.Sprintf("must be between 1s and %v", dbplane.MaxJoinTokenTTL)})
	}
	secret, err := newJoinSecret()
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	t := &dbplane.JoinToken{Creator: userName(ctx), ExpiresAt: s.now().UTC().Add(ttl)}
	if err := s.Store.CreateJoinToken(ctx, t, hashToken(secret)); err != nil {
		return nil, dbplane.E(op, err)
	}
	dbplane.AuditTarget(ctx, target("join-token", t.ID), dbplane.GlobalScope)
	t.Secret = secret
	s.logger().InfoContext(ctx, "join token created", "token_id", t.ID, "expires_at", t.ExpiresAt, "user", t.Creator)
	return t, nil
}

func newJoinSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("while generating a join token: %w", err)
	}
	return dbplane.JoinTokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Join registers the host of an agent and signs its certificate. The
// request is checked in full (the CSR included) before the token is spent,
// so a malformed request can be fixed and sent again with the same token;
// the token is then consumed and the host registered in one transaction.
func (s *Hosts) Join(ctx context.Context, req dbplane.JoinRequest) (*dbplane.JoinResponse, error) {
	const op = "service.Join"
	if !strings.HasPrefix(req.Token, dbplane.JoinTokenPrefix) {
		s.logger().InfoContext(ctx, "join refused", "address", req.Facts.Address, "reason", "malformed token")
		return nil, dbplane.Errorf(dbplane.KindUnauthorized, "unknown join token")
	}
	ip, err := validateJoin(req)
	if err != nil {
		return nil, err
	}
	certPEM, err := s.CA.SignCSR([]byte(req.CSR), []net.IP{ip}, nil, 0)
	if err != nil {
		return nil, err
	}
	f := req.Facts
	h := &dbplane.Host{Name: f.Hostname, Address: ip.String(), AgentPort: req.AgentPort, DataRoot: f.DataRoot,
		Region: f.Region, Zone: f.Zone, Rack: f.Rack, OS: f.OS, Arch: f.Arch, CPUs: f.CPUs, MemoryMB: f.MemoryMB,
		DiskGB: f.DiskGB}
	if err := s.Store.JoinHost(ctx, hashToken(req.Token), s.now(), h); err != nil {
		if dbplane.ErrorKind(err) == dbplane.KindUnauthorized {
			s.logger().InfoContext(ctx, "join refused", "address", h.Address, "reason", dbplane.ErrorMessage(err))
		}
		return nil, dbplane.E(op, err)
	}
	s.logger().InfoContext(ctx, "host joined", "host_id", h.ID, "hostname", h.Name, "address", h.Address,
		"agent_port", h.AgentPort)
	return &dbplane.JoinResponse{HostID: h.ID, Certificate: string(certPEM), CA: string(s.CA.CertPEM())}, nil
}

// validateJoin checks a join request and returns the agent's address. The
// CSR must name the host it comes from, so a certificate says which host
// holds it.
func validateJoin(req dbplane.JoinRequest) (net.IP, error) {
	var errs []dbplane.FieldError
	add := func(field, msg string) { errs = append(errs, dbplane.FieldError{Field: field, Message: msg}) }
	f := req.Facts
	if !validHostname(f.Hostname) {
		add("facts.hostname", "must be 1 to 253 letters, digits, '.', '-' or '_'")
	}
	ip := net.ParseIP(f.Address)
	if ip == nil || ip.IsUnspecified() {
		add("facts.address", "must be the IP address the agent serves on")
	}
	if req.AgentPort < 1 || req.AgentPort > 65535 {
		add("agent_port", "must be between 1 and 65535")
	}
	if f.CPUs < 0 || f.MemoryMB < 0 || f.DiskGB < 0 {
		add("facts", "cpus, memory_mb and disk_gb must not be negative")
	}
	for _, l := range []struct{ field, value string }{
		{"facts.region", f.Region}, {"facts.zone", f.Zone}, {"facts.rack", f.Rack},
	} {
		if len(l.value) > 64 {
			add(l.field, "must be at most 64 characters")
		}
	}
	if req.CSR == "" {
		add("csr", "required")
	} else if csr, err := pki.ParseCSRPEM([]byte(req.CSR)); err != nil {
		errs = append(errs, dbplane.ErrorFields(err)...)
	} else if want := pki.AgentCN(f.Hostname); csr.Subject.CommonName != want {
		add("csr", fmt.Sprintf("common name is %q, want %q", csr.Subject.CommonName, want))
	}
	if len(errs) > 0 {
		return nil, dbplane.Invalid(errs...)
	}
	return ip, nil
}

func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// userName is the name of the calling user: SystemUser for the control
// plane's own calls.
func userName(ctx context.Context) string {
	return dbplane.PrincipalFrom(ctx).Name()
}

func (s *Hosts) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Hosts) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}
