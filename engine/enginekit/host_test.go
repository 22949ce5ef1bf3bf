package enginekit

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

// testStep returns a step on node 0 of a cluster with one node on host 1,
// and that host's agent.
func testStep(t *testing.T) (*Step, *enginetest.Agent) {
	t.Helper()
	a := enginetest.NewAgent(1)
	c := &dbplane.Cluster{ID: 7, Name: "solo", Spec: dbplane.ClusterSpec{VolumeGB: 10},
		Nodes: []dbplane.Node{{Ordinal: 0, HostID: 1, Address: "10.0.0.1", Port: 5432, DataDir: "/data/pg/solo-0"}}}
	n, err := NodeOf(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	cat := dbplane.Catalog{Engines: []dbplane.EngineVersion{{Engine: "db", Version: "1", Packages: []string{"db-server"}, Default: true}}}
	d := Deps{Store: &enginetest.Store{TaskID: 1, Cluster: c}, Dialer: enginetest.Dialer{1: a}, Catalog: cat}
	log := &enginetest.Log{}
	return &Step{Deps: d, Cluster: c, Node: n, TaskID: 1, Logf: log.Logf}, a
}

// testHost is a node of an engine "db" on its host.
func testHost() Host {
	return Host{Engine: "db", Product: "DB", Version: "1", User: "db", InstanceID: "db-7-0",
		Socket: "/data/pg/solo-0.d/db.sock", Ports: []int{5432, 6432}, Mode: 0o700,
		Dirs: []string{"/data/pg/solo-0.d/conf"}, Cert: "/c", Key: "/k", CA: "/ca"}
}

func TestPrecheck(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		setup   func(h *Host, a *enginetest.Agent)
		kind    dbplane.Kind // 0: no error
		message string
	}{
		{name: "Free", setup: func(*Host, *enginetest.Agent) {}},
		{name: "PortTaken", setup: func(_ *Host, a *enginetest.Agent) { a.SS = "LISTEN 0 128 10.0.0.1:6432 0.0.0.0:*\n" },
			kind: dbplane.KindConflict, message: "port 6432 at 10.0.0.1:6432"},
		{name: "EveryPortTaken", setup: func(_ *Host, a *enginetest.Agent) { a.SS = "LISTEN 0 128 *:5432 *:*\nLISTEN 0 128 [::]:6432 [::]:*\n" },
			kind: dbplane.KindConflict, message: "port 5432 at *:5432, port 6432 at [::]:6432"},
		{name: "TakenByTheNodeItself", setup: func(_ *Host, a *enginetest.Agent) {
			a.SS, a.Running["db-7-0"] = "LISTEN 0 128 10.0.0.1:5432 0.0.0.0:*\n", true
		}},
		{name: "PortAboveMax", setup: func(h *Host, _ *enginetest.Agent) { h.Ports = []int{5432, 70000} },
			kind: dbplane.KindInvalid, message: "above 65535"},
		{name: "SocketPathTooLong", setup: func(h *Host, _ *enginetest.Agent) { h.Socket = "/" + strings.Repeat("s", MaxSocketPath) },
			kind: dbplane.KindInvalid, message: "socket path"},
		{name: "NoSocket", setup: func(h *Host, _ *enginetest.Agent) { h.Socket = "" }},
		{name: "NoDisk", setup: func(_ *Host, a *enginetest.Agent) { a.DiskGB = 1 },
			kind: dbplane.KindUnplaceable, message: "needs 10 GB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, a := testStep(t)
			h := testHost()
			tc.setup(&h, a)
			err := h.Precheck(ctx, s)
			switch {
			case tc.kind == 0 && err != nil:
				t.Fatalf("precheck: %v", err)
			case tc.kind != 0 && (!dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != tc.kind || !strings.Contains(err.Error(), tc.message)):
				t.Fatalf("precheck: %v; want a permanent %s error about %q", err, tc.kind, tc.message)
			}
		})
	}
}

