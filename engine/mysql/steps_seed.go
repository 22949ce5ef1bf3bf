package mysql

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// HandlerSeedStandby copies a source member's data into a standby's
// primary before it first starts.
const HandlerSeedStandby = "mysql.seed_standby"

// Seeding bounds: the copy streams the whole database, so it gets the
// time of a galera join; the standby listens for it a little longer than
// the source takes to connect and send.
const (
	seedTimeout   = 9 * time.Minute
	listenTimeout = 20 * time.Second
)

// Files of a seeded node, in its home: the marker that the copy is
// complete and prepared, and the source's GTID position the copy holds.
func (n node) seedMarker() string { return path.Join(n.home(), "standby-seed.done") }
func (n node) seedGTIDFile() string {
	return path.Join(n.home(), "standby-seed.gtid")
}

// seedPort is where a standby's primary receives its copy: the port of a
// galera state transfer, free until the node first starts.
func (n node) seedPort() int { return n.sstPort() }

// seedStep plans the copy of the source's data into the standby's primary
// p, after p is configured; the step that first starts p waits for it.
func seedStep(c *dbplane.Cluster, p dbplane.Node) dbplane.PlanStep {
	kp := keyer(p)
	return newStep(kp("standby-seed"), fmt.Sprintf("Seed node %d from the source", p.Ordinal), HandlerSeedStandby, p, joinStepTime,
		fmt.Sprintf("Copy the primary of cluster %d into node %d with mariadb-backup (streamed to the node's host, prepared there) "+
			"and keep the copy's GTID position", c.Spec.StandbyOf, p.Ordinal), kp("configure"))
}

// withSeed adds the seed step to the create plan of a standby and makes the
// step that first starts its primary (bootstrap or start) wait for it.
func withSeed(c *dbplane.Cluster, p dbplane.Node, steps []dbplane.PlanStep) []dbplane.PlanStep {
	if c.Spec.StandbyOf == 0 {
		return steps
	}
	seed := seedStep(c, p)
	kp := keyer(p)
	for i := range steps {
		if steps[i].Key == kp("bootstrap") || steps[i].Key == kp("start") {
			steps[i].After = append(steps[i].After, seed.Key)
		}
	}
	return append(steps, seed)
}

// seedStandby replaces the standby primary's empty data directory with a
// copy of its source's primary taken by mariadb-backup, as MariaDB's guide
// to replicating between galera clusters does: the node's host listens
// with socat on the node's state transfer port and unpacks what arrives
// with mbstream; the source's host streams `mariadb-backup --backup` to it
// (bash's /dev/tcp: the source needs nothing but its own packages); the
// copy is prepared in place, and the GTID position it holds is kept in the
// node's home for "Attach standby". The copy carries the source's data and
// accounts; the standby then starts from it with a galera cluster (or
// server) of its own. Done once: a marker in the node's home says so, and a
// node that runs is never overwritten.
func (e *Engine) seedStandby(ctx context.Context, s *step) error {
	n := s.n
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	if done, err := fileExists(ctx, a, n, n.seedMarker()); err != nil || done {
		if done {
			s.Logf("node %d was seeded already", n.Ordinal)
		}
		return err
	}
	if st, err := a.InstanceStatus(ctx, n.instanceID()); err == nil && st.Running {
		return dbplane.Permanent(fmt.Errorf("node %d runs without having been seeded: delete the standby and create it again", n.Ordinal))
	}
	src, err := s.source(ctx)
	if err != nil {
		return err
	}
	sa, err := s.Agent(ctx, src.Node)
	if err != nil {
		return err
	}
	if err := s.Host().EmptyDataDir(ctx, s.Step, a); err != nil {
		return err
	}
	if err := s.streamCopy(ctx, a, sa, src); err != nil {
		return err
	}
	if _, err := enginekit.Run(ctx, a, dbplane.Command{User: osUser, Dir: n.home(), Timeout: seedTimeout,
		Argv: []string{"mariadb-backup", "--prepare", "--target-dir=" + n.DataDir}}); err != nil {
		return fmt.Errorf("while preparing the copy on node %d: %w", n.Ordinal, err)
	}
	gtid, err := copiedGTID(ctx, a, n)
	if err != nil {
		return err
	}
	if err := enginekit.WriteFiles(ctx, a, n.Node,
		dbplane.File{Path: n.seedGTIDFile(), Owner: osUser, Mode: 0o600, Content: []byte(gtid + "\n")},
		dbplane.File{Path: n.seedMarker(), Owner: osUser, Mode: 0o600, Content: []byte("seeded from cluster " + src.Cluster.Name + "\n")},
	); err != nil {
		return err
	}
	s.Logf("node %d holds a prepared copy of node %d of cluster %s at GTID position %q", n.Ordinal, src.Ordinal, src.Cluster.Name, gtid)
	return nil
}

