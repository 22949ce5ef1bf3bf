// Package pki is dbplane's certificate authority: the control plane's CA
// signs the certificates its agents and the control plane itself present to
// each other, so every call between them is mutual TLS. It uses the standard
// library only, in the style of CloudNativePG's pkg/certs: ECDSA P-256 keys,
// 128-bit random serials, IP SANs for agents. The CA key is kept encrypted
// at rest (see Keyring and LoadOrCreate).
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// ControlPlaneCN is the common name of the control plane's client
// certificate. Agents accept calls only from a certificate of their CA with
// exactly this name, so SignCSR never issues it to anyone else.
const ControlPlaneCN = "dbplane-control-plane"

// AgentCNPrefix starts the common name of every agent certificate.
const AgentCNPrefix = "dbplane-agent-"

// Validity periods. Agents cannot renew their certificate yet, so theirs
// lasts a year; the control plane issues itself a fresh one at every start.
const (
	CAValidity           = 10 * 365 * 24 * time.Hour
	AgentCertValidity    = 365 * 24 * time.Hour
	ControlPlaneValidity = 365 * 24 * time.Hour
	// ServerCertValidity is how long a database server's certificate
	// lasts; nothing renews it yet, so it lasts as long as an agent's.
	ServerCertValidity = 365 * 24 * time.Hour
)

// clockSkew backdates certificates, so a host whose clock is a little behind
// the control plane's still accepts a certificate issued a moment ago.
const clockSkew = 5 * time.Minute

// AgentCN returns the common name of the certificate of the agent on a host.
func AgentCN(hostname string) string { return AgentCNPrefix + hostname }

// The control plane's CA issues the server certificates of databases.
var _ dbplane.CertIssuer = (*CA)(nil)

// CA is a certificate authority: its certificate and private key.
type CA struct {
	// Cert is the CA's self-signed certificate.
	Cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
	// Now is the clock that dates issued certificates; nil means time.Now.
	Now func() time.Time
}

// NewCA creates a CA with a new ECDSA P-256 key and a self-signed
// certificate valid for CAValidity.
func NewCA(commonName string) (*CA, error) {
	const op = "pki.NewCA"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while generating the CA key: %w", err))
	}
	serial, err := newSerial()
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs leaves only
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while self-signing the CA certificate: %w", err))
	}
	ca, err := newCA(der, key)
	return ca, dbplane.E(op, err)
}

// newCA assembles a CA from its certificate and key, checking that they
// belong together.
func newCA(der []byte, key *ecdsa.PrivateKey) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("while parsing the CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("certificate %q is not a CA", cert.Subject.CommonName)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("the CA key does not match the CA certificate")
	}
	return &CA{Cert: cert, certPEM: EncodeCertPEM(der), key: key}, nil
}

// CertPEM returns the CA certificate in PEM form, as agents store it.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// Pool returns a pool holding only the CA certificate, to verify peers.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// SignCSR issues an agent certificate for a PEM certificate request, valid
// for both server and client authentication, for validity (AgentCertValidity
// if zero). The subject is the request's common name, which must start with
// AgentCNPrefix; the SANs are the given ones, never the request's: the
// control plane, not the agent, decides which addresses a certificate
// vouches for.
func (ca *CA) SignCSR(csrPEM []byte, hostIPs []net.IP, dnsNames []string, validity time.Duration) ([]byte, error) {
	const op = "pki.SignCSR"
	csr, err := ParseCSRPEM(csrPEM)
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	cn := csr.Subject.CommonName
	if !strings.HasPrefix(cn, AgentCNPrefix) || len(cn) == len(AgentCNPrefix) {
		return nil, dbplane.E(op, dbplane.Invalid(dbplane.FieldError{Field: "csr",
			Message: fmt.Sprintf("common name %q must be %q followed by the hostname", cn, AgentCNPrefix)}))
	}
	if validity <= 0 {
		validity = AgentCertValidity
	}
	der, err := ca.issue(cn, csr.PublicKey, hostIPs, dnsNames, validity,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth})
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	return EncodeCertPEM(der), nil
}

