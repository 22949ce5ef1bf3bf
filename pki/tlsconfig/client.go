package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"

	"github.com/dbplane/dbplane/pki"
)

// Trusting returns a client TLS configuration that trusts only the CA
// certificates of caPEM, not the system's roots. It reports false when
// caPEM holds no PEM certificate.
func Trusting(caPEM []byte) (*tls.Config, bool) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, false
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, true
}

// PinFingerprint returns the SHA-256 fingerprint for an agent to pin
// (pki.PinnedTLSConfig) when caPEM is exactly one CA certificate, else "":
// a bundle, or a server certificate, names no single CA to pin.
func PinFingerprint(caPEM []byte) string {
	var certs []*x509.Certificate
	data := caPEM
	for {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			break
		}
		if cert, err := x509.ParseCertificate(block.Bytes); block.Type == "CERTIFICATE" && err == nil {
			certs = append(certs, cert)
		}
	}
	if len(certs) != 1 || !certs[0].IsCA {
		return ""
	}
	return pki.Fingerprint(certs[0])
}
