package agent_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent"
	"github.com/dbplane/dbplane/agent/wire"
	"github.com/dbplane/dbplane/agentclient"
	"github.com/dbplane/dbplane/pkgfile"
	"github.com/dbplane/dbplane/pki"
)

type fakeHostLister struct{ hosts []*dbplane.Host }

func (f *fakeHostLister) FindHosts(_ context.Context, fl dbplane.HostFilter) ([]*dbplane.Host, int, error) {
	from := min(fl.Offset, len(f.hosts))
	return f.hosts[from:], len(f.hosts), nil
}

// fakePackageStore knows packages by digest.
type fakePackageStore struct {
	dbplane.SoftwarePackageStore
	pkgs []*dbplane.SoftwarePackage
}

func (f *fakePackageStore) FindSoftwarePackages(_ context.Context, fl dbplane.SoftwarePackageFilter) ([]*dbplane.SoftwarePackage, int, error) {
	var out []*dbplane.SoftwarePackage
	for _, p := range f.pkgs {
		if fl.SHA256 == nil || *fl.SHA256 == p.SHA256 {
			out = append(out, p)
		}
	}
	return out, len(out), nil
}

// packageServerFixture is a control plane's package route over TLS that
// asks for client certificates of its CA, as cmd/dbplane serves it.
type packageServerFixture struct {
	ca      *pki.CA
	hosts   *fakeHostLister
	srv     *httptest.Server
	content []byte
	file    dbplane.PackageFile
}

