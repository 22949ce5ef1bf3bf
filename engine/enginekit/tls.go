package enginekit

import (
	"context"
	"fmt"
	"net"

	"github.com/dbplane/dbplane"
)

// TLSFiles say where a node's TLS material goes and who owns it.
type TLSFiles struct {
	Owner         string
	Cert, Key, CA string
	Dir           string // where they are, for the log
}

// WriteTLS issues the step's node a server certificate from the control
// plane's CA, naming the node's address so that clients verify it, and
// writes it, its key and the CA certificate, 0600 and owned by f.Owner.
// Running it again issues a new certificate: a node that runs keeps the one
// it loaded, which is just as valid, until it restarts or reloads.
func WriteTLS(ctx context.Context, s *Step, f TLSFiles) error {
	n, c := s.Node, s.Cluster
	if !c.Spec.SSL {
		s.Logf("cluster %s has SSL off: no certificate for node %d", c.Name, n.Ordinal)
		return nil
	}
	ca := s.Deps.CA
	if ca == nil {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "cluster %s has SSL on, but the engine has no CA to issue certificates", c.Name))
	}
	ips, names := SANs(n.Address)
	certPEM, keyPEM, err := ca.IssueServerCert(c.Name, ips, names)
	if err != nil {
		return dbplane.Permanent(fmt.Errorf("while issuing the certificate of node %d: %w", n.Ordinal, err))
	}
	a, err := s.Agent(ctx, n)
	if err != nil {
		return err
	}
	for _, file := range []dbplane.File{
		{Path: f.Key, Owner: f.Owner, Mode: 0o600, Content: keyPEM},
		{Path: f.Cert, Owner: f.Owner, Mode: 0o600, Content: certPEM},
		{Path: f.CA, Owner: f.Owner, Mode: 0o600, Content: ca.CertPEM()},
	} {
		if err := a.WriteFile(ctx, file); err != nil {
			return fmt.Errorf("while writing %s on host %d: %w", file.Path, n.HostID, err)
		}
	}
	s.Logf("wrote the server certificate of node %d (CN %s, SAN %s), its key and the CA certificate to %s",
		n.Ordinal, c.Name, n.Address, f.Dir)
	return nil
}

// SANs returns the subject alternative names of a node's certificate: its
// address, as an IP address or a DNS name.
func SANs(addr string) ([]net.IP, []string) {
	if ip := net.ParseIP(addr); ip != nil {
		return []net.IP{ip}, nil
	}
	return nil, []string{addr}
}
