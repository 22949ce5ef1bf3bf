package redis

import (
	"context"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// maxPort is the highest TCP port.
const maxPort = 65535

// precheck verifies the host of the node can take it before anything is
// changed: its agent answers, it has the volume's disk free, and nothing
// else listens on the node's port (nor, in a Redis cluster, on its cluster
// bus port).
func (e *Engine) precheck(ctx context.Context, s *step) error {
	n := s.n
	if n.isRedisCluster() && n.busPort() > maxPort {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
			"node %d listens on port %d, so its cluster bus would need port %d, above %d", n.Ordinal, n.Port, n.busPort(), maxPort))
	}
	a, err := s.agent(ctx, n)
	if err != nil {
		return err
	}
	facts, err := a.Facts(ctx)
	if err != nil {
		return fmt.Errorf("while asking host %d for its facts: %w", n.HostID, err)
	}
	s.logf("host %d (%s, %s) answers: %s/%s, %d CPUs, %d MB memory, %d GB free",
		n.HostID, facts.Hostname, n.Address, facts.OS, facts.Arch, facts.CPUs, facts.MemoryMB, facts.DiskGB)
	if need := int64(s.c.Spec.VolumeGB); facts.DiskGB < need {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindUnplaceable,
			"host %d has %d GB free under %s; node %d needs %d GB", n.HostID, facts.DiskGB, facts.DataRoot, n.Ordinal, need))
	}
	ports := []int{n.Port}
	if n.isRedisCluster() {
		ports = append(ports, n.busPort())
	}
	return s.checkPorts(ctx, a, ports)
}

// checkPorts fails when a process other than the node listens on one of
// ports on the node's address. The node itself may already listen: the step
// may run again after the node started.
func (s *step) checkPorts(ctx context.Context, a dbplane.HostAgent, ports []int) error {
	n := s.n
	res, err := run(ctx, a, dbplane.Command{User: "root", Argv: []string{"ss", "-H", "-l", "-t", "-n"}, Timeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("while listing the listening sockets of host %d: %w", n.HostID, err)
	}
	for _, port := range ports {
		listener, busy := portTaken(res.Stdout, n.Address, port)
		if !busy {
			s.logf("port %d is free on %s", port, n.Address)
			continue
		}
		if st, err := a.InstanceStatus(ctx, n.instanceID()); err == nil && st.Running {
			s.logf("node %d already listens on %s", n.Ordinal, listener)
			continue
		}
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindConflict,
			"port %d of host %d is taken by another process listening on %s", port, n.HostID, listener))
	}
	return nil
}

// portTaken reports whether a listener in the output of `ss -Hltn` holds
// port on addr, directly or through a wildcard address.
func portTaken(ssOutput, addr string, port int) (string, bool) {
	want, _ := netip.ParseAddr(addr)
	for line := range strings.Lines(ssOutput) {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		local := f[3]
		i := strings.LastIndexByte(local, ':')
		if i < 0 || local[i+1:] != strconv.Itoa(port) {
			continue
		}
		host := strings.Trim(local[:i], "[]")
		if j := strings.IndexByte(host, '%'); j >= 0 {
			host = host[:j]
		}
		if host == "*" {
			return local, true
		}
		if a, err := netip.ParseAddr(host); err == nil && (a.IsUnspecified() || a.Unmap() == want.Unmap()) {
			return local, true
		}
	}
	return "", false
}

// install makes sure the packages of the cluster's version are installed.
func (e *Engine) install(ctx context.Context, s *step) error {
	ev, ok := e.catalog().Version(dbplane.EngineRedis, s.c.Version)
	if !ok {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "the catalog has no Redis %s", s.c.Version))
	}
	a, err := s.agent(ctx, s.n)
	if err != nil {
		return err
	}
	s.logf("ensuring packages %s on host %d", strings.Join(ev.Packages, ", "), s.n.HostID)
	if err := a.EnsurePackages(ctx, ev.Packages); err != nil {
		return fmt.Errorf("while installing %s on host %d: %w", strings.Join(ev.Packages, ", "), s.n.HostID, err)
	}
	return nil
}

// prepare creates the node's directories, owned by redis and 0700: the
// data directory, where Redis writes its snapshots, append-only files and
// cluster state, and the node's home beside it.
func (e *Engine) prepare(ctx context.Context, s *step) error {
	n := s.n
	a, err := s.agent(ctx, n)
	if err != nil {
		return err
	}
	if err := a.EnsureUser(ctx, osUser); err != nil {
		return fmt.Errorf("while ensuring user %s on host %d: %w", osUser, n.HostID, err)
	}
	dirs := []struct {
		path string
		mode uint32
	}{
		{path.Dir(n.DataDir), 0o755},
		{n.DataDir, 0o700},
		{n.home(), 0o700},
	}
	for _, d := range dirs {
		if err := a.EnsureDir(ctx, d.path, osUser, d.mode); err != nil {
			return fmt.Errorf("while creating %s on host %d: %w", d.path, n.HostID, err)
		}
	}
	s.logf("data directory %s and home %s ready on host %d", n.DataDir, n.home(), n.HostID)
	return nil
}

// remove stops the node if it runs and removes its data directory and
// home: the delete step of a node, and the undo of preparing its
// directories.
func (e *Engine) remove(ctx context.Context, s *step) error {
	n := s.n
	a, err := s.agent(ctx, n)
	if err != nil {
		return err
	}
	if err := a.RemoveInstance(ctx, n.instanceID(), n.paths()); err != nil {
		return fmt.Errorf("while removing node %d from host %d: %w", n.Ordinal, n.HostID, err)
	}
	s.logf("node %d stopped; %s removed from host %d", n.Ordinal, strings.Join(n.paths(), " and "), n.HostID)
	return nil
}

// stop stops the node: the undo of starting it.
func (e *Engine) stop(ctx context.Context, s *step) error {
	n := s.n
	a, err := s.agent(ctx, n)
	if err != nil {
		return err
	}
	if err := a.StopInstance(ctx, n.instanceID()); err != nil && dbplane.ErrorKind(err) != dbplane.KindNotFound {
		return fmt.Errorf("while stopping node %d on host %d: %w", n.Ordinal, n.HostID, err)
	}
	s.logf("node %d stopped on host %d", n.Ordinal, n.HostID)
	return nil
}

// maxStderr bounds how much of a failed command's output an error carries.
const maxStderr = 600

// run runs a command and fails when it exits non-zero, with the end of its
// standard error.
func run(ctx context.Context, a dbplane.HostAgent, cmd dbplane.Command) (*dbplane.CommandResult, error) {
	res, err := a.Run(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("while running %s: %w", cmd.Argv[0], err)
	}
	if res.ExitCode != 0 {
		return res, fmt.Errorf("%s exited with code %d: %s", cmd.Argv[0], res.ExitCode, tail(res.Stderr, maxStderr))
	}
	return res, nil
}

// tail returns the last n bytes of s, trimmed.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
