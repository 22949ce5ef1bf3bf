package dbplane

import "net"

// SecretBox encrypts secrets at rest (AES-256-GCM under named keys). Seal
// uses the primary key; Open takes the id of the key that sealed, so after
// a rotation old ciphertexts still open until they are re-sealed.
type SecretBox interface {
	// Seal encrypts plaintext; aad binds the ciphertext to its purpose and
	// owner (for instance "cluster-password:12") and must be given again
	// to Open.
	Seal(plaintext, aad []byte) (ciphertext []byte, keyID string)
	// Open decrypts what Seal made with the key named keyID and the same
	// aad.
	Open(ciphertext []byte, keyID string, aad []byte) ([]byte, error)
	// PrimaryKeyID names the key Seal uses.
	PrimaryKeyID() string
}

// CertIssuer issues TLS certificates from the control plane's CA, for
// database servers that clients verify.
type CertIssuer interface {
	// IssueServerCert returns a PEM certificate and PEM private key for a
	// server known by ips and dnsNames.
	IssueServerCert(commonName string, ips []net.IP, dnsNames []string) (certPEM, keyPEM []byte, err error)
	// CertPEM returns the CA's certificate, which clients trust.
	CertPEM() []byte
}

// Redacted replaces a secret in logs and messages.
const Redacted = "[REDACTED]"
