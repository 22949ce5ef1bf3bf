package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"

	"github.com/dbplane/dbplane"
)

// PEM block types.
const (
	pemCertificate = "CERTIFICATE"
	pemCSR         = "CERTIFICATE REQUEST"
	pemPrivateKey  = "PRIVATE KEY" // PKCS #8
)

// NewKeyAndCSR makes a new ECDSA P-256 key and a certificate request for it
// with the given common name and IP SANs. The agent calls it: the key never
// leaves the host, only the request does.
func NewKeyAndCSR(commonName string, ips []net.IP) (keyPEM, csrPEM []byte, err error) {
	const op = "pki.NewKeyAndCSR"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, dbplane.E(op, fmt.Errorf("while generating a key: %w", err))
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: commonName},
		IPAddresses: ips,
	}, key)
	if err != nil {
		return nil, nil, dbplane.E(op, fmt.Errorf("while creating the certificate request: %w", err))
	}
	keyPEM, err = EncodeKeyPEM(key)
	if err != nil {
		return nil, nil, dbplane.E(op, err)
	}
	return keyPEM, pem.EncodeToMemory(&pem.Block{Type: pemCSR, Bytes: der}), nil
}

// EncodeCertPEM encodes a DER certificate as PEM.
func EncodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der})
}

// EncodeKeyPEM encodes an ECDSA private key as PKCS #8 PEM.
func EncodeKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("while encoding the private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// ParseCertPEM parses the first certificate of a PEM text. A malformed one
// is KindInvalid.
func ParseCertPEM(data []byte) (*x509.Certificate, error) {
	der, err := decodePEM(data, pemCertificate, "certificate")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, invalidPEM("certificate", err.Error())
	}
	return cert, nil
}

// ParseKeyPEM parses a PKCS #8 PEM ECDSA private key. A malformed one is
// KindInvalid.
func ParseKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	der, err := decodePEM(data, pemPrivateKey, "private key")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, invalidPEM("private key", err.Error())
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, invalidPEM("private key", fmt.Sprintf("a %T, not an ECDSA key", k))
	}
	return key, nil
}

// ParseCSRPEM parses a PEM certificate request and checks its signature,
// which proves that its sender holds the key. A malformed or badly signed
// request is KindInvalid on the field "csr".
func ParseCSRPEM(data []byte) (*x509.CertificateRequest, error) {
	der, err := decodePEM(data, pemCSR, "csr")
	if err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, invalidPEM("csr", err.Error())
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, invalidPEM("csr", "bad signature: "+err.Error())
	}
	return csr, nil
}

// decodePEM returns the DER bytes of the first PEM block of data, which
// must be of type typ.
func decodePEM(data []byte, typ, what string) ([]byte, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, invalidPEM(what, "no PEM block found")
	}
	if block.Type != typ {
		return nil, invalidPEM(what, fmt.Sprintf("PEM block is %q, want %q", block.Type, typ))
	}
	return block.Bytes, nil
}

func invalidPEM(field, msg string) error {
	return dbplane.Invalid(dbplane.FieldError{Field: field, Message: msg})
}
