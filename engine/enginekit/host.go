package enginekit

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// CheckHost verifies the host of the step's node answers and has the
// volume's disk free, and returns its agent for the engine's own checks.
func CheckHost(ctx context.Context, s *Step) (dbplane.HostAgent, error) {
	n := s.Node
	a, err := s.Agent(ctx, n)
	if err != nil {
		return nil, err
	}
	facts, err := a.Facts(ctx)
	if err != nil {
		return nil, fmt.Errorf("while asking host %d for its facts: %w", n.HostID, err)
	}
	s.Logf("host %d (%s, %s) answers: %s/%s, %d CPUs, %d MB memory, %d GB free",
		n.HostID, facts.Hostname, n.Address, facts.OS, facts.Arch, facts.CPUs, facts.MemoryMB, facts.DiskGB)
	if need := int64(s.Cluster.Spec.VolumeGB); facts.DiskGB < need {
		return nil, dbplane.Permanent(dbplane.Errorf(dbplane.KindUnplaceable,
			"host %d has %d GB free under %s; node %d needs %d GB", n.HostID, facts.DiskGB, facts.DataRoot, n.Ordinal, need))
	}
	return a, nil
}

// MaxSocketPath is the longest Unix socket path the kernel accepts
// (sizeof(sun_path) less its terminating NUL).
const MaxSocketPath = 107

// CheckSocketPath fails when the node's socket path p is too long to bind.
func CheckSocketPath(s *Step, p string) error {
	if len(p) <= MaxSocketPath {
		return nil
	}
	n := s.Node
	return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
		"the socket path %s of node %d is %d bytes long, over the %d the kernel allows: use a shorter data root on host %d",
		p, n.Ordinal, len(p), MaxSocketPath, n.HostID))
}

// Listeners returns the output of `ss -Hltn` on the host of n.
func Listeners(ctx context.Context, a dbplane.HostAgent, n dbplane.Node) (string, error) {
	res, err := Run(ctx, a, dbplane.Command{User: "root", Argv: []string{"ss", "-H", "-l", "-t", "-n"}, Timeout: 30 * time.Second})
	if err != nil {
		return "", fmt.Errorf("while listing the listening sockets of host %d: %w", n.HostID, err)
	}
	return res.Stdout, nil
}

// MaxPort is the highest TCP port.
const MaxPort = 65535

// CheckPortRange fails when one of ports, which the node derives from its
// own (a galera member's, a Redis cluster bus), is above MaxPort.
func CheckPortRange(s *Step, ports []int) error {
	n := s.Node
	for _, p := range ports {
		if p > MaxPort {
			return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
				"node %d on port %d would need port %d, above %d", n.Ordinal, n.Port, p, MaxPort))
		}
	}
	return nil
}

// CheckPorts fails when a process other than the node (instance
// instanceID) listens on one of ports on the node's address, naming every
// port taken at once. The node itself may already listen: the step may run
// again after the node started.
func CheckPorts(ctx context.Context, s *Step, a dbplane.HostAgent, instanceID string, ports []int) error {
	n := s.Node
	out, err := Listeners(ctx, a, n)
	if err != nil {
		return err
	}
	var taken []string
	for _, port := range ports {
		listener, busy := PortTaken(out, n.Address, port)
		if !busy {
			s.Logf("port %d is free on %s", port, n.Address)
			continue
		}
		taken = append(taken, fmt.Sprintf("port %d at %s", port, listener))
	}
	if len(taken) == 0 {
		return nil
	}
	if st, err := a.InstanceStatus(ctx, instanceID); err == nil && st.Running {
		s.Logf("node %d already listens on %s", n.Ordinal, strings.Join(taken, ", "))
		return nil
	}
	return dbplane.Permanent(dbplane.Errorf(dbplane.KindConflict,
		"node %d needs ports of host %d that other processes listen on: %s", n.Ordinal, n.HostID, strings.Join(taken, ", ")))
}

// PortTaken reports whether a listener in the output of `ss -Hltn` holds
// port on addr, directly or through a wildcard address.
func PortTaken(ssOutput, addr string, port int) (string, bool) {
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

// Install makes sure the catalog's packages of engine at version, and
// extra ones, are installed on the node's host. product names the engine
// in errors ("PostgreSQL").
func Install(ctx context.Context, s *Step, engine, product, version string, extra ...string) error {
	ev, ok := s.Deps.Catalogue().Version(engine, version)
	if !ok {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "the catalog has no %s %s", product, s.Cluster.Version))
	}
	pkgs := slices.Clone(ev.Packages)
	for _, p := range extra {
		if !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	a, err := s.Agent(ctx, s.Node)
	if err != nil {
		return err
	}
	s.Logf("ensuring packages %s on host %d", strings.Join(pkgs, ", "), s.Node.HostID)
	if err := a.EnsurePackages(ctx, pkgs); err != nil {
		return fmt.Errorf("while installing %s on host %d: %w", strings.Join(pkgs, ", "), s.Node.HostID, err)
	}
	return nil
}

// Dir is a directory a node needs, with its mode.
type Dir struct {
	Path string
	Mode uint32
}

// Prepare ensures the OS user exists and creates dirs owned by it, in
// order (parents first). home is the node's home, for the log.
func Prepare(ctx context.Context, s *Step, user, home string, dirs []Dir) error {
	n := s.Node
	a, err := s.Agent(ctx, n)
	if err != nil {
		return err
	}
	if err := a.EnsureUser(ctx, user); err != nil {
		return fmt.Errorf("while ensuring user %s on host %d: %w", user, n.HostID, err)
	}
	for _, d := range dirs {
		if err := a.EnsureDir(ctx, d.Path, user, d.Mode); err != nil {
			return fmt.Errorf("while creating %s on host %d: %w", d.Path, n.HostID, err)
		}
	}
	s.Logf("data directory %s and home %s ready on host %d", n.DataDir, home, n.HostID)
	return nil
}

// Remove stops instance instanceID if it runs and removes paths: the
// delete step of a node, and the undo of preparing its directories.
func Remove(ctx context.Context, s *Step, instanceID string, paths []string) error {
	n := s.Node
	a, err := s.Agent(ctx, n)
	if err != nil {
		return err
	}
	if err := a.RemoveInstance(ctx, instanceID, paths); err != nil {
		return fmt.Errorf("while removing node %d from host %d: %w", n.Ordinal, n.HostID, err)
	}
	s.Logf("node %d stopped; %s removed from host %d", n.Ordinal, strings.Join(paths, " and "), n.HostID)
	return nil
}

// Stop stops instance instanceID of the step's node: the undo of starting
// it. A node that was never started is stopped already.
func Stop(ctx context.Context, s *Step, instanceID string) error {
	n := s.Node
	a, err := s.Agent(ctx, n)
	if err != nil {
		return err
	}
	if err := a.StopInstance(ctx, instanceID); err != nil && dbplane.ErrorKind(err) != dbplane.KindNotFound {
		return fmt.Errorf("while stopping node %d on host %d: %w", n.Ordinal, n.HostID, err)
	}
	s.Logf("node %d stopped on host %d", n.Ordinal, n.HostID)
	return nil
}
