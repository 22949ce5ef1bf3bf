package pki_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
)

func mustCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// mustAgentCert runs the agent's half (key and CSR) and the control plane's
// half (signing) of a join.
func mustAgentCert(t *testing.T, ca *pki.CA, hostname string, ip net.IP) (certPEM, keyPEM []byte) {
	t.Helper()
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(pki.AgentCN(hostname), []net.IP{ip})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err = ca.SignCSR(csrPEM, []net.IP{ip}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

func TestNewCA(t *testing.T) {
	ca := mustCA(t)
	if !ca.Cert.IsCA || ca.Cert.Subject.CommonName != "test CA" {
		t.Fatalf("IsCA=%v CN=%q", ca.Cert.IsCA, ca.Cert.Subject.CommonName)
	}
	if _, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Fatalf("CA key is %T, want ECDSA", ca.Cert.PublicKey)
	}
	if err := ca.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	got, err := pki.ParseCertPEM(ca.CertPEM())
	if err != nil || !got.Equal(ca.Cert) {
		t.Fatalf("CertPEM does not hold the CA certificate: %v", err)
	}
}

func TestSignCSR(t *testing.T) {
	ca := mustCA(t)
	ip := net.ParseIP("127.0.0.11")
	certPEM, _ := mustAgentCert(t, ca, "db1", ip)
	cert, err := pki.ParseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		_, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}})
		if err != nil {
			t.Errorf("usage %v: %v", usage, err)
		}
	}
	if err := cert.VerifyHostname("127.0.0.11"); err != nil {
		t.Errorf("VerifyHostname: %v", err)
	}
	if cn := cert.Subject.CommonName; cn != "dbplane-agent-db1" {
		t.Errorf("CN = %q", cn)
	}
	if cert.IsCA {
		t.Error("an agent certificate is a CA")
	}
	if bits := cert.SerialNumber.BitLen(); bits < 100 || bits > 128 {
		t.Errorf("serial has %d bits, want a random 128-bit number", bits)
	}
	if life := cert.NotAfter.Sub(cert.NotBefore); life < pki.AgentCertValidity || life > pki.AgentCertValidity+time.Hour {
		t.Errorf("validity %v, want about %v", life, pki.AgentCertValidity)
	}
}

// TestSignCSR_SANsFromCaller checks that the SANs an agent asks for are
// ignored: only the addresses the control plane names are certified.
func TestSignCSR_SANsFromCaller(t *testing.T) {
	ca := mustCA(t)
	_, csrPEM, err := pki.NewKeyAndCSR(pki.AgentCN("db1"), []net.IP{net.ParseIP("10.9.9.9")})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignCSR(csrPEM, []net.IP{net.ParseIP("127.0.0.12")}, []string{"db1.test"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ParseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(net.ParseIP("127.0.0.12")) {
		t.Errorf("IP SANs = %v, want [127.0.0.12]", cert.IPAddresses)
	}
	if !slices.Equal(cert.DNSNames, []string{"db1.test"}) {
		t.Errorf("DNS SANs = %v", cert.DNSNames)
	}
	if life := cert.NotAfter.Sub(cert.NotBefore); life > 2*time.Hour {
		t.Errorf("validity %v, want the hour asked for", life)
	}
}

func TestSignCSR_Refused(t *testing.T) {
	ca := mustCA(t)
	_, goodCSR, err := pki.NewKeyAndCSR(pki.AgentCN("db1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	csrFor := func(cn string) []byte {
		_, csr, err := pki.NewKeyAndCSR(cn, nil)
		if err != nil {
			t.Fatal(err)
		}
		return csr
	}
	for _, tt := range []struct {
		name, want string
		csr        []byte
	}{
		{"ControlPlaneCN", "must be", csrFor(pki.ControlPlaneCN)},
		{"BarePrefix", "must be", csrFor(pki.AgentCNPrefix)},
		{"Garbage", "no PEM block", []byte("hello")},
		{"Certificate", `PEM block is "CERTIFICATE"`, ca.CertPEM()},
		{"BadSignature", "bad signature", tamper(t, goodCSR)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.SignCSR(tt.csr, nil, nil, 0)
			if dbplane.ErrorKind(err) != dbplane.KindInvalid || !strings.Contains(dbplane.ErrorMessage(err), tt.want) {
				t.Fatalf("err = %v, want invalid csr containing %q", err, tt.want)
			}
			if f := dbplane.ErrorFields(err); len(f) != 1 || f[0].Field != "csr" {
				t.Fatalf("fields = %v, want csr", f)
			}
		})
	}
}

// tamper flips a bit of a CSR's signature, the last byte of its DER.
func tamper(t *testing.T, csrPEM []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(csrPEM)
	der := bytes.Clone(block.Bytes)
	der[len(der)-1] ^= 1
	return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der})
}

