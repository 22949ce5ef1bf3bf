package mysql

import (
	"context"
	"fmt"
	"net"
	"path"

	"github.com/dbplane/dbplane"
)

// A node's TLS files live in its home, not its data directory, which a
// galera state transfer replaces wholesale.
func (n node) certFile() string { return path.Join(n.home(), "server-cert.pem") }
func (n node) keyFile() string  { return path.Join(n.home(), "server-key.pem") }
func (n node) caFile() string   { return path.Join(n.home(), "ca.pem") }

// writeTLS issues the node a server certificate from the control plane's
// CA, naming the node's address (clients and replicas verify it), and
// writes it, its key and the CA certificate into the node's home, 0600 and
// owned by mysql. Running it again issues a new certificate: a node that
// runs keeps the one it loaded, which is just as valid, until it restarts.
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

// tlsSettings turn TLS on with the node's certificate when its cluster has
// SSL on, and refuse TCP connections without it (require_secure_transport:
// the Unix socket, which dbplane and galera's state transfers use, counts
// as secure). Galera's own traffic between members (group communication,
// IST and SST) is not encrypted by them.
func tlsSettings(n node) []setting {
	if !n.cluster.Spec.SSL {
		return nil
	}
	return []setting{
		{"ssl_cert", n.certFile()},
		{"ssl_key", n.keyFile()},
		{"ssl_ca", n.caFile()},
		{"tls_version", "TLSv1.2,TLSv1.3"},
		{"require_secure_transport", "ON"},
	}
}

// requireClause is how accounts that connect over TCP must connect: over
// TLS when the cluster has SSL on. REQUIRE NONE undoes it, should the
// setting ever change.
func requireClause(c *dbplane.Cluster) string {
	if c.Spec.SSL {
		return "REQUIRE SSL"
	}
	return "REQUIRE NONE"
}

// masterTLS are the CHANGE MASTER options that have replica n connect to
// its primary over TLS, verifying the primary's certificate and address
// against the CA; none without SSL.
func masterTLS(n node) string {
	if !n.cluster.Spec.SSL {
		return ""
	}
	return fmt.Sprintf(", MASTER_SSL = 1, MASTER_SSL_CA = %s, MASTER_SSL_VERIFY_SERVER_CERT = 1", quoteLiteral(n.caFile()))
}
