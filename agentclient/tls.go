package agentclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"

	"github.com/dbplane/dbplane/pki"
)

// ClientTLSConfig returns the control plane's TLS configuration for
// calling agents: it presents cert and trusts agents whose certificate ca
// signed for their address and names an agent. The name matters because
// the CA also signs database servers' certificates for the same addresses:
// a database process must not pass for its host's agent.
func ClientTLSConfig(cert tls.Certificate, ca *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		RootCAs:          ca,
		VerifyConnection: verifyAgent,
	}
}

var errNotAgent = errors.New("agentclient: the server certificate is not an agent's")

// verifyAgent checks, after the chain and address were verified, that the
// server's certificate is an agent's.
func verifyAgent(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errNotAgent
	}
	cn := cs.PeerCertificates[0].Subject.CommonName
	if !strings.HasPrefix(cn, pki.AgentCNPrefix) || len(cn) == len(pki.AgentCNPrefix) {
		return errNotAgent
	}
	return nil
}
