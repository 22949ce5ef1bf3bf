package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pki"
)

func TestIssueServerCert(t *testing.T) {
	ca := mustCA(t)
	ip := net.ParseIP("10.0.0.7")
	certPEM, keyPEM, err := ca.IssueServerCert("shop", []net.IP{ip}, []string{"db.example"})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("the key does not match the certificate: %v", err)
	}
	cert := pair.Leaf
	if cert.Subject.CommonName != "shop" || !cert.IPAddresses[0].Equal(ip) || !slices.Equal(cert.DNSNames, []string{"db.example"}) {
		t.Errorf("CN %q, IPs %v, DNS %v", cert.Subject.CommonName, cert.IPAddresses, cert.DNSNames)
	}
	if cert.IsCA || cert.NotAfter.Sub(cert.NotBefore) < pki.ServerCertValidity {
		t.Errorf("IsCA %v, valid %v", cert.IsCA, cert.NotAfter.Sub(cert.NotBefore))
	}
	opts := x509.VerifyOptions{Roots: ca.Pool(), DNSName: "10.0.0.7", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if _, err := cert.Verify(opts); err != nil {
		t.Errorf("verify as the server of 10.0.0.7: %v", err)
	}
	opts.DNSName = "10.0.0.8"
	if _, err := cert.Verify(opts); err == nil {
		t.Error("the certificate verifies for an address it does not name")
	}
	// Nodes present it to each other (Redis' cluster bus), but never with
	// a name agents accept.
	opts.DNSName, opts.KeyUsages = "", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if _, err := cert.Verify(opts); err != nil {
		t.Errorf("verify as a node's client certificate: %v", err)
	}
	opts.Roots, opts.KeyUsages = mustCA(t).Pool(), nil
	if _, err := cert.Verify(opts); err == nil {
		t.Error("the certificate verifies against another CA")
	}
	if got := ca.CertPEM(); string(got) == "" || slices.Equal(got, certPEM) {
		t.Error("CertPEM is empty or the leaf")
	}
}

func TestIssueServerCert_Refused(t *testing.T) {
	ca := mustCA(t)
	ips := []net.IP{net.ParseIP("10.0.0.7")}
	for _, tc := range []struct {
		name string
		cn   string
		ips  []net.IP
	}{
		{"control plane's name", pki.ControlPlaneCN, ips},
		{"an agent's name", pki.AgentCN("db1"), ips},
		{"no name", "", ips},
		{"no SANs", "shop", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ca.IssueServerCert(tc.cn, tc.ips, nil)
			if dbplane.ErrorKind(err) != dbplane.KindInvalid {
				t.Errorf("IssueServerCert(%q): %v, want KindInvalid", tc.cn, err)
			}
		})
	}
}
