package mysql

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// Handlers of a standby cluster's steps.
const (
	HandlerAttachStandby = "mysql.attach_standby"
	HandlerVerifyStandby = "mysql.verify_standby"
	HandlerDetachStandby = "mysql.detach_standby"
)

// standbyUserPrefix names the account a standby replicates as on its
// source: dbplane_standby<standby cluster id>.
const standbyUserPrefix = "dbplane_standby"

// standbySSTUser is the state transfer account of a standby galera
// cluster. It differs from sstUser because a standby replays its source's
// accounts: the source's dbplane_sst, with the source's password, would
// otherwise replace the standby's own and break its state transfers.
const standbySSTUser = "dbplane_sst_standby"

// sstUserOf is the state transfer account of c.
func sstUserOf(c *dbplane.Cluster) string {
	if c.Spec.StandbyOf != 0 {
		return standbySSTUser
	}
	return sstUser
}

// standbyUser is the account standby c replicates as on its source.
func standbyUser(c *dbplane.Cluster) string { return standbyUserPrefix + strconv.FormatInt(c.ID, 10) }

// standbySteps attach a standby cluster's primary (a galera standby's
// member 0) to its source once the cluster stands on its own (after the
// steps keyed after), and wait until it replicates.
func standbySteps(c *dbplane.Cluster, p dbplane.Node, after []string) []dbplane.PlanStep {
	if c.Spec.StandbyOf == 0 {
		return nil
	}
	kp := keyer(p)
	return []dbplane.PlanStep{
		newStep(kp("standby-attach"), "Attach standby to its source", HandlerAttachStandby, p, enginekit.ShortTimeout,
			fmt.Sprintf("Create the standby's replication account on the primary of cluster %d (REPLICATION SLAVE, random password) and "+
				"point node %d at it with GTIDs from the start (CHANGE MASTER TO … MASTER_USE_GTID = slave_pos; START SLAVE)", c.Spec.StandbyOf, p.Ordinal),
			after...),
		newStep(kp("standby-verify"), "Verify standby replication", HandlerVerifyStandby, p, enginekit.StartTimeout,
			fmt.Sprintf("Wait until SHOW REPLICA STATUS on node %d shows its I/O and SQL threads running", p.Ordinal), kp("standby-attach")),
	}
}

// detachStep drops a standby's replication account on its source when the
// standby is deleted.
func detachStep(c *dbplane.Cluster) []dbplane.PlanStep {
	if c.Spec.StandbyOf == 0 {
		return nil
	}
	p := enginekit.PrimaryOf(&dbplane.Cluster{Nodes: planNodes(c)})
	return []dbplane.PlanStep{newStep("my-standby-detach", "Drop the standby's account on its source", HandlerDetachStandby, p, enginekit.ShortTimeout,
		fmt.Sprintf("Drop the account %s on the primary of cluster %d, if that cluster still runs", standbyUser(c), c.Spec.StandbyOf))}
}

