package pki

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/dbplane/dbplane"
)

// IssueServerTLS is IssueServerCert for a TLS server of this process (the
// control plane's API): it returns a tls.Certificate whose chain holds the
// CA certificate after the server's, so that a client that pins the CA by
// its fingerprint (an agent joining with --ca-sha256) finds it in the
// handshake.
func (ca *CA) IssueServerTLS(commonName string, ips []net.IP, dnsNames []string) (tls.Certificate, error) {
	const op = "pki.IssueServerTLS"
	certPEM, keyPEM, err := ca.IssueServerCert(commonName, ips, dnsNames)
	if err != nil {
		return tls.Certificate{}, dbplane.E(op, err)
	}
	cert, err := tls.X509KeyPair(append(certPEM, ca.certPEM...), keyPEM)
	if err != nil {
		return tls.Certificate{}, dbplane.E(op, fmt.Errorf("while loading the issued certificate: %w", err))
	}
	return cert, nil
}
