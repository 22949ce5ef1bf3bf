package mysql

import (
	"context"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// precheck verifies the host of the node can take it before anything is
// changed: its agent answers, it has the volume's disk free, the node's
// socket path fits, and nothing else listens on the node's ports.
func (e *Engine) precheck(ctx context.Context, s *step) error {
	n, k := s.n, s.Step
	a, err := enginekit.CheckHost(ctx, k)
	if err != nil {
		return err
	}
	if err := enginekit.CheckSocketPath(k, n.socketPath()); err != nil {
		return err
	}
	if top := slices.Max(n.ports()); top > 65535 {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
			"node %d on port %d would need galera port %d, over 65535", n.Ordinal, n.Port, top))
	}
	return e.checkPorts(ctx, s, a)
}

// checkPorts fails when a process other than the node listens on one of
// the node's ports at its address. The node itself may already listen: the
// step may run again after the node started. Unlike the kit's check, it
// names every port taken at once: a galera member has four.
func (e *Engine) checkPorts(ctx context.Context, s *step, a dbplane.HostAgent) error {
	n := s.n
	out, err := enginekit.Listeners(ctx, a, n.Node)
	if err != nil {
		return err
	}
	var taken []string
	for _, p := range n.ports() {
		if listener, busy := enginekit.PortTaken(out, n.Address, p); busy {
			taken = append(taken, listener)
		}
	}
	if len(taken) == 0 {
		s.Logf("ports %s are free on %s", joinInts(n.ports()), n.Address)
		return nil
	}
	if st, err := a.InstanceStatus(ctx, n.instanceID()); err == nil && st.Running {
		s.Logf("node %d already listens on %s", n.Ordinal, strings.Join(taken, ", "))
		return nil
	}
	return dbplane.Permanent(dbplane.Errorf(dbplane.KindConflict,
		"ports of node %d on host %d are taken by other processes listening on %s", n.Ordinal, n.HostID, strings.Join(taken, ", ")))
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
	var extra []string
	if s.Cluster.Topology == dbplane.TopologyGalera || s.Cluster.Spec.StandbyOf != 0 {
		extra = append(extra, "socat")
	}
	return enginekit.Install(ctx, s.Step, dbplane.EngineMySQL, "MariaDB", e.version(s.Cluster), extra...)
}

// prepare creates the node's directories, owned by mysql, 0750: the data
// directory, and its home beside it with the conf.d, files and tmp
// directories.
func (e *Engine) prepare(ctx context.Context, s *step) error {
	n := s.n
	return enginekit.Prepare(ctx, s.Step, osUser, n.home(), []enginekit.Dir{
		{Path: path.Dir(n.DataDir), Mode: 0o755},
		{Path: n.DataDir, Mode: 0o750},
		{Path: n.home(), Mode: 0o750},
		{Path: n.confDir(), Mode: 0o750},
		{Path: n.filesDir(), Mode: 0o750},
		{Path: n.tmpDir(), Mode: 0o750},
	})
}

// remove stops the node if it runs and removes its data directory and
// home: the delete step of a node, and the undo of preparing its
// directories.
func (e *Engine) remove(ctx context.Context, s *step) error {
	return enginekit.Remove(ctx, s.Step, s.n.instanceID(), s.n.paths())
}

// stop stops the node: the undo of starting it.
func (e *Engine) stop(ctx context.Context, s *step) error {
	return enginekit.Stop(ctx, s.Step, s.n.instanceID())
}
