package mysql

import (
	"context"
	"fmt"
	"time"

	"github.com/dbplane/dbplane"
)

// readyTimeout bounds how long starting a node waits for it to answer
// before the step fails (and is retried).
const readyTimeout = 90 * time.Second

// initNode creates the node's system tables with mariadb-install-db: root
// authenticates only with unix_socket (no password exists for it), and no
// test database. A directory the tool finished is left alone; one it left
// half-written (the agent or the host died under it) is emptied and
// initialised again, and so is one that lost its content after the marker
// was written. A galera member's tables are replaced by the state transfer
// when it joins; it needs them to start at all.
func (e *Engine) initNode(ctx context.Context, s *step) error {
	n := s.n
	a, err := s.agent(ctx, n)
	if err != nil {
		return err
	}
	done, err := allExist(ctx, a, n, n.initMarker(), n.dataFile("mysql"))
	if err != nil {
		return err
	}
	if done {
		s.Logf("%s is already initialised", n.DataDir)
		return nil
	}
	if err := emptyDir(ctx, a, n, n.DataDir); err != nil {
		return err
	}
	// No --user: the tool runs as mysql already, and with it the tool tries
	// (and, not being root, fails) to chown the PAM plugin's helper.
	cmd := asMySQL(n, installDB, "--no-defaults", "--datadir="+n.DataDir, "--tmpdir="+n.tmpDir(),
		"--auth-root-authentication-method=socket", "--skip-test-db")
	cmd.Timeout = 2 * time.Minute
	if _, err := run(ctx, a, cmd); err != nil {
		return fmt.Errorf("while initialising %s on host %d: %w", n.DataDir, n.HostID, err)
	}
	if err := a.WriteFile(ctx, dbplane.File{Path: n.initMarker(), Owner: osUser, Mode: 0o600, Content: []byte(n.DataDir + "\n")}); err != nil {
		return fmt.Errorf("while marking %s initialised: %w", n.DataDir, err)
	}
	s.Logf("initialised %s on host %d", n.DataDir, n.HostID)
	return nil
}

// emptyDir removes whatever a dir holds, by removing and recreating it.
func emptyDir(ctx context.Context, a dbplane.HostAgent, n node, dir string) error {
	if err := a.RemoveInstance(ctx, n.instanceID(), []string{dir}); err != nil {
		return fmt.Errorf("while emptying %s on host %d: %w", dir, n.HostID, err)
	}
	if err := a.EnsureDir(ctx, dir, osUser, 0o750); err != nil {
		return fmt.Errorf("while creating %s on host %d: %w", dir, n.HostID, err)
	}
	return nil
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
	a, err := s.agent(ctx, n)
	if err != nil {
		return err
	}
	f := dbplane.File{Path: n.confFile(), Owner: osUser, Mode: 0o600, Content: conf}
	if err := a.WriteFile(ctx, f); err != nil {
		return fmt.Errorf("while writing %s on host %d: %w", f.Path, n.HostID, err)
	}
	s.Logf("wrote %s of node %d (%s): listen on %s, server_id %d, %s", n.confFile(), n.Ordinal, n.Role,
		n.hostPort(), n.serverID(), roleSummary(n))
	return nil
}

// roleSummary says in a few words what the configuration makes of n.
func roleSummary(n node) string {
	switch {
	case n.cluster.Topology == dbplane.TopologyGalera:
		return fmt.Sprintf("galera member (group communication on port %d, IST %d, SST %d)", n.gcommPort(), n.istPort(), n.sstPort())
	case n.cluster.Topology != dbplane.TopologyReplication:
		return "standalone with a GTID binary log"
	case n.isPrimary() && modeOf(n.cluster) != dbplane.ReplicationAsync:
		return "primary, semi-synchronous (AFTER_SYNC)"
	case n.isPrimary():
		return "primary, asynchronous"
	}
	return "read-only replica"
}

// size returns the memory and CPUs of the node: what placement promised,
// else the flavor's.
func (e *Engine) size(s *step) (dbplane.Resources, error) {
	f, ok := e.Catalogue().Flavor(s.Cluster.Spec.Flavor)
	if !ok {
		return dbplane.Resources{}, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "the catalog has no flavor %q", s.Cluster.Spec.Flavor))
	}
	r := dbplane.Resources{CPUMillis: f.VCPUs * 1000, MemoryMB: int64(f.MemoryGB) * 1024}
	if s.n.MemoryMB > 0 {
		r.MemoryMB = s.n.MemoryMB
	}
	return r, nil
}

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
	a, err := s.agent(ctx, n)
	if err != nil {
		return err
	}
	if err := a.StartInstance(ctx, inst); err != nil {
		return fmt.Errorf("while starting node %d on host %d: %w", n.Ordinal, n.HostID, err)
	}
	if err := waitReady(ctx, a, n); err != nil {
		s.logTail(ctx, a, n)
		return err
	}
	s.Logf("node %d answers on %s", n.Ordinal, n.hostPort())
	return nil
}

// waitReady polls the node with SELECT 1 over its socket until it answers.
func waitReady(ctx context.Context, a dbplane.HostAgent, n node) error {
	cmd := sqlCmd(n, "SELECT 1;\n")
	cmd.Timeout = 10 * time.Second
	return poll(ctx, readyTimeout, func(ctx context.Context) (bool, string) {
		res, err := a.Run(ctx, cmd)
		switch {
		case err != nil:
			return false, err.Error()
		case res.ExitCode != 0:
			return false, tail(res.Stderr, maxStderr)
		}
		return true, ""
	}, func(last string) error {
		return fmt.Errorf("node %d on host %d did not answer on %s within %s: %s", n.Ordinal, n.HostID, n.socketPath(), readyTimeout, last)
	})
}

// logTail copies the end of a node's server log to the step's log, to say
// why it did not start.
func (s *step) logTail(ctx context.Context, a dbplane.HostAgent, n node) {
	cmd := asMySQL(n, "tail", "-n", "30", n.logFile())
	cmd.Timeout = 10 * time.Second
	res, err := a.Run(context.WithoutCancel(ctx), cmd)
	if err != nil || res.ExitCode != 0 {
		return
	}
	s.Logf("end of %s:\n%s", n.logFile(), tail(res.Stdout, 4000))
}