// lastSteps returns the keys of the steps no other step follows.
func lastSteps(steps []dbplane.PlanStep) []string {
	followed := map[string]bool{}
	for _, s := range steps {
		for _, up := range s.After {
			followed[up] = true
		}
	}
	var keys []string
	for _, s := range steps {
		if !followed[s.Key] {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

// source returns the primary of the standby's source cluster (a galera
// source's member 0, whose binary log goes back to the cluster's
// beginning), with the source.
func (s *step) source(ctx context.Context) (node, error) {
	src, err := s.e.Store.FindClusterByID(ctx, s.Cluster.Spec.StandbyOf)
	if dbplane.ErrorKind(err) == dbplane.KindNotFound {
		return node{}, dbplane.Permanent(fmt.Errorf("the source cluster %d of standby %s is gone", s.Cluster.Spec.StandbyOf, s.Cluster.Name))
	} else if err != nil {
		return node{}, fmt.Errorf("while reading the source cluster %d: %w", s.Cluster.Spec.StandbyOf, err)
	}
	return nodeOf(src, enginekit.PrimaryOf(src).Ordinal)
}

// attachStandby makes the standby's primary replicate from its source's
// primary with GTIDs. It gives the standby an account of its own on the
// source (REPLICATION SLAVE only, from the standby node's address) with a
// fresh random password, which lives only in the standby's master info
// (like a replica's: nothing else needs it, and running the step again
// draws a new one), and points the node at the source from its GTID
// position (slave_pos): the position of the copy it was seeded from, set
// before the first CHANGE MASTER, and where it stands afterwards. With SSL
// on at the source, it connects over TLS and verifies the source's
// certificate with the control plane's CA.
func (e *Engine) attachStandby(ctx context.Context, s *step) error {
	n := s.n
	src, err := s.source(ctx)
	if err != nil {
		return err
	}
	if src.Cluster.Spec.SSL && !s.Cluster.Spec.SSL {
		return dbplane.Permanent(fmt.Errorf("the source cluster %s has SSL on: standby %s needs SSL on to verify it", src.Cluster.Name, s.Cluster.Name))
	}
	from, err := nodeSource(n.Node)
	if err != nil {
		return err
	}
	host, err := accountHost(from)
	if err != nil {
		return err
	}
	pw, err := enginekit.NewSecret(ctx)
	if err != nil {
		return err
	}
	sa, err := s.Agent(ctx, src.Node)
	if err != nil {
		return err
	}
	user := standbyUser(s.Cluster)
	if _, err := s.sql(ctx, sa, src, accountScript(user, host, nativeHash(pw), "REPLICATION SLAVE", requireClause(src.Cluster))); err != nil {
		return fmt.Errorf("while creating the standby's replication account on cluster %s: %w", src.Cluster.Name, err)
	}
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	status, err := s.sql(ctx, a, n, "SHOW REPLICA STATUS;\n")
	if err != nil {
		return fmt.Errorf("while reading the replication state of node %d: %w", n.Ordinal, err)
	}
	tls := ""
	if src.Cluster.Spec.SSL {
		tls = fmt.Sprintf(", MASTER_SSL = 1, MASTER_SSL_CA = %s, MASTER_SSL_VERIFY_SERVER_CERT = 1", quoteLiteral(n.caFile()))
	}
	script := fmt.Sprintf("CHANGE MASTER TO MASTER_HOST = %s, MASTER_PORT = %d, MASTER_USER = %s, MASTER_PASSWORD = %s, "+
		"MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 2%s;\nSTART SLAVE;\n",
		quoteLiteral(src.Address), src.Port, quoteLiteral(user), quoteLiteral(pw), tls)
	if len(rows(status)) > 0 {
		script = "STOP SLAVE;\n" + script
	} else if pos, err := s.seedPosition(ctx, a); err != nil {
		return err
	} else if pos != "" {
		// A seeded node replicates from where its copy was taken.
		script = fmt.Sprintf("SET GLOBAL gtid_slave_pos = %s;\n", quoteLiteral(pos)) + script
	}
	if _, err := s.sql(ctx, a, n, script, pw); err != nil {
		return fmt.Errorf("while attaching node %d to cluster %s: %w", n.Ordinal, src.Cluster.Name, err)
	}
	s.Logf("node %d replicates from %s (node %d of cluster %s) as %s@%s, from its GTID position", n.Ordinal, src.hostPort(),
		src.Ordinal, src.Cluster.Name, user, host)
	return nil
}

// detachStandby drops the standby's replication account on its source, so
// that a deleted standby leaves no way in behind. It is best effort: a
// source that is gone or cannot be reached must not keep the standby from
// being deleted, so the step logs what it left and succeeds.
func (e *Engine) detachStandby(ctx context.Context, s *step) error {
	user := standbyUser(s.Cluster)
	src, err := s.source(ctx)
	if err != nil {
		s.Logf("no source to drop %s from: %v", user, err)
		return nil
	}
	from, err := nodeSource(s.n.Node)
	if err != nil {
		return err
	}
	host, err := accountHost(from)
	if err != nil {
		return err
	}
	a, err := s.Agent(ctx, src.Node)
	if err == nil {
		_, err = s.sql(ctx, a, src, fmt.Sprintf("DROP USER IF EXISTS %s;\n", account(user, host)))
	}
	if err != nil {
		s.Logf("left the account %s@%s on cluster %s: %v", user, host, src.Cluster.Name, err)
		return nil
	}
	s.Logf("dropped the account %s@%s on cluster %s", user, host, src.Cluster.Name)
	return nil
}

// verifyStandby waits until the standby's replicating node runs both
// replication threads.
func (e *Engine) verifyStandby(ctx context.Context, s *step) error {
	n := s.n
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	return poll(ctx, streamTimeout, func(ctx context.Context) (bool, string) {
		st, err := s.replicationStatus(ctx, a)
		if err != nil {
			return false, err.Error()
		}
		if st.State != dbplane.ReplicationStreaming {
			return false, fmt.Sprintf("replication %s: I/O running %v, SQL running %v %s", st.State, st.IORunning, st.SQLRunning, st.LastError)
		}
		s.Logf("node %d replicates from its source: I/O and SQL threads run, GTID position %s", n.Ordinal, st.Position)
		return true, ""
	}, func(last string) error {
		return fmt.Errorf("node %d does not replicate from its source after %s: %s", n.Ordinal, streamTimeout, last)
	})
}

// replicationStatus reads SHOW REPLICA STATUS on the step's node.
func (s *step) replicationStatus(ctx context.Context, a dbplane.HostAgent) (dbplane.ReplicationStatus, error) {
	out, err := s.sql(ctx, a, s.n, "SHOW REPLICA STATUS;\n")
	if err != nil {
		return dbplane.ReplicationStatus{}, err
	}
	return parseReplicaStatus(rows(out)), nil
}

// parseReplicaStatus turns the rows of SHOW REPLICA STATUS into a
// replication status (without its source and time).
func parseReplicaStatus(rs []map[string]string) dbplane.ReplicationStatus {
	if len(rs) == 0 {
		return dbplane.ReplicationStatus{State: dbplane.ReplicationStopped, LastError: "no replication is configured"}
	}
	r := rs[0]
	st := dbplane.ReplicationStatus{
		IORunning:  r["Slave_IO_Running"] == "Yes",
		SQLRunning: r["Slave_SQL_Running"] == "Yes",
		Position:   r["Gtid_Slave_Pos"],
	}
	if lag, err := strconv.ParseInt(r["Seconds_Behind_Master"], 10, 64); err == nil {
		st.LagSeconds = &lag
	}
	switch {
	case r["Last_IO_Error"] != "" || r["Last_SQL_Error"] != "":
		st.State = dbplane.ReplicationError
		st.LastError = lastErrors(r)[2:]
	case st.IORunning && st.SQLRunning:
		st.State = dbplane.ReplicationStreaming
	default:
		st.State = dbplane.ReplicationStopped
	}
	return st
}

// probeTimeout bounds one replication check of the standby monitor.
const probeTimeout = 10 * time.Second

// ReplicationStatus asks a standby's replicating node (its primary) how
// its replication from the source stands. It fails when the node cannot
// be asked.
func (e *Engine) ReplicationStatus(ctx context.Context, c *dbplane.Cluster) (dbplane.ReplicationStatus, error) {
	if c.Spec.StandbyOf == 0 {
		return dbplane.ReplicationStatus{}, dbplane.Errorf(dbplane.KindInvalid, "cluster %s is not a standby", c.Name)
	}
	n, err := nodeOf(c, enginekit.PrimaryOf(c).Ordinal)
	if err != nil {
		return dbplane.ReplicationStatus{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	s := e.steps().NewStep(&enginekit.Step{Deps: e.Deps, Cluster: c, Node: n.Node, Logf: func(string, ...any) {}})
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return dbplane.ReplicationStatus{}, err
	}
	return s.replicationStatus(ctx, a)
}