func TestIssueControlPlaneCert(t *testing.T) {
	ca := mustCA(t)
	c, err := ca.IssueControlPlaneCert()
	if err != nil {
		t.Fatal(err)
	}
	if cn := c.Leaf.Subject.CommonName; cn != "dbplane-control-plane" {
		t.Errorf("CN = %q", cn)
	}
	if !slices.Equal(c.Leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("ExtKeyUsage = %v, want client auth only", c.Leaf.ExtKeyUsage)
	}
	opts := x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := c.Leaf.Verify(opts); err != nil {
		t.Errorf("Verify: %v", err)
	}
	opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if _, err := c.Leaf.Verify(opts); err == nil {
		t.Error("the control plane's certificate verifies as a server certificate")
	}
}

// TestMutualTLS connects a control-plane client to an agent-like server
// that requires a client certificate of the CA: the CA's control-plane
// certificate is accepted, one of another CA is refused.
func TestMutualTLS(t *testing.T) {
	ca := mustCA(t)
	ip := net.ParseIP("127.0.0.1")
	certPEM, keyPEM := mustAgentCert(t, ca, "db1", ip)
	serverCert, err := tls.X509KeyPair(append(certPEM, ca.CertPEM()...), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			// Handshake, then echo one byte so the client sees the outcome.
			go func() {
				defer conn.Close()
				b := make([]byte, 1)
				if _, err := conn.Read(b); err == nil {
					conn.Write(b)
				}
			}()
		}
	}()

	dial := func(c tls.Certificate) error {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
			Certificates: []tls.Certificate{c}, RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13,
		})
		if err != nil {
			return err
		}
		defer conn.Close()
		// TLS 1.3 reports a refused client certificate on the first read.
		if _, err := conn.Write([]byte{1}); err != nil {
			return err
		}
		_, err = conn.Read(make([]byte, 1))
		return err
	}
	good, err := ca.IssueControlPlaneCert()
	if err != nil {
		t.Fatal(err)
	}
	if err := dial(good); err != nil {
		t.Fatalf("the CA's control-plane certificate is refused: %v", err)
	}
	rogue, err := mustCA(t).IssueControlPlaneCert()
	if err != nil {
		t.Fatal(err)
	}
	if err := dial(rogue); err == nil {
		t.Fatal("a certificate of another CA is accepted")
	}
}

func TestIsExpiring(t *testing.T) {
	ca := mustCA(t)
	certPEM, _ := mustAgentCert(t, ca, "db1", net.ParseIP("127.0.0.1"))
	cert, err := pki.ParseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	const week = 7 * 24 * time.Hour
	for _, tt := range []struct {
		name string
		now  time.Time
		want bool
	}{
		{"Fresh", cert.NotBefore, false},
		{"JustOutsideThreshold", cert.NotAfter.Add(-week - time.Second), false},
		{"AtThreshold", cert.NotAfter.Add(-week), true},
		{"Expired", cert.NotAfter.Add(time.Hour), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := pki.IsExpiring(cert, tt.now, week); got != tt.want {
				t.Fatalf("IsExpiring = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseKeyPEM(t *testing.T) {
	keyPEM, _, err := pki.NewKeyAndCSR(pki.AgentCN("db1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	again, err := pki.EncodeKeyPEM(key)
	if err != nil || !bytes.Equal(again, keyPEM) {
		t.Fatalf("round trip: %v\n%s\n%s", err, keyPEM, again)
	}
	if _, err := pki.ParseKeyPEM([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")); dbplane.ErrorKind(err) != dbplane.KindInvalid {
		t.Fatalf("malformed key: err = %v, want invalid", err)
	}
}
