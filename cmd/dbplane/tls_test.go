package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent"
	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/service"
)

// TestServeTLS: the API answers over TLS only, with a certificate of the
// control plane's CA that clients verify with <data dir>/ca.pem, and that
// a client without it refuses.
func TestServeTLS(t *testing.T) {
	cp := mustRunControlPlane(t)
	if !strings.HasPrefix(cp.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s, want https on the loopback address", cp.URL)
	}
	st, err := os.Stat(cp.CAFile)
	if err != nil || st.Mode().Perm() != 0o644 || filepath.Base(cp.CAFile) != "ca.pem" {
		t.Fatalf("CA file %s: %v, %v; want ca.pem, mode 0644", cp.CAFile, st, err)
	}
	if got := mustFingerprint(t, cp.CAFile); got != cp.CAFingerprint || got != pki.Fingerprint(cp.ca.Cert) {
		t.Fatalf("ca.pem has fingerprint %s; the CA's is %s", got, cp.CAFingerprint)
	}

	resp, err := cp.http.Get(cp.URL + "/healthz")
	if err != nil {
		t.Fatalf("a client trusting ca.pem is refused: %v", err)
	}
	resp.Body.Close()
	leaf := resp.TLS.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: cp.ca.Pool(), DNSName: "localhost"}); err != nil {
		t.Errorf("the API's certificate does not verify for localhost: %v", err)
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if !slices.ContainsFunc(leaf.IPAddresses, net.ParseIP(ip).Equal) {
			t.Errorf("the API's certificate lacks IP %s: %v", ip, leaf.IPAddresses)
		}
	}
	if h, _ := os.Hostname(); h != "" && !slices.Contains(leaf.DNSNames, h) {
		t.Errorf("the API's certificate lacks the hostname %s: %v", h, leaf.DNSNames)
	}

	_, err = http.Get(cp.URL + "/healthz")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("a client without the CA: %v, want an unknown authority", err)
	}
	plain, err := http.Get(strings.Replace(cp.URL, "https://", "http://", 1) + "/healthz")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP answered %d, want 400 from the TLS server", plain.StatusCode)
		}
	}
}

