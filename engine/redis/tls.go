package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"path"
	"strconv"

	"github.com/dbplane/dbplane"
)

// A node's TLS files live in its home, beside its configuration.
func (n node) certFile() string { return path.Join(n.home(), "tls.crt") }
func (n node) keyFile() string  { return path.Join(n.home(), "tls.key") }
func (n node) caFile() string   { return path.Join(n.home(), "ca.crt") }

// writeTLS issues the node a server certificate from the control plane's
// CA, naming the node's address (clients verify it), and writes it, its key
// and the CA certificate into the node's home, 0600 and owned by redis.
// Running it again issues a new certificate: a node that runs keeps the one
// it loaded, which is just as valid, until it restarts.
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

// listenSettings say where the node serves: plain TCP on its port or,
// when its cluster has SSL on, TLS only on that port (port 0 closes the
// plain one). Replication and the cluster bus then use TLS too; a node
// connecting to another verifies the other's chain against the CA (Redis
// checks no name). Clients authenticate with their ACL password, not a
// certificate (tls-auth-clients no).
func listenSettings(n node) []setting {
	if !n.cluster.Spec.SSL {
		return []setting{{"port", strconv.Itoa(n.Port)}}
	}
	s := []setting{
		{"port", "0"},
		{"tls-port", strconv.Itoa(n.Port)},
		{"tls-cert-file", n.certFile()},
		{"tls-key-file", n.keyFile()},
		{"tls-ca-cert-file", n.caFile()},
		{"tls-auth-clients", "no"},
		{"tls-replication", "yes"},
	}
	if n.isRedisCluster() {
		s = append(s, setting{"tls-cluster", "yes"})
	}
	return s
}

// tlsConfig is how the control plane reaches n: over TLS, verifying the
// node's certificate and address against the CA, when its cluster has SSL
// on; nil (plain TCP) otherwise.
func (s *step) tlsConfig(n node) (*tls.Config, error) {
	if !s.c.Spec.SSL {
		return nil, nil
	}
	if s.e.CA == nil {
		return nil, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "cluster %s has SSL on, but the engine has no CA to verify its nodes", s.c.Name))
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.e.CA.CertPEM()) {
		return nil, dbplane.Permanent(fmt.Errorf("the CA certificate does not parse"))
	}
	return &tls.Config{RootCAs: roots, ServerName: n.Address, MinVersion: tls.VersionTLS12}, nil
}
