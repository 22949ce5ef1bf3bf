package agent_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// freePort returns a TCP port free on 127.0.0.1 at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestPostgres runs a real PostgreSQL through the agent the way the
// engine does: initdb as postgres, a supervised postmaster, readiness,
// re-adoption by a restarted agent, a fast shutdown, removal.
func TestPostgres(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat(filepath.Join(pgBin, "postgres")); err != nil {
		t.Skip("PostgreSQL 15 is not installed")
	}
	cfg := newHostConfig(t)
	h1, err := agent.NewHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h1.Close() })
	base := filepath.Join(cfg.DataRoot, "pg-1")
	data, sockets := filepath.Join(base, "data"), filepath.Join(base, "run")
	for _, d := range []struct {
		path string
		mode uint32
	}{{base, 0o755}, {data, 0o700}, {sockets, 0o755}} {
		if err := h1.EnsureDir(ctx(t), d.path, "postgres", d.mode); err != nil {
			t.Fatal(err)
		}
	}
	res, err := h1.Run(ctx(t), dbplane.Command{User: "postgres", Timeout: time.Minute,
		Argv: []string{pgBin + "/initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("initdb: %v %+v", err, res)
	}
	port := strconv.Itoa(freePort(t))
	inst := dbplane.Instance{
		ID:      "pg-1",
		User:    "postgres",
		Argv:    []string{pgBin + "/postgres", "-D", data, "-k", sockets, "-p", port, "-h", "127.0.0.1", "-c", "fsync=off"},
		PIDFile: filepath.Join(data, "postmaster.pid"),
		Log:     filepath.Join(base, "postgres.log"),
	}
	st := mustStart(t, h1, inst)

	query := func(h *agent.Host) string {
		t.Helper()
		res, err := h.Run(ctx(t), dbplane.Command{User: "postgres", Timeout: 10 * time.Second,
			Argv: []string{pgBin + "/psql", "-h", "127.0.0.1", "-p", port, "-Atc", "select current_user"}})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("psql: %v %+v", err, res)
		}
		return strings.TrimSpace(res.Stdout)
	}
	eventually(t, 30*time.Second, "pg_isready", func() bool {
		res, err := h1.Run(ctx(t), dbplane.Command{User: "postgres", Argv: []string{pgBin + "/pg_isready", "-h", "127.0.0.1", "-p", port}})
		return err == nil && res.ExitCode == 0
	})
	if got := query(h1); got != "postgres" {
		t.Fatalf("current_user = %q, want postgres", got)
	}

	// The agent restarts; the database does not notice.
	h1.Close()
	h2 := mustOpenHost(t, cfg)
	if got := mustStatus(t, h2, inst.ID); !got.Running || got.PID != st.PID {
		t.Fatalf("status after the agent's restart = %+v, want pid %d", got, st.PID)
	}
	if got := query(h2); got != "postgres" {
		t.Fatalf("after the agent's restart, current_user = %q, want postgres", got)
	}

	start := time.Now()
	if err := h2.StopInstance(ctx(t), inst.ID); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("stopping took %v: SIGINT should be a fast shutdown", d)
	}
	if !gone(st.PID) {
		t.Fatal("the postmaster still runs")
	}
	if _, err := os.Stat(inst.PIDFile); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid left behind (%v): the shutdown was not clean", err)
	}
	if err := h2.RemoveInstance(ctx(t), inst.ID, []string{base}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Fatalf("%s left behind (%v)", base, err)
	}
}
