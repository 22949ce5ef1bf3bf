package postgres

import (
	"context"
	"fmt"
	"net"
	"path"

	"github.com/dbplane/dbplane"
)

// A node's TLS files live in its home, not its data directory: a base
// backup neither copies the primary's nor wipes the replica's, and removing
// the node removes them.
func (n node) certFile() string { return path.Join(n.home(), "server.crt") }
func (n node) keyFile() string  { return path.Join(n.home(), "server.key") }
func (n node) caFile() string   { return path.Join(n.home(), "ca.crt") }

// writeTLS issues the node a server certificate from the control plane's
// CA, naming the node's address (clients and replicas verify it with
// sslmode=verify-full), and writes it, its key and the CA certificate into
// the node's home, 0600 and owned by postgres as PostgreSQL requires of the
// key. Running it again issues a new certificate: a node that runs keeps
// the one it loaded, which is just as valid, until it restarts or reloads.
func (e *Engine) writeTLS(ctx context.Context, s *step) error {
	n := s.n
	if !s.c.Spec.SSL {
		s.logf("cluster %s has SSL off: no certificate for node %d", s.c.Name, n.Ordinal)
		return nil
	}
	if e.CA == nil {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "cluster %s has SSL on, but the engine has no CA to issue certificates", s.c.Name))
	}
	ips, names := sans(n.Address)
	certPEM, keyPEM, err := e.CA.IssueServerCert(s.c.Name, ips, names)
	if err != nil {
		return dbplane.Permanent(fmt.Errorf("while issuing the certificate of node %d: %w", n.Ordinal, err))
	}
	a, err := s.agent(ctx, n)
	if err != nil {
		return err
	}
	for _, f := range []dbplane.File{
		{Path: n.keyFile(), Owner: osUser, Mode: 0o600, Content: keyPEM},
		{Path: n.certFile(), Owner: osUser, Mode: 0o600, Content: certPEM},
		{Path: n.caFile(), Owner: osUser, Mode: 0o600, Content: e.CA.CertPEM()},
	} {
		if err := a.WriteFile(ctx, f); err != nil {
			return fmt.Errorf("while writing %s on host %d: %w", f.Path, n.HostID, err)
		}
	}
	s.logf("wrote the server certificate of node %d (CN %s, SAN %s), its key and the CA certificate to %s",
		n.Ordinal, s.c.Name, n.Address, n.home())
	return nil
}

// sans returns the subject alternative names of a node's certificate: its
// address, as an IP address or a DNS name.
func sans(addr string) ([]net.IP, []string) {
	if ip := net.ParseIP(addr); ip != nil {
		return []net.IP{ip}, nil
	}
	return nil, []string{addr}
}