func newPackageServerFixture(t *testing.T) *packageServerFixture {
	t.Helper()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := pkgfile.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("pretend this is a .deb")
	blob, err := dir.Put(strings.NewReader(string(content)), 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &dbplane.SoftwarePackage{ID: 1, FileName: "probe_1.0_all.deb", Format: dbplane.PackageDeb, Name: "probe",
		Version: "1.0", Architecture: "all", Size: blob.Size, SHA256: blob.SHA256}
	f := &packageServerFixture{ca: ca, content: content, file: p.File(),
		hosts: &fakeHostLister{hosts: []*dbplane.Host{
			{ID: 3, Name: "other", Address: "10.0.0.3", Status: dbplane.HostOnline, CreatedAt: time.Now()},
			{ID: 4, Name: "db1", Address: "127.0.0.1", Status: dbplane.HostOnline, CreatedAt: time.Now()},
		}}}
	mux := http.NewServeMux()
	mux.Handle("GET "+wire.PackagesPath+"{sha256}", &agentclient.PackageServer{Hosts: f.hosts,
		Packages: &fakePackageStore{pkgs: []*dbplane.SoftwarePackage{p}}, Files: dir, Logger: testLogger(t)})
	f.srv = httptest.NewUnstartedServer(mux)
	serverCert, err := ca.IssueServerTLS(pki.APICN, []net.IP{loopback}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: ca.Pool(),
		ClientAuth: tls.VerifyClientCertIfGiven}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

// agentCert returns a certificate the CA signed for the agent of hostname
// at ip, as at join.
func (f *packageServerFixture) agentCert(t *testing.T, hostname string, ip net.IP) tls.Certificate {
	t.Helper()
	keyPEM, csrPEM, err := pki.NewKeyAndCSR(pki.AgentCN(hostname), []net.IP{ip})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := f.ca.SignCSR(csrPEM, []net.IP{ip}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// get fetches path presenting certs (none if empty) and returns the
// status, or 0 when the handshake failed.
func (f *packageServerFixture) get(t *testing.T, path string, certs ...tls.Certificate) (int, []byte) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.ca.Pool(), Certificates: certs}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(f.srv.URL + path)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func TestPackageServer(t *testing.T) {
	f := newPackageServerFixture(t)
	path := wire.PackagesPath + f.file.SHA256
	db1 := f.agentCert(t, "db1", loopback)

	t.Run("Agent", func(t *testing.T) {
		status, body := f.get(t, path, db1)
		if status != http.StatusOK || string(body) != string(f.content) {
			t.Fatalf("GET = %d %q, want 200 with the file", status, body)
		}
	})
	for _, tc := range []struct {
		name   string
		path   string
		certs  []tls.Certificate
		status int
	}{
		{"NoCertificate", path, nil, http.StatusUnauthorized},
		{"ControlPlaneCertificate", path, []tls.Certificate{mustControlPlaneCert(t, f.ca)}, http.StatusForbidden},
		{"UnknownHost", path, []tls.Certificate{f.agentCert(t, "db9", loopback)}, http.StatusForbidden},
		{"OtherAddress", path, []tls.Certificate{f.agentCert(t, "db1", net.IPv4(10, 0, 0, 9))}, http.StatusForbidden},
		// The server names its CA in its certificate request, so the
		// client keeps a certificate of another CA to itself.
		{"OtherCA", path, []tls.Certificate{newThrowawayCA(t, "other CA").issue(t, pki.AgentCN("db1"), clientAuth, loopback)}, http.StatusUnauthorized},
		{"UnknownDigest", wire.PackagesPath + strings.Repeat("0", 64), []tls.Certificate{db1}, http.StatusNotFound},
		{"BadDigest", wire.PackagesPath + "..%2f..%2fetc%2fpasswd", []tls.Certificate{db1}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := f.get(t, tc.path, tc.certs...); status != tc.status {
				t.Fatalf("GET = %d %s, want %d", status, body, tc.status)
			}
		})
	}
	t.Run("DeletedHost", func(t *testing.T) {
		f.hosts.hosts = f.hosts.hosts[:1]
		if status, body := f.get(t, path, db1); status != http.StatusForbidden {
			t.Fatalf("GET after the host was deleted = %d %s, want 403", status, body)
		}
	})
	t.Run("RejoinedHost", func(t *testing.T) {
		// A host of the same name and address, recorded after the old
		// certificate was issued: the old certificate is not its.
		f.hosts.hosts = append(f.hosts.hosts, &dbplane.Host{ID: 5, Name: "db1", Address: "127.0.0.1",
			Status: dbplane.HostOnline, CreatedAt: time.Now().Add(time.Hour)})
		if status, body := f.get(t, path, db1); status != http.StatusForbidden {
			t.Fatalf("GET with the old certificate = %d %s, want 403", status, body)
		}
	})
}

func mustControlPlaneCert(t *testing.T, ca *pki.CA) tls.Certificate {
	t.Helper()
	c, err := ca.IssueControlPlaneCert()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPackageSourceFetch(t *testing.T) {
	f := newPackageServerFixture(t)
	pool := x509.NewCertPool()
	pool.AddCert(f.ca.Cert)
	src := agent.NewPackageSource(f.srv.URL, f.agentCert(t, "db1", loopback), pool)
	dst := filepath.Join(t.TempDir(), "pkg.deb")

	t.Run("Verified", func(t *testing.T) {
		if err := src.FetchForTest(ctx(t), f.file, dst); err != nil {
			t.Fatalf("fetch: %v", err)
		}
		got, err := os.ReadFile(dst)
		if err != nil || string(got) != string(f.content) {
			t.Fatalf("fetched %q, %v", got, err)
		}
	})
	t.Run("DigestMismatch", func(t *testing.T) {
		// The control plane serves the file of the digest; a reference
		// whose size is wrong must not pass.
		bad := f.file
		bad.Size++
		if err := src.FetchForTest(ctx(t), bad, filepath.Join(t.TempDir(), "bad.deb")); dbplane.ErrorKind(err) != dbplane.KindUnavailable {
			t.Fatalf("fetch with a wrong size: %v, want KindUnavailable", err)
		}
	})
	t.Run("NotUploaded", func(t *testing.T) {
		missing := f.file
		sum := sha256.Sum256([]byte("other"))
		missing.SHA256 = hex.EncodeToString(sum[:])
		err := src.FetchForTest(ctx(t), missing, filepath.Join(t.TempDir(), "missing.deb"))
		if dbplane.ErrorKind(err) != dbplane.KindNotFound || !dbplane.IsPermanent(err) {
			t.Fatalf("fetch of a file not uploaded: %v, want a permanent KindNotFound", err)
		}
	})
}

// TestEnsurePackageFilesRefusesRPM checks that an .rpm on this (Debian)
// host fails for good, before anything is fetched.
func TestEnsurePackageFilesRefusesRPM(t *testing.T) {
	requireRoot(t)
	h := mustOpenHost(t, newHostConfig(t))
	err := h.EnsurePackageFiles(ctx(t), []dbplane.PackageFile{{FileName: "probe-1.0-1.noarch.rpm", Format: dbplane.PackageRPM,
		Name: "probe", Version: "1.0-1", SHA256: strings.Repeat("a", 64), Size: 10}})
	wantKind(t, err, dbplane.KindInvalid, true, "RPM package")
}
