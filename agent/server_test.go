package agent_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent"
	"github.com/dbplane/dbplane/agentclient"
	"github.com/dbplane/dbplane/pki"
)

// agentServer is an agent's API served on a loopback port for one test.
type agentServer struct {
	url  string
	addr string
	ca   *throwawayCA
}

// startServer serves host over mTLS with a certificate of a fresh CA.
func startServer(t *testing.T, host dbplane.HostAgent) *agentServer {
	t.Helper()
	return serveWithCert(t, host, newThrowawayCA(t, "dbplane test CA"), pki.AgentCN("test-host"))
}

// serveWithCert serves host over mTLS with a certificate of ca named cn.
func serveWithCert(t *testing.T, host dbplane.HostAgent, ca *throwawayCA, cn string) *agentServer {
	t.Helper()
	cert := ca.issue(t, cn, serverAuth, loopback)
	srv := agent.NewServer(host, agent.ServerTLSConfig(cert, ca.pool), testLogger(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(c)
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &agentServer{url: "https://" + ln.Addr().String(), addr: ln.Addr().String(), ca: ca}
}

// controlPlane returns a client with the control plane's certificate.
func (s *agentServer) controlPlane(t *testing.T) *agentclient.Client {
	cert := s.ca.issue(t, agent.ControlPlaneCN, clientAuth)
	c := agentclient.NewClient(s.url, agentclient.ClientTLSConfig(cert, s.ca.pool))
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// fakeHost counts the calls that reach it; only Facts is implemented.
type fakeHost struct {
	dbplane.HostAgent
	calls atomic.Int32
	err   error
}

func (f *fakeHost) Facts(ctx context.Context) (dbplane.HostFacts, error) {
	f.calls.Add(1)
	return dbplane.HostFacts{Hostname: "fake"}, f.err
}

func TestServerRefuses(t *testing.T) {
	host := &fakeHost{}
	srv := startServer(t, host)
	other := newThrowawayCA(t, "another CA")

	for _, tc := range []struct {
		name string
		cfg  func() *tls.Config
	}{
		{"OtherCA", func() *tls.Config {
			c := agentclient.ClientTLSConfig(other.issue(t, agent.ControlPlaneCN, clientAuth), srv.ca.pool)
			// Present it even though the server names another CA, as an
			// attacker would: the server must verify, not the client.
			cert := c.Certificates[0]
			c.Certificates = nil
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
			return c
		}},
		{"AgentCertificate", func() *tls.Config {
			usage := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
			return agentclient.ClientTLSConfig(srv.ca.issue(t, "127.0.0.2", usage, net.IPv4(127, 0, 0, 2)), srv.ca.pool)
		}},
		{"NotForClientAuth", func() *tls.Config {
			return agentclient.ClientTLSConfig(srv.ca.issue(t, agent.ControlPlaneCN, serverAuth), srv.ca.pool)
		}},
		{"NoExtKeyUsage", func() *tls.Config {
			return agentclient.ClientTLSConfig(srv.ca.issue(t, agent.ControlPlaneCN, nil), srv.ca.pool)
		}},
		{"NoClientCertificate", func() *tls.Config {
			return &tls.Config{RootCAs: srv.ca.pool, MinVersion: tls.VersionTLS13}
		}},
		{"TLS12", func() *tls.Config {
			c := agentclient.ClientTLSConfig(srv.ca.issue(t, agent.ControlPlaneCN, clientAuth), srv.ca.pool)
			c.MinVersion, c.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := agentclient.NewClient(srv.url, tc.cfg())
			defer c.CloseIdleConnections()
			_, err := c.Facts(ctx(t))
			wantKind(t, err, dbplane.KindUnavailable, false, "cannot be reached")
			if err := c.Health(ctx(t)); err == nil {
				t.Fatal("Health succeeded")
			}
		})
	}
	t.Run("PlainHTTP", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, "http://"+srv.addr+"/agent/v1/facts", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("plain HTTP answered %s, want 400", resp.Status)
			}
		}
	})
	t.Run("ImpostorAgent", func(t *testing.T) {
		// The control plane refuses an agent whose certificate its CA did
		// not sign: mTLS holds both ways.
		impostor := startServer(t, &fakeHost{})
		cert := srv.ca.issue(t, agent.ControlPlaneCN, clientAuth)
		c := agentclient.NewClient(impostor.url, agentclient.ClientTLSConfig(cert, srv.ca.pool))
		_, err := c.Facts(ctx(t))
		wantKind(t, err, dbplane.KindUnavailable, false, "cannot be reached")
	})
	t.Run("DatabaseServerAsAgent", func(t *testing.T) {
		// The CA also signs database servers' certificates for the same
		// addresses; one of them must not pass for the host's agent.
		db := serveWithCert(t, &fakeHost{}, srv.ca, "orders-db")
		cert := srv.ca.issue(t, agent.ControlPlaneCN, clientAuth)
		c := agentclient.NewClient(db.url, agentclient.ClientTLSConfig(cert, srv.ca.pool))
		_, err := c.Facts(ctx(t))
		wantKind(t, err, dbplane.KindUnavailable, false, "cannot be reached")
	})
	if n := host.calls.Load(); n != 0 {
		t.Fatalf("%d refused calls reached the host", n)
	}
	t.Run("ControlPlane", func(t *testing.T) {
		f, err := srv.controlPlane(t).Facts(ctx(t))
		if err != nil || f.Hostname != "fake" {
			t.Fatalf("Facts = %+v, %v", f, err)
		}
	})
}