func TestHostSteps(t *testing.T) {
	ctx := context.Background()
	s, a := testStep(t)
	h := testHost()
	h.Packages = []string{"socat", "db-server"}
	if err := h.Install(ctx, s); err != nil {
		t.Fatal(err)
	}
	if want := []string{"db-server", "socat"}; len(a.Packages) != 1 || !slices.Equal(a.Packages[0], want) {
		t.Errorf("packages %v, want %v once", a.Packages, want)
	}
	if err := h.Prepare(ctx, s); err != nil {
		t.Fatal(err)
	}
	want := []string{"EnsureUser db", "EnsureDir /data/pg db 755", "EnsureDir /data/pg/solo-0 db 700",
		"EnsureDir /data/pg/solo-0.d db 700", "EnsureDir /data/pg/solo-0.d/conf db 700"}
	if got := a.Calls[len(a.Calls)-len(want):]; !slices.Equal(got, want) {
		t.Errorf("prepare: calls %q, want %q", got, want)
	}
	a.Running["db-7-0"] = true
	if err := h.Stop(ctx, s); err != nil {
		t.Fatal(err)
	}
	if a.Running["db-7-0"] {
		t.Error("stop left the node running")
	}
	if err := h.Stop(ctx, s); err != nil {
		t.Errorf("stopping a stopped node: %v", err)
	}
	if err := h.Remove(ctx, s); err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"/data/pg/solo-0", "/data/pg/solo-0.d"}}; !slices.EqualFunc(a.Removed, want, slices.Equal) {
		t.Errorf("removed %v, want %v", a.Removed, want)
	}
}

func TestInstallUnknownVersion(t *testing.T) {
	s, _ := testStep(t)
	h := testHost()
	h.Version = "9"
	if err := h.Install(context.Background(), s); !dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != dbplane.KindInvalid {
		t.Fatalf("install: %v; want a permanent invalid error", err)
	}
}

func TestUnreachableAgent(t *testing.T) {
	s, _ := testStep(t)
	s.Deps.Dialer = enginetest.Dialer{}
	for name, fn := range hostSteps {
		if err := fn(testHost(), context.Background(), s); dbplane.ErrorKind(err) != dbplane.KindNotFound {
			if name == StepTLS && err == nil {
				continue // SSL is off: no agent needed
			}
			t.Errorf("%s: %v; want the dialer's not found error", name, err)
		}
	}
}

// hostStep is an engine's step as the kit sees it.
type hostStep struct {
	*Step
	host Host
}

func (s *hostStep) Host() Host { return s.host }

func TestHostHandlers(t *testing.T) {
	own := func(context.Context, *hostStep) error { return errors.New("own") }
	handlers := HostHandlers("db", map[string]func(context.Context, *hostStep) error{"db.init": own})
	var names []string
	for name := range handlers {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{"db.init", "db.install_packages", "db.precheck_host", "db.prepare_directories", "db.remove_node", "db.stop_node", "db.write_tls"}
	if !slices.Equal(names, want) {
		t.Fatalf("handlers %v, want %v", names, want)
	}
	k, a := testStep(t)
	if err := handlers["db.remove_node"](context.Background(), &hostStep{Step: k, host: testHost()}); err != nil {
		t.Fatal(err)
	}
	if len(a.Removed) != 1 {
		t.Errorf("the remove handler removed %v", a.Removed)
	}
}

func TestLayout(t *testing.T) {
	n := dbplane.Node{ClusterID: 7, Ordinal: 2, DataDir: "/data/r/c-2"}
	if got := Home(n); got != "/data/r/c-2.d" {
		t.Errorf("Home = %q", got)
	}
	if got := NodePaths(n); !slices.Equal(got, []string{"/data/r/c-2", "/data/r/c-2.d"}) {
		t.Errorf("NodePaths = %q", got)
	}
	if got := InstanceID("redis", n); got != "redis-7-2" {
		t.Errorf("InstanceID = %q", got)
	}
	for host, want := range map[string]string{"10.0.0.1": "10.0.0.1:6379", "fd00::1": "[fd00::1]:6379", "db.example": "db.example:6379"} {
		if got := JoinHostPort(host, 6379); got != want {
			t.Errorf("JoinHostPort(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestPortTaken(t *testing.T) {
	ss := "LISTEN 0 128 10.0.0.2:5432 0.0.0.0:*\nLISTEN 0 128 [::ffff:10.0.0.1]:6432 [::]:*\nLISTEN 0 128 [fe80::1%eth0]:7432 [::]:*\n"
	for _, tc := range []struct {
		port int
		want string
	}{{5432, ""}, {6432, "[::ffff:10.0.0.1]:6432"}, {7432, ""}, {8432, ""}} {
		got, busy := PortTaken(ss, "10.0.0.1", tc.port)
		if got != tc.want || busy != (tc.want != "") {
			t.Errorf("port %d: %q, %v; want %q", tc.port, got, busy, tc.want)
		}
	}
}
