package agent_test

import (
	"context"
	"crypto/tls"
	"io"
	"log"
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
	"github.com/dbplane/dbplane/agentclient"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/sqlstore"
)

// joinControlPlane is a control plane's API on a SQLite store: enough for
// agents to join.
type joinControlPlane struct {
	url   string
	ca    *pki.CA
	hosts *service.Hosts
	trust agent.JoinTrust // pins ca
}

func newJoinControlPlane(t *testing.T) *joinControlPlane {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "dbplane.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	hosts := &service.Hosts{Store: db, CA: ca}
	srv := &httpapi.Server{Hosts: hosts, Auth: &service.Auth{Store: db}}
	ts := httptest.NewUnstartedServer(srv.Handler())
	cert, err := ca.IssueServerTLS(pki.APICN, []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	// Refused handshakes are what some tests are about, not news.
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return &joinControlPlane{url: ts.URL, ca: ca, hosts: hosts,
		trust: agent.JoinTrust{CASHA256: pki.Fingerprint(ca.Cert)}}
}

func (cp *joinControlPlane) mustToken(t *testing.T) string {
	t.Helper()
	tok, err := cp.hosts.CreateJoinToken(service.SystemContext(context.Background()), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Secret
}

// apiJoiner joins through the native API's client, as cmd/dbplane wires it.
func apiJoiner(controlPlaneURL string, hc *http.Client) agent.Joiner {
	c := httpapi.NewClient(controlPlaneURL)
	c.HTTPClient = hc
	return c
}

func joinFacts(address string) dbplane.HostFacts {
	return dbplane.HostFacts{Hostname: "db1", Address: address, OS: "linux", Arch: "amd64", CPUs: 2, MemoryMB: 1024,
		DiskGB: 10, Zone: "z1", DataRoot: "/srv/dbplane"}
}

func TestJoin(t *testing.T) {
	cp := newJoinControlPlane(t)
	stateDir := filepath.Join(t.TempDir(), "state")
	bg := service.SystemContext(context.Background())
	id, err := agent.Join(bg, apiJoiner, cp.url, cp.mustToken(t), cp.trust, joinFacts("127.0.0.11"), 7070, stateDir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := cp.hosts.FindHostByID(bg, id)
	if err != nil {
		t.Fatal(err)
	}
	if h.Address != "127.0.0.11" || h.AgentPort != 7070 || h.Zone != "z1" {
		t.Fatalf("registered host %+v", h)
	}
	for name, mode := range map[string]os.FileMode{"key.pem": 0o600, "cert.pem": 0o644, "ca.pem": 0o644, "host_id": 0o644} {
		st, err := os.Stat(filepath.Join(stateDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s has mode %#o, want %#o", name, st.Mode().Perm(), mode)
		}
	}

	cert, pool, gotID, err := agent.LoadIdentity(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if gotID != id {
		t.Fatalf("LoadIdentity host id %d, want %d", gotID, id)
	}
	if cn := cert.Leaf.Subject.CommonName; cn != "dbplane-agent-db1" {
		t.Fatalf("CN %q", cn)
	}
	if !pool.Equal(cp.ca.Pool()) {
		t.Fatal("the saved CA is not the control plane's")
	}

	t.Run("Restart", func(t *testing.T) {
		// No token and no reachable control plane: the saved identity is
		// used as is.
		again, err := agent.Join(bg, apiJoiner, "http://127.0.0.1:1", "", agent.JoinTrust{}, joinFacts("127.0.0.11"), 7070, stateDir)
		if err != nil || again != id {
			t.Fatalf("Join after a restart = %d, %v; want %d", again, err, id)
		}
	})
	t.Run("RestartOnAnotherAddress", func(t *testing.T) {
		_, err := agent.Join(bg, apiJoiner, "http://127.0.0.1:1", "", agent.JoinTrust{}, joinFacts("127.0.0.12"), 7070, stateDir)
		if dbplane.ErrorKind(err) != dbplane.KindInvalid || !strings.Contains(err.Error(), "is for 127.0.0.11, not 127.0.0.12") {
			t.Fatalf("err = %v, want a refusal naming both addresses", err)
		}
	})
}

func TestJoin_Refused(t *testing.T) {
	cp := newJoinControlPlane(t)
	bg := context.Background()
	for _, tt := range []struct {
		name  string
		token string
		kind  dbplane.Kind
	}{
		{"NoToken", "", dbplane.KindInvalid},
		{"WrongToken", "dbpj_wrong", dbplane.KindUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stateDir := filepath.Join(t.TempDir(), "state")
			_, err := agent.Join(bg, apiJoiner, cp.url, tt.token, cp.trust, joinFacts("127.0.0.11"), 7070, stateDir)
			if dbplane.ErrorKind(err) != tt.kind {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			if _, _, _, err := agent.LoadIdentity(stateDir); dbplane.ErrorKind(err) != dbplane.KindNotFound {
				t.Fatalf("LoadIdentity after a refused join: %v, want not found", err)
			}
		})
	}
	t.Run("ReusedToken", func(t *testing.T) {
		tok := cp.mustToken(t)
		if _, err := agent.Join(bg, apiJoiner, cp.url, tok, cp.trust, joinFacts("127.0.0.11"), 7070, t.TempDir()); err != nil {
			t.Fatal(err)
		}
		_, err := agent.Join(bg, apiJoiner, cp.url, tok, cp.trust, joinFacts("127.0.0.12"), 7070, t.TempDir())
		if dbplane.ErrorKind(err) != dbplane.KindUnauthorized || !strings.Contains(dbplane.ErrorMessage(err), "already used") {
			t.Fatalf("err = %v, want unauthorized: already used", err)
		}
	})
}

// TestJoin_Trust: an agent sends its token only to a control plane it
// verified. A refused control plane never sees the token, which then still
// works.
func TestJoin_Trust(t *testing.T) {
	cp := newJoinControlPlane(t)
	bg := context.Background()
	rogue, err := pki.NewCA("rogue CA")
	if err != nil {
		t.Fatal(err)
	}
	tok := cp.mustToken(t)
	for _, tt := range []struct {
		name    string
		url     string
		trust   agent.JoinTrust
		kind    dbplane.Kind
		message string
	}{
		{"WrongPin", cp.url, agent.JoinTrust{CASHA256: pki.Fingerprint(rogue.Cert)}, dbplane.KindUnavailable,
			"no CA of fingerprint " + pki.Fingerprint(rogue.Cert)},
		{"MalformedPin", cp.url, agent.JoinTrust{CASHA256: "12:34"}, dbplane.KindInvalid, "SHA-256 fingerprint"},
		{"NoPin", cp.url, agent.JoinTrust{}, dbplane.KindInvalid, "--ca-sha256"},
		{"PinAndCAFile", cp.url, agent.JoinTrust{CASHA256: pki.Fingerprint(cp.ca.Cert), CAPEM: cp.ca.CertPEM()},
			dbplane.KindInvalid, "give one of"},
		{"OtherCAFile", cp.url, agent.JoinTrust{CAPEM: rogue.CertPEM()}, dbplane.KindUnavailable, "certificate"},
		{"PlainHTTP", strings.Replace(cp.url, "https://", "http://", 1), agent.JoinTrust{InsecureSkipVerify: true},
			dbplane.KindInvalid, "https://"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stateDir := t.TempDir()
			_, err := agent.Join(bg, apiJoiner, tt.url, tok, tt.trust, joinFacts("127.0.0.11"), 7070, stateDir)
			if dbplane.ErrorKind(err) != tt.kind || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("err = %v (%v), want %v saying %q", err, dbplane.ErrorKind(err), tt.kind, tt.message)
			}
			if _, _, _, err := agent.LoadIdentity(stateDir); dbplane.ErrorKind(err) != dbplane.KindNotFound {
				t.Fatalf("LoadIdentity after a refused join: %v, want not found", err)
			}
		})
	}
	t.Run("CAFile", func(t *testing.T) {
		if _, err := agent.Join(bg, apiJoiner, cp.url, tok, agent.JoinTrust{CAPEM: cp.ca.CertPEM()}, joinFacts("127.0.0.11"), 7070, t.TempDir()); err != nil {
			t.Fatalf("the token refused after refused joins, or the CA file is: %v", err)
		}
	})
	t.Run("InsecureSkipVerify", func(t *testing.T) {
		insecure := agent.JoinTrust{InsecureSkipVerify: true}
		if _, err := agent.Join(bg, apiJoiner, cp.url, cp.mustToken(t), insecure, joinFacts("127.0.0.12"), 7070, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLoadIdentity_Incomplete(t *testing.T) {
	cp := newJoinControlPlane(t)
	stateDir := t.TempDir()
	if _, err := agent.Join(context.Background(), apiJoiner, cp.url, cp.mustToken(t), cp.trust, joinFacts("127.0.0.11"), 7070, stateDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(stateDir, "cert.pem")); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := agent.LoadIdentity(stateDir)
	if dbplane.ErrorKind(err) != dbplane.KindNotFound || !strings.Contains(dbplane.ErrorMessage(err), "cert.pem is missing") {
		t.Fatalf("err = %v, want not found naming cert.pem", err)
	}
}

// TestJoinedAgentMutualTLS serves an agent API with the identity Join
// saved: the control plane's certificate of the same CA is accepted, and a
// control-plane certificate of another CA, or another agent's certificate,
// is refused.
func TestJoinedAgentMutualTLS(t *testing.T) {
	cp := newJoinControlPlane(t)
	stateDir := t.TempDir()
	if _, err := agent.Join(context.Background(), apiJoiner, cp.url, cp.mustToken(t), cp.trust, joinFacts("127.0.0.1"), 7070, stateDir); err != nil {
		t.Fatal(err)
	}
	cert, pool, _, err := agent.LoadIdentity(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := agent.NewServer(tlsOnlyHost{}, agent.ServerTLSConfig(cert, pool), nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		<-done
	})
	url := "https://" + ln.Addr().String()
	health := func(c tls.Certificate) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return agentclient.NewClient(url, agentclient.ClientTLSConfig(c, cp.ca.Pool())).Health(ctx)
	}

	good, err := cp.ca.IssueControlPlaneCert()
	if err != nil {
		t.Fatal(err)
	}
	if err := health(good); err != nil {
		t.Fatalf("the control plane is refused: %v", err)
	}
	other, err := pki.NewCA("rogue CA")
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := other.IssueControlPlaneCert()
	if err != nil {
		t.Fatal(err)
	}
	if err := health(rogue); err == nil {
		t.Fatal("a certificate of another CA is accepted")
	}
	otherAgent := t.TempDir()
	if _, err := agent.Join(context.Background(), apiJoiner, cp.url, cp.mustToken(t), cp.trust, joinFacts("127.0.0.2"), 7070, otherAgent); err != nil {
		t.Fatal(err)
	}
	peer, _, _, err := agent.LoadIdentity(otherAgent)
	if err != nil {
		t.Fatal(err)
	}
	if err := health(peer); err == nil {
		t.Fatal("another agent's certificate is accepted")
	}
}

// tlsOnlyHost is a HostAgent for TLS tests: they reach only the health
// route, which calls none of its methods.
type tlsOnlyHost struct{ dbplane.HostAgent }