// TestCLIVerifiesServer runs the CLI against a control plane: with its CA
// file it works, without it or with another CA it refuses, and `dbplane
// login` saves the CA beside the token so that later commands need no
// flag.
func TestCLIVerifiesServer(t *testing.T) {
	cp := mustRunControlPlane(t)
	vars := func(extra ...string) map[string]string {
		m := map[string]string{"DBPLANE_SERVER": cp.URL, "XDG_CONFIG_HOME": t.TempDir(), "HOME": t.TempDir()}
		for i := 0; i < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	r := runHTTPEnv(t, vars("DBPLANE_CA_FILE", cp.CAFile, "DBPLANE_PASSWORD", testAdminPassword), "", "cluster", "list")
	r.check(t, exitOK)

	r = runHTTPEnv(t, vars("DBPLANE_PASSWORD", testAdminPassword), "", "cluster", "list")
	r.check(t, exitError)
	if !strings.Contains(r.stderr, "certificate signed by unknown authority") {
		t.Errorf("stderr = %q, want the verification failure", r.stderr)
	}
	other, err := pki.NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(otherFile, other.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	runHTTPEnv(t, vars("DBPLANE_CA_FILE", otherFile, "DBPLANE_PASSWORD", testAdminPassword), "", "cluster", "list").check(t, exitError)
	r = runHTTPEnv(t, vars("DBPLANE_CA_FILE", filepath.Join(t.TempDir(), "missing.pem")), "", "cluster", "list")
	if r.check(t, exitUsage); !strings.Contains(r.stderr, "DBPLANE_CA_FILE") {
		t.Errorf("stderr = %q, want the unreadable CA file named", r.stderr)
	}

	t.Run("LoginSavesTheCA", func(t *testing.T) {
		home := t.TempDir()
		r := runHTTPEnv(t, map[string]string{"DBPLANE_SERVER": cp.URL, "XDG_CONFIG_HOME": home, "HOME": home,
			"DBPLANE_CA_FILE": cp.CAFile}, testAdminPassword+"\n", "login", "--password-stdin")
		r.check(t, exitOK)
		saved, err := os.ReadFile(filepath.Join(home, "dbplane", "ca.pem"))
		if err != nil || !bytes.Equal(saved, cp.ca.CertPEM()) {
			t.Fatalf("saved CA = %q, %v; want the control plane's", saved, err)
		}
		later := map[string]string{"DBPLANE_SERVER": cp.URL, "XDG_CONFIG_HOME": home, "HOME": home}
		runHTTPEnv(t, later, "", "cluster", "list").check(t, exitOK)

		r = runHTTPEnv(t, later, "", "host", "join-token", "create")
		r.check(t, exitOK)
		m := regexp.MustCompile(`--ca-sha256 ([0-9a-f]{64}) `).FindStringSubmatch(r.stderr)
		if m == nil || m[1] != cp.CAFingerprint {
			t.Fatalf("stderr = %q, want the join command pinning %s", r.stderr, cp.CAFingerprint)
		}
		// The printed command joins: the agent pins the CA it names.
		facts := dbplane.HostFacts{Hostname: "pinned", Address: "127.0.0.1", OS: "linux", Arch: "amd64", CPUs: 1, MemoryMB: 512, DiskGB: 10}
		token := strings.TrimSpace(r.stdout)
		if _, err := agent.Join(t.Context(), apiJoiner, cp.URL, token, agent.JoinTrust{CASHA256: m[1]}, facts, 7070, t.TempDir()); err != nil {
			t.Fatalf("joining with the printed fingerprint: %v", err)
		}
	})
}

// TestAgentJoinPinsTheCA: an agent joins a control plane whose CA it pins;
// with a wrong pin, or none, it refuses and sends nothing.
func TestAgentJoinPinsTheCA(t *testing.T) {
	cp := mustRunControlPlane(t)
	ctx := context.Background()
	tok, err := cp.hosts.CreateJoinToken(service.SystemContext(ctx), 0)
	if err != nil {
		t.Fatal(err)
	}
	facts := dbplane.HostFacts{Hostname: "db1", Address: "127.0.0.1", OS: "linux", Arch: "amd64", CPUs: 1, MemoryMB: 512, DiskGB: 10}
	rogue, err := pki.NewCA("rogue CA")
	if err != nil {
		t.Fatal(err)
	}
	for name, trust := range map[string]agent.JoinTrust{
		"WrongPin": {CASHA256: pki.Fingerprint(rogue.Cert)},
		"NoPin":    {},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := agent.Join(ctx, apiJoiner, cp.URL, tok.Secret, trust, facts, 7070, t.TempDir()); err == nil {
				t.Fatal("joined")
			}
		})
	}
	id, err := agent.Join(ctx, apiJoiner, cp.URL, tok.Secret, agent.JoinTrust{CASHA256: cp.CAFingerprint}, facts, 7070, t.TempDir())
	if err != nil {
		t.Fatalf("the right pin (after refused joins that must not have used the token): %v", err)
	}
	if _, err := cp.db.FindHostByID(ctx, id); err != nil {
		t.Fatal(err)
	}
}

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

// TestServeConfiguredCert: with tls_cert_file and tls_key_file the API
// serves that certificate, not one of its own CA.
func TestServeConfiguredCert(t *testing.T) {
	operator, err := pki.NewCA("operator CA")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := mustCertFiles(t, operator, t.TempDir())
	cp := mustRunControlPlaneWith(t, func(c *Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile })
	opFile := filepath.Join(t.TempDir(), "operator.pem")
	if err := os.WriteFile(opFile, operator.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := mustTLSClient(t, opFile).Get(cp.URL + "/healthz")
	if err != nil {
		t.Fatalf("a client trusting the operator's CA is refused: %v", err)
	}
	resp.Body.Close()
	if got := resp.TLS.PeerCertificates[0].DNSNames; !slices.Equal(got, []string{"api.example"}) {
		t.Fatalf("served a certificate for %v, want the configured one", got)
	}
	if _, err := mustTLSClient(t, cp.CAFile).Get(cp.URL + "/healthz"); err == nil {
		t.Fatal("the control plane's own CA verifies the configured certificate")
	}
}
