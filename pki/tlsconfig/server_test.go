package tlsconfig_test

import (
	"bytes"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/pki/tlsconfig"
)

// mustCertFiles writes a certificate of ca for 127.0.0.1 and its key to
// files in dir and returns their paths.
func mustCertFiles(t *testing.T, ca *pki.CA, dir string) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM, err := ca.IssueServerCert("api.example", []net.IP{net.ParseIP("127.0.0.1")}, []string{"api.example"})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestServerTLS checks the choice of certificate and what is logged, and
// that renewed certificate files are served without a restart.
func TestServerTLS(t *testing.T) {
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	addr := &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 8443}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	o := tlsconfig.ServerOptions{CA: ca, Addr: addr, Log: log}
	tc, err := tlsconfig.Server(o)
	if err != nil {
		t.Fatal(err)
	}
	leaf := tc.Certificates[0].Leaf
	if !slices.ContainsFunc(leaf.IPAddresses, net.ParseIP("10.1.2.3").Equal) || len(tc.Certificates[0].Certificate) != 2 {
		t.Errorf("certificate for %v with a chain of %d, want the listen address and the CA", leaf.IPAddresses, len(tc.Certificates[0].Certificate))
	}
	if !strings.Contains(logs.String(), "no tls_cert_file configured") {
		t.Errorf("log = %q, want it to say the CA's certificate is served", logs.String())
	}

	t.Run("Advertised", func(t *testing.T) {
		for advertised, check := range map[string]func(*x509.Certificate) error{
			"https://db.example.com:9443": func(c *x509.Certificate) error { return c.VerifyHostname("db.example.com") },
			"https://192.0.2.7:9443/":     func(c *x509.Certificate) error { return c.VerifyHostname("192.0.2.7") },
		} {
			o := o
			o.AdvertiseURL = advertised
			tc, err := tlsconfig.Server(o)
			if err != nil {
				t.Fatal(err)
			}
			if err := check(tc.Certificates[0].Leaf); err != nil {
				t.Errorf("advertised %s: %v", advertised, err)
			}
		}
	})

	t.Run("Files", func(t *testing.T) {
		old := tlsconfig.CertCheckInterval
		tlsconfig.CertCheckInterval = 0
		t.Cleanup(func() { tlsconfig.CertCheckInterval = old })
		dir := t.TempDir()
		o.CertFile, o.KeyFile = mustCertFiles(t, ca, dir)
		logs.Reset()
		tc, err := tlsconfig.Server(o)
		if err != nil {
			t.Fatal(err)
		}
		first, _ := tc.GetCertificate(nil)
		if !strings.Contains(logs.String(), "configured certificate") {
			t.Errorf("log = %q, want it to name the configured certificate", logs.String())
		}
		time.Sleep(10 * time.Millisecond) // a later modification time
		mustCertFiles(t, ca, dir)
		renewed, _ := tc.GetCertificate(nil)
		if bytes.Equal(first.Certificate[0], renewed.Certificate[0]) {
			t.Fatal("the renewed certificate is not served")
		}
		if err := os.WriteFile(o.KeyFile, []byte("broken"), 0o600); err != nil {
			t.Fatal(err)
		}
		if kept, _ := tc.GetCertificate(nil); !bytes.Equal(kept.Certificate[0], renewed.Certificate[0]) {
			t.Fatal("a broken key replaced the served certificate")
		}
		o.CertFile = filepath.Join(dir, "missing.crt")
		if _, err := tlsconfig.Server(o); err == nil || !strings.Contains(err.Error(), "tls_cert_file") {
			t.Fatalf("err = %v, want one naming tls_cert_file", err)
		}
	})
}

// TestAPIURL: a control plane listening on every address is reached, and
// verified, on the loopback address.
func TestAPIURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":  "https://127.0.0.1:8080",
		"[::]:8080":     "https://[::1]:8080",
		"10.0.0.5:8443": "https://10.0.0.5:8443",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := tlsconfig.APIURL(a); got != want {
			t.Errorf("APIURL(%s) = %s, want %s", addr, got, want)
		}
	}
}
