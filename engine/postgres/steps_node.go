package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// initPrimary creates the primary's data directory with initdb: UTF-8,
// data checksums, peer authentication on the socket and SCRAM over TCP. A
// directory initdb finished is left alone; one it left half-written (the
// agent or the host died under it) is emptied and initialised again, and so
// is one that lost its content after the marker was written.
func (e *Engine) initPrimary(ctx context.Context, s *step) error {
	n := s.n
	cmd := asPostgres(n, s.bin("initdb"), "-D", n.DataDir, "-U", osUser, "-E", "UTF8", "--locale=C.UTF-8",
		"--auth-local=peer", "--auth-host=scram-sha-256", "--data-checksums", "--no-instructions")
	return s.Host().Init(ctx, s.Step, cmd, n.initMarker(), n.dataFile("PG_VERSION"))
}

// configure writes the node's postgresql.conf and pg_hba.conf. For a
// replica, the configuration names the primary it streams from.
func (e *Engine) configure(ctx context.Context, s *step) error {
	n := s.n
	size, err := e.sizing(s)
	if err != nil {
		return err
	}
	conf, err := renderConf(n, e.version(s.Cluster), size)
	if err != nil {
		return err
	}
	hba, err := renderHBA(s.Cluster)
	if err != nil {
		return err
	}
	if err := enginekit.Configure(ctx, s.Step,
		dbplane.File{Path: n.dataFile("postgresql.conf"), Owner: osUser, Mode: 0o600, Content: conf},
		dbplane.File{Path: n.dataFile("pg_hba.conf"), Owner: osUser, Mode: 0o600, Content: hba},
	); err != nil {
		return err
	}
	s.Logf("wrote postgresql.conf and pg_hba.conf of node %d (%s): listen on %s, synchronous_standby_names = %s",
		n.Ordinal, n.Role, n.hostPort(), quoteLiteral(synchronousStandbyNames(n)))
	return nil
}

// sizing is the size of a node: what sizes its buffers and connections,
// and limits its process.
type sizing struct {
	memoryMB int64
	vcpus    int
}

// sizing returns the size of the step's node: the memory placement
// promised it (the flavor's, for a node placed before nodes recorded it)
// and the CPUs of the cluster's flavor.
func (e *Engine) sizing(s *step) (sizing, error) {
	r, err := enginekit.Size(s.Step)
	return sizing{memoryMB: r.MemoryMB, vcpus: r.CPUMillis / 1000}, err
}

// stopSignal stops postgres with a fast shutdown: sessions are ended and
// a checkpoint is written, without waiting for clients to leave.
const stopSignal = "SIGINT"

// start has the agent supervise the node's postgres process, limited to
// the node's size, and waits until the node accepts connections.
func (e *Engine) start(ctx context.Context, s *step) error {
	n := s.n
	size, err := e.sizing(s)
	if err != nil {
		return err
	}
	inst := dbplane.Instance{
		ID:         n.instanceID(),
		User:       osUser,
		Argv:       []string{s.bin("postgres"), "-D", n.DataDir},
		Dir:        n.home(),
		PIDFile:    n.dataFile("postmaster.pid"),
		Log:        n.logFile(),
		StopSignal: stopSignal,
		Resources:  &dbplane.Resources{CPUMillis: size.vcpus * 1000, MemoryMB: size.memoryMB},
	}
	a, err := enginekit.Start(ctx, s.Step, inst, s.waitReady)
	if err != nil {
		return err
	}
	s.Logf("node %d accepts connections on %s; %s", n.Ordinal, n.hostPort(), s.limitsState(ctx, a, inst))
	return nil
}

// limitsState says whether the agent enforces the node's CPU and memory
// limits, for the step's log: a host without cgroup v2 runs the node
// unlimited, which its operator should know.
func (s *step) limitsState(ctx context.Context, a dbplane.HostAgent, inst dbplane.Instance) string {
	r := inst.Resources
	st, err := a.InstanceStatus(ctx, inst.ID)
	switch {
	case err != nil:
		return fmt.Sprintf("cannot tell whether its limits are enforced: %v", err)
	case st.LimitsEnforced:
		return fmt.Sprintf("limits enforced (%d millicpus, %d MB)", r.CPUMillis, r.MemoryMB)
	}
	return "limits not enforced: " + st.LimitsNote
}

// waitReady polls pg_isready on the node's socket until it accepts
// connections.
func (s *step) waitReady(ctx context.Context, a dbplane.HostAgent) error {
	n := s.n
	cmd := asPostgres(n, s.bin("pg_isready"), "-q", "-h", n.socketDir(), "-p", strconv.Itoa(n.Port), "-t", "2")
	cmd.Timeout = 10 * time.Second
	return enginekit.WaitReady(ctx, s.Step, readyTimeout, "accept connections", enginekit.Succeeds(a, cmd))
}
