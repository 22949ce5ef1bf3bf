package mysql

import (
	"context"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// initNode creates the node's system tables with mariadb-install-db: root
// authenticates only with unix_socket (no password exists for it), and no
// test database. A directory the tool finished is left alone; one it left
// half-written (the agent or the host died under it) is emptied and
// initialised again, and so is one that lost its content after the marker
// was written. A galera member's tables are replaced by the state transfer
// when it joins; it needs them to start at all.
func (e *Engine) initNode(ctx context.Context, s *step) error {
	n := s.n
	// No --user: the tool runs as mysql already, and with it the tool tries
	// (and, not being root, fails) to chown the PAM plugin's helper.
	cmd := asMySQL(n, installDB, "--no-defaults", "--datadir="+n.DataDir, "--tmpdir="+n.tmpDir(),
		"--auth-root-authentication-method=socket", "--skip-test-db")
	return s.Host().Init(ctx, s.Step, cmd, n.initMarker(), n.dataFile("mysql"))
}

// configure writes the node's my.cnf, 0600: for galera it names the
// cluster's members, and the state transfer credentials beside it are
// secret.
func (e *Engine) configure(ctx context.Context, s *step) error {
	n := s.n
	size, err := e.size(s)
	if err != nil {
		return err
	}
	conf, err := renderConf(n, e.version(s.Cluster), size.MemoryMB, max(size.CPUMillis/1000, 1))
	if err != nil {
		return err
	}
	if err := enginekit.Configure(ctx, s.Step, dbplane.File{Path: n.confFile(), Owner: osUser, Mode: 0o600, Content: conf}); err != nil {
		return err
	}
	s.Logf("wrote %s of node %d (%s): listen on %s, server_id %d, %s", n.confFile(), n.Ordinal, n.Role,
		n.hostPort(), n.serverID(), roleSummary(n))
	return nil
}

// roleSummary says in a few words what the configuration makes of n.
func roleSummary(n node) string {
	switch {
	case n.Cluster.Topology == dbplane.TopologyGalera:
		return fmt.Sprintf("galera member (group communication on port %d, IST %d, SST %d)", n.gcommPort(), n.istPort(), n.sstPort())
	case n.Cluster.Topology != dbplane.TopologyReplication:
		return "standalone with a GTID binary log"
	case n.isPrimary() && modeOf(n.Cluster) != dbplane.ReplicationAsync:
		return "primary, semi-synchronous (AFTER_SYNC)"
	case n.isPrimary():
		return "primary, asynchronous"
	}
	return "read-only replica"
}

// size returns the memory and CPUs of the node: what placement promised,
// else the flavor's.
func (e *Engine) size(s *step) (dbplane.Resources, error) { return enginekit.Size(s.Step) }

// instance is the node's mariadbd process for the agent: it reads the
// node's my.cnf alone, and stops cleanly on SIGTERM. extra arguments
// (--wsrep-new-cluster) make a different process spec.
func (e *Engine) instance(s *step, n node, extra ...string) (dbplane.Instance, error) {
	size, err := e.size(s)
	if err != nil {
		return dbplane.Instance{}, err
	}
	return dbplane.Instance{
		ID:         n.instanceID(),
		User:       osUser,
		Argv:       append([]string{mariadbd, "--defaults-file=" + n.confFile()}, extra...),
		Dir:        n.home(),
		PIDFile:    n.pidFile(),
		Log:        n.logFile(),
		StopSignal: "SIGTERM",
		Resources:  &size,
	}, nil
}

// start has the agent supervise the node's mariadbd and waits until it
// answers on its socket.
func (e *Engine) start(ctx context.Context, s *step) error {
	n := s.n
	inst, err := e.instance(s, n)
	if err != nil {
		return err
	}
	if _, err := enginekit.Start(ctx, s.Step, inst, s.waitReady); err != nil {
		return err
	}
	s.Logf("node %d answers on %s", n.Ordinal, n.hostPort())
	return nil
}

// waitReady polls the node with SELECT 1 over its socket until it answers.
func (s *step) waitReady(ctx context.Context, a dbplane.HostAgent) error {
	cmd := sqlCmd(s.n, "SELECT 1;\n")
	cmd.Timeout = 10 * time.Second
	return enginekit.WaitReady(ctx, s.Step, readyTimeout, "answer on "+s.n.socketPath(), enginekit.Succeeds(a, cmd))
}

// logTail copies the end of a node's server log to the step's log, to say
// why it did not start.
func (s *step) logTail(ctx context.Context, a dbplane.HostAgent, n node) {
	enginekit.LogTail(ctx, s.Step, a, dbplane.Instance{User: osUser, Dir: n.home(), Log: n.logFile()})
}
