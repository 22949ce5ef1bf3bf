package agent

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
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