// streamCopy has the node's host (agent a) receive what the source's host
// (agent sa) sends: the receiver listens first, and the sender starts once
// the port is seen listening. Both end when the copy has arrived; either
// failing fails the copy, and the receiver gives up after seedTimeout.
func (s *step) streamCopy(ctx context.Context, a, sa dbplane.HostAgent, src node) error {
	n := s.n
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	listen := fmt.Sprintf("TCP-LISTEN:%d,bind=%s,reuseaddr", n.seedPort(), socatAddr(n.Address))
	recv := make(chan error, 1)
	go func() {
		_, err := enginekit.Run(ctx, a, dbplane.Command{User: osUser, Dir: n.home(), Timeout: seedTimeout,
			Argv: []string{"bash", "-c", `set -o pipefail; socat -u "$1" STDOUT | mbstream -x -C "$2"`, "seed", listen, n.DataDir}})
		recv <- err
	}()
	if err := s.waitListening(ctx, a, recv); err != nil {
		return err
	}
	target := "/dev/tcp/" + n.Address + "/" + strconv.Itoa(n.seedPort())
	_, err := enginekit.Run(ctx, sa, dbplane.Command{User: "root", Dir: src.home(), Timeout: seedTimeout,
		Argv: []string{"bash", "-c", `exec mariadb-backup --defaults-file="$1" --backup --stream=xbstream --user=root --socket="$2" > "$3"`,
			"seed", src.confFile(), src.socketPath(), target}})
	if err != nil {
		cancel()
		<-recv
		return fmt.Errorf("while sending node %d of cluster %s: %w", src.Ordinal, src.Cluster.Name, err)
	}
	if err := <-recv; err != nil {
		return fmt.Errorf("while receiving the copy on node %d: %w", n.Ordinal, err)
	}
	return nil
}

// waitListening polls the node's host until the receiver listens on the
// seed port, or fails with the receiver's error if it ended.
func (s *step) waitListening(ctx context.Context, a dbplane.HostAgent, recv <-chan error) error {
	n := s.n
	deadline := time.Now().Add(listenTimeout)
	for {
		out, err := enginekit.Listeners(ctx, a, n.Node)
		if err != nil {
			return err
		}
		if _, ok := enginekit.PortTaken(out, n.Address, n.seedPort()); ok {
			return nil
		}
		select {
		case err := <-recv:
			if err == nil {
				return fmt.Errorf("the receiver on node %d ended before the copy", n.Ordinal)
			}
			return fmt.Errorf("the receiver on node %d ended before the copy: %w", n.Ordinal, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s", enginekit.JoinHostPort(n.Address, n.seedPort()), listenTimeout)
		}
	}
}

// copiedGTID reads the GTID position of a prepared copy from the file
// mariadb-backup writes it to (binary log file, offset, GTID position):
// xtrabackup_binlog_info in MariaDB 10.11, mariadb_backup_binlog_info in
// later versions.
func copiedGTID(ctx context.Context, a dbplane.HostAgent, n node) (string, error) {
	res, err := enginekit.Run(ctx, a, dbplane.Command{User: osUser, Timeout: 10 * time.Second,
		Argv: []string{"bash", "-c", `cat "$1/mariadb_backup_binlog_info" 2>/dev/null || cat "$1/xtrabackup_binlog_info"`, "gtid", n.DataDir}})
	if err != nil {
		return "", fmt.Errorf("while reading the copy's binary log position on node %d: %w", n.Ordinal, err)
	}
	fields := strings.Fields(res.Stdout)
	if len(fields) < 3 {
		return "", dbplane.Permanent(fmt.Errorf("the copy on node %d has no GTID position: the source keeps no binary log (%q)", n.Ordinal, strings.TrimSpace(res.Stdout)))
	}
	return fields[2], nil
}

// seedPosition returns the GTID position a seeded node's copy holds, or ""
// for a node that was not seeded.
func (s *step) seedPosition(ctx context.Context, a dbplane.HostAgent) (string, error) {
	n := s.n
	ok, err := fileExists(ctx, a, n, n.seedGTIDFile())
	if err != nil || !ok {
		return "", err
	}
	res, err := enginekit.Run(ctx, a, dbplane.Command{User: osUser, Argv: []string{"cat", n.seedGTIDFile()}, Timeout: 10 * time.Second})
	if err != nil {
		return "", fmt.Errorf("while reading the seeded GTID position of node %d: %w", n.Ordinal, err)
	}
	return strings.TrimSpace(res.Stdout), nil
}