func TestServerErrors(t *testing.T) {
	host := &fakeHost{err: fmt.Errorf("while reading /etc/secret: %w", os.ErrPermission)}
	srv := startServer(t, host)
	c := srv.controlPlane(t)

	t.Run("InternalDoesNotLeak", func(t *testing.T) {
		_, err := c.Facts(ctx(t))
		wantKind(t, err, dbplane.KindInternal, false, "internal error")
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("the cause leaked: %v", err)
		}
	})

	// raw sends a request the typed client would not.
	raw := func(t *testing.T, path, contentType, body string) (int, string) {
		t.Helper()
		cert := srv.ca.issue(t, agent.ControlPlaneCN, clientAuth)
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: agentclient.ClientTLSConfig(cert, srv.ca.pool)}}
		defer hc.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, srv.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, path, contentType, body string
		status                        int
		want                          string
	}{
		{"UnknownField", "/agent/v1/ensure-user", "application/json", `{"nme":"x"}`, 400, `"code":"invalid"`},
		{"TwoValues", "/agent/v1/ensure-user", "application/json", `{} {}`, 400, `"permanent":true`},
		{"NotJSON", "/agent/v1/ensure-user", "text/plain", `{}`, 415, `"code":"unsupported_media_type"`},
		{"BadMode", "/agent/v1/ensure-dir", "application/json", `{"mode":"0755"}`, 400, `"code":"invalid"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := raw(t, tc.path, tc.contentType, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("answer %d %s, want %d and %s", status, body, tc.status, tc.want)
			}
		})
	}
}

// TestClient drives a real host through the API, every operation.
func TestClient(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	host := mustOpenHost(t, cfg)
	c := startServer(t, host).controlPlane(t)
	var _ dbplane.HostAgent = c

	t.Run("Health", func(t *testing.T) {
		if err := c.Health(ctx(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Facts", func(t *testing.T) {
		f, err := c.Facts(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		hostname, _ := os.Hostname()
		if f.Hostname != hostname || f.Address != "127.0.0.1" || f.Arch != runtime.GOARCH || f.CPUs != runtime.NumCPU() ||
			f.MemoryMB <= 0 || f.DiskGB < 0 || f.OS == "" || f.Region != "r1" || f.Zone != "z1" || f.Rack != "k1" || f.DataRoot != cfg.DataRoot {
			t.Fatalf("facts = %+v", f)
		}
	})
	t.Run("EnsurePackages", func(t *testing.T) {
		if err := c.EnsurePackages(ctx(t), []string{"coreutils"}); err != nil {
			t.Fatal(err)
		}
		wantKind(t, c.EnsurePackages(ctx(t), []string{"Bad name"}), dbplane.KindInvalid, true, "packages[0]")
	})
	t.Run("EnsureUser", func(t *testing.T) {
		if err := c.EnsureUser(ctx(t), "nobody"); err != nil {
			t.Fatal(err)
		}
	})
	dir := filepath.Join(cfg.DataRoot, "inst")
	t.Run("EnsureDir", func(t *testing.T) {
		if err := c.EnsureDir(ctx(t), dir, "nobody", 0o750); err != nil {
			t.Fatal(err)
		}
		if _, _, mode := owner(t, dir); mode.Perm() != 0o750 {
			t.Fatalf("mode = %v", mode)
		}
		err := c.EnsureDir(ctx(t), "/etc/x", "nobody", 0o750)
		wantKind(t, err, dbplane.KindInvalid, true, "must lie inside")
		if f := dbplane.ErrorFields(err); len(f) != 1 || f[0].Field != "path" {
			t.Fatalf("fields = %v, want path", f)
		}
	})
	t.Run("WriteFile", func(t *testing.T) {
		path := filepath.Join(dir, "f.conf")
		if err := c.WriteFile(ctx(t), dbplane.File{Path: path, Owner: "nobody", Mode: 0o640, Content: []byte("a = 1\n")}); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != "a = 1\n" {
			t.Fatalf("content = %q", b)
		}
	})
	t.Run("Run", func(t *testing.T) {
		res, err := c.Run(ctx(t), dbplane.Command{User: "nobody", Argv: []string{"sh", "-c", "whoami; cat; exit 4"}, Stdin: []byte("in\n")})
		if err != nil || res.ExitCode != 4 || res.Stdout != "nobody\nin\n" {
			t.Fatalf("Run = %+v, %v", res, err)
		}
		_, err = c.Run(ctx(t), dbplane.Command{User: "nobody", Argv: []string{"sleep", "10"}, Timeout: 200 * time.Millisecond})
		wantKind(t, err, dbplane.KindUnavailable, false, "timed out")
	})
	t.Run("Instances", func(t *testing.T) {
		inst := sleeper(cfg, "sleep-api")
		st := mustStart(t, c, inst)
		other := inst
		other.Argv = []string{"/bin/sleep", "1"}
		wantKind(t, c.StartInstance(ctx(t), other), dbplane.KindConflict, true, "different spec")
		if err := c.StopInstance(ctx(t), inst.ID); err != nil {
			t.Fatal(err)
		}
		if got := mustStatus(t, c, inst.ID); got.Running || !gone(st.PID) {
			t.Fatalf("status after stop = %+v", got)
		}
		if err := c.RemoveInstance(ctx(t), inst.ID, []string{dir, inst.Log}); err != nil {
			t.Fatal(err)
		}
		_, err := c.InstanceStatus(ctx(t), inst.ID)
		wantKind(t, err, dbplane.KindNotFound, true, "not known")
		wantKind(t, c.RemoveInstance(ctx(t), inst.ID, []string{"/"}), dbplane.KindInvalid, true, "paths[0]")
	})
}

// hostFinder is a fixed set of hosts.
type hostFinder map[int64]*dbplane.Host

func (f hostFinder) FindHostByID(ctx context.Context, id int64) (*dbplane.Host, error) {
	if h, ok := f[id]; ok {
		return h, nil
	}
	return nil, dbplane.Errorf(dbplane.KindNotFound, "host %d not found", id)
}

func TestDialer(t *testing.T) {
	srv := startServer(t, &fakeHost{})
	addr := srv.addr[:strings.LastIndexByte(srv.addr, ':')]
	var port int
	fmt.Sscanf(srv.addr[len(addr)+1:], "%d", &port)
	hosts := hostFinder{
		1: {ID: 1, Address: addr, AgentPort: port},
		2: {ID: 2, Address: addr},
	}
	cert := srv.ca.issue(t, agent.ControlPlaneCN, clientAuth)
	d := agentclient.NewDialer(hosts, agentclient.ClientTLSConfig(cert, srv.ca.pool))
	defer d.Close()
	var _ dbplane.AgentDialer = d

	a, err := d.Agent(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := a.Facts(ctx(t)); err != nil || f.Hostname != "fake" {
		t.Fatalf("Facts = %+v, %v", f, err)
	}
	if again, _ := d.Agent(ctx(t), 1); again != a {
		t.Fatal("the client was not cached")
	}
	_, err = d.Agent(ctx(t), 3)
	wantKind(t, err, dbplane.KindNotFound, true, "not found")
	_, err = d.Agent(ctx(t), 2)
	wantKind(t, err, dbplane.KindUnavailable, false, "no agent address")

	hosts[1].AgentPort = port + 1 // the agent moved: a new client
	if moved, _ := d.Agent(ctx(t), 1); moved == a {
		t.Fatal("the client of the old address was reused")
	}
}

// TestServerHardensLaxConfig: a configuration that forgot to require
// client certificates still gets them required.
func TestServerHardensLaxConfig(t *testing.T) {
	ca := newThrowawayCA(t, "dbplane test CA")
	lax := &tls.Config{Certificates: []tls.Certificate{ca.issue(t, pki.AgentCN("test-host"), serverAuth, loopback)}, ClientCAs: ca.pool, ClientAuth: tls.NoClientCert}
	srv := agent.NewServer(&fakeHost{}, lax, testLogger(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	url := "https://" + ln.Addr().String()

	anon := agentclient.NewClient(url, &tls.Config{RootCAs: ca.pool})
	wantKind(t, anon.Health(ctx(t)), dbplane.KindUnavailable, false, "cannot be reached")
	cp := agentclient.NewClient(url, agentclient.ClientTLSConfig(ca.issue(t, agent.ControlPlaneCN, clientAuth), ca.pool))
	if err := cp.Health(ctx(t)); err != nil {
		t.Fatal(err)
	}
	cp.CloseIdleConnections()
}

// The agent checks the name the control plane's CA gives the control
// plane's certificate: the two constants must not drift apart.
func TestControlPlaneCNMatchesPKI(t *testing.T) {
	if agent.ControlPlaneCN != pki.ControlPlaneCN {
		t.Fatalf("agent.ControlPlaneCN = %q, pki.ControlPlaneCN = %q", agent.ControlPlaneCN, pki.ControlPlaneCN)
	}
}