// IssueControlPlaneCert issues the control plane's client certificate (CN
// ControlPlaneCN, client authentication only) with a new key, valid for
// ControlPlaneValidity. It is not stored: each control-plane process issues
// its own at start.
func (ca *CA) IssueControlPlaneCert() (tls.Certificate, error) {
	const op = "pki.IssueControlPlaneCert"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, dbplane.E(op, fmt.Errorf("while generating a key: %w", err))
	}
	der, err := ca.issue(ControlPlaneCN, &key.PublicKey, nil, nil, ControlPlaneValidity,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
	if err != nil {
		return tls.Certificate{}, dbplane.E(op, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, dbplane.E(op, fmt.Errorf("while parsing the issued certificate: %w", err))
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// IssueServerCert issues a database node's certificate with a new key,
// valid for ServerCertValidity, for the given IP and DNS SANs: clients of a
// cluster with SSL on verify its nodes with it. It serves client
// authentication too, because nodes connect to each other with it: Redis'
// cluster bus asks the connecting node for a certificate of the CA. It
// refuses the names of the control plane and of agents: the key lives on a
// database host, readable by the engine's OS user, and must never pass for
// one of them (agents accept only ControlPlaneCN as a client). It makes
// *CA a dbplane.CertIssuer.
func (ca *CA) IssueServerCert(commonName string, ips []net.IP, dnsNames []string) (certPEM, keyPEM []byte, err error) {
	const op = "pki.IssueServerCert"
	switch {
	case commonName == "" || commonName == ControlPlaneCN || strings.HasPrefix(commonName, AgentCNPrefix):
		return nil, nil, dbplane.E(op, dbplane.Invalid(dbplane.FieldError{Field: "common_name",
			Message: fmt.Sprintf("%q is empty or reserved for the control plane and agents", commonName)}))
	case len(ips) == 0 && len(dnsNames) == 0:
		return nil, nil, dbplane.E(op, dbplane.Invalid(dbplane.FieldError{Field: "sans",
			Message: "a server certificate needs an IP address or DNS name to be verified by"}))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, dbplane.E(op, fmt.Errorf("while generating a key: %w", err))
	}
	der, err := ca.issue(commonName, &key.PublicKey, ips, dnsNames, ServerCertValidity,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth})
	if err != nil {
		return nil, nil, dbplane.E(op, err)
	}
	keyPEM, err = EncodeKeyPEM(key)
	if err != nil {
		return nil, nil, dbplane.E(op, err)
	}
	return EncodeCertPEM(der), keyPEM, nil
}

// issue signs a leaf certificate for pub.
func (ca *CA) issue(cn string, pub any, ips []net.IP, dnsNames []string, validity time.Duration,
	usage []x509.ExtKeyUsage) ([]byte, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := ca.now()
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		// A leaf outliving its CA would fail verification anyway; say so
		// in its dates.
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  usage,
		IPAddresses:  ips,
		DNSNames:     dnsNames,
		// Explicitly not a CA, so a leaf can never sign other certificates.
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("while signing the certificate of %q: %w", cn, err)
	}
	return der, nil
}

func (ca *CA) now() time.Time {
	if ca.Now != nil {
		return ca.Now()
	}
	return time.Now()
}

// newSerial returns a random, positive 128-bit serial number: unique
// without coordination between control planes that share the CA.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	n, err := rand.Int(rand.Reader, limit.Sub(limit, big.NewInt(1)))
	if err != nil {
		return nil, fmt.Errorf("while generating a serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// IsExpiring reports whether cert expires within threshold of now (or has
// expired), so its holder should replace it.
func IsExpiring(cert *x509.Certificate, now time.Time, threshold time.Duration) bool {
	return !now.Add(threshold).Before(cert.NotAfter)
}
