package agent

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"strings"

	"github.com/dbplane/dbplane/pki"
)

// ControlPlaneCN is the common name of the control plane's client
// certificate. Agents accept calls only from a certificate that carries
// it, so that one agent's certificate, signed by the same CA, cannot drive
// another agent.
const ControlPlaneCN = "dbplane-control-plane"

// ServerTLSConfig returns the TLS configuration of an agent's API: it
// presents cert and accepts only clients whose certificate ca signed, that
// is meant for client authentication and names the control plane.
func ServerTLSConfig(cert tls.Certificate, ca *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		ClientCAs:        ca,
		ClientAuth:       tls.RequireAndVerifyClientCert,
		VerifyConnection: verifyControlPlane,
	}
}

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

var errNotAgent = errors.New("agent: the server certificate is not an agent's")

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

// hardenServerTLS returns a copy of cfg that enforces the agent's rules
// whatever cfg said: TLS 1.3, a verified client certificate, the control
// plane's identity.
func hardenServerTLS(cfg *tls.Config) *tls.Config {
	c := cfg.Clone()
	c.MinVersion = max(c.MinVersion, tls.VersionTLS13)
	c.ClientAuth = tls.RequireAndVerifyClientCert
	prev := c.VerifyConnection
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := verifyControlPlane(cs); err != nil {
			return err
		}
		if prev != nil {
			return prev(cs)
		}
		return nil
	}
	return c
}

var (
	errNoClientCert    = errors.New("agent: no client certificate")
	errNotClientAuth   = errors.New("agent: the client certificate is not for client authentication")
	errNotControlPlane = errors.New("agent: the client certificate is not the control plane's")
)

// verifyControlPlane checks, after the chain was verified against the CA,
// that the peer's certificate is the control plane's client certificate.
func verifyControlPlane(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errNoClientCert
	}
	return checkControlPlane(cs.PeerCertificates[0])
}

func checkControlPlane(leaf *x509.Certificate) error {
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return errNotClientAuth
	}
	if leaf.Subject.CommonName != ControlPlaneCN {
		return errNotControlPlane
	}
	return nil
}
