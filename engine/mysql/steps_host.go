package mysql

import (
	"context"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// precheck verifies the host of the node can take it before anything is
// changed: its agent answers, it has the volume's disk free, the node's
// socket path fits, and nothing else listens on the node's ports.
func (e *Engine) precheck(ctx context.Context, s *step) error {
	n := s.n
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
	if p := n.socketPath(); len(p) > maxSocketPath {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
			"the socket path %s of node %d is %d bytes long, over the %d the kernel allows: use a shorter data root on host %d",
			p, n.Ordinal, len(p), maxSocketPath, n.HostID))
	}
	if top := slices.Max(n.ports()); top > 65535 {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
			"node %d on port %d would need galera port %d, over 65535", n.Ordinal, n.Port, top))
	}
	return e.checkPorts(ctx, s, a)
}

// checkPorts fails when a process other than the node listens on one of
// the node's ports at its address. The node itself may already listen: the
// step may run again after the node started.
func (e *Engine) checkPorts(ctx context.Context, s *step, a dbplane.HostAgent) error {
	n := s.n
	res, err := run(ctx, a, dbplane.Command{User: "root", Argv: []string{"ss", "-H", "-l", "-t", "-n"}, Timeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("while listing the listening sockets of host %d: %w", n.HostID, err)
	}
	var taken []string
	for _, p := range n.ports() {
		if listener, busy := portTaken(res.Stdout, n.Address, p); busy {
			taken = append(taken, listener)
		}
	}
	if len(taken) == 0 {
		s.logf("ports %s are free on %s", joinInts(n.ports()), n.Address)
		return nil
	}
	if st, err := a.InstanceStatus(ctx, n.instanceID()); err == nil && st.Running {
		s.logf("node %d already listens on %s", n.Ordinal, strings.Join(taken, ", "))
		return nil
	}
	return dbplane.Permanent(dbplane.Errorf(dbplane.KindConflict,
		"ports of node %d on host %d are taken by other processes listening on %s", n.Ordinal, n.HostID, strings.Join(taken, ", ")))
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

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// install makes sure the packages of the cluster's version are installed,
// with socat for galera and standbys: mariadb-backup's state transfers and
// a standby's copy of its source stream over it.
func (e *Engine) install(ctx context.Context, s *step) error {
	ev, ok := e.catalog().Version(dbplane.EngineMySQL, e.version(s.c))
	if !ok {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "the catalog has no MariaDB %s", s.c.Version))
	}
	pkgs := slices.Clone(ev.Packages)
	if (s.c.Topology == dbplane.TopologyGalera || s.c.Spec.StandbyOf != 0) && !slices.Contains(pkgs, "socat") {
		pkgs = append(pkgs, "socat")
	}
	a, err := s.agent(ctx, s.n)
	if err != nil {
		return err
	}
	s.logf("ensuring packages %s on host %d", strings.Join(pkgs, ", "), s.n.HostID)
	if err := a.EnsurePackages(ctx, pkgs); err != nil {
		return fmt.Errorf("while installing %s on host %d: %w", strings.Join(pkgs, ", "), s.n.HostID, err)
	}
	return nil
}

// prepare creates the node's directories, owned by mysql, 0750: the data
// directory, and its home beside it with the conf.d, files and tmp
// directories.
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
		{n.DataDir, 0o750},
		{n.home(), 0o750},
		{n.confDir(), 0o750},
		{n.filesDir(), 0o750},
		{n.tmpDir(), 0o750},
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
