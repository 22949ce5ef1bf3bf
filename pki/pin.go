package pki

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/dbplane/dbplane"
)

// Fingerprint returns the SHA-256 fingerprint of a certificate, in lower
// case hex without separators: what `dbplane agent --ca-sha256` takes to
// pin the control plane's CA.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// ParseFingerprint reads a SHA-256 fingerprint in hex, with or without a
// "sha256:" prefix and colons between bytes (as openssl prints it), in
// either case. A malformed one is KindInvalid.
func ParseFingerprint(s string) ([]byte, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "sha256:")
	t = strings.ReplaceAll(t, ":", "")
	b, err := hex.DecodeString(t)
	if err != nil || len(b) != sha256.Size {
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "ca_sha256",
			Message: fmt.Sprintf("must be the 64 hex digits of a SHA-256 fingerprint, got %q", s)})
	}
	return b, nil
}

// APICN is the common name of the API certificate that the control plane
// issues itself from its CA. A pinned client requires it: the same CA also
// signs agents' and database servers' certificates, which name addresses
// too, and none of them may pass for the control plane.
const APICN = "dbplane control plane API"

// PinnedTLSConfig returns a client TLS configuration that trusts one CA,
// known only by the SHA-256 fingerprint of its certificate: the server must
// send that certificate in its chain, and its own certificate must chain to
// it, be named APICN and be valid for host, the host name or IP address
// dialed. Host is given rather than read from the handshake because TLS
// sends no server name for IP addresses. Nothing else is trusted, not even
// the system's roots, so a client given the fingerprint out of band (say, in
// the command that joins an agent) needs no CA file.
func PinnedTLSConfig(fingerprint []byte, host string) *tls.Config {
	pin := bytes.Clone(fingerprint)
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The standard verification needs the roots up front; this one
		// finds its root in the handshake, by the pin, in VerifyConnection,
		// which runs even so.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPinned(cs, pin, host)
		},
	}
}

var errNoPeerCert = errors.New("the server sent no certificate")

// verifyPinned checks that the chain a server sent holds the CA of pin and
// that the server's certificate is the API's and chains to it for host.
func verifyPinned(cs tls.ConnectionState, pin []byte, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return errNoPeerCert
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	var found bool
	var sent []string
	for _, c := range cs.PeerCertificates {
		sum := sha256.Sum256(c.Raw)
		sent = append(sent, fmt.Sprintf("%q %x", c.Subject.CommonName, sum[:]))
		if bytes.Equal(sum[:], pin) && c.IsCA {
			roots.AddCert(c)
			found = true
		} else {
			inter.AddCert(c)
		}
	}
	if !found {
		return fmt.Errorf("the server's certificate chain holds no CA of fingerprint %x (it sent %s): "+
			"the pin is wrong, or this is not the control plane", pin, strings.Join(sent, ", "))
	}
	leaf := cs.PeerCertificates[0]
	if leaf.Subject.CommonName != APICN {
		return fmt.Errorf("the server's certificate is %q, not the control plane API's", leaf.Subject.CommonName)
	}
	if host == "" {
		return errors.New("no host to verify the server's certificate for")
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		DNSName: host, Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("the server's certificate does not verify with the pinned CA: %w", err)
	}
	return nil
}
