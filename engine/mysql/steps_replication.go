package mysql

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// attachReplica makes replica n replicate from the primary with GTIDs. It
// gives the replica an account of its own on the primary (REPLICATION SLAVE
// only, from the replica's address) with a fresh random password, which
// lives only in the replica's master info, and points the replica at the
// primary from its current GTID position (slave_pos). A replica attached
// from an empty server replays the primary's binary log from its first
// event, which carries the admin accounts and everything else the primary
// was given. Running it again draws a new password and re-attaches the
// replica where it stands.
func (e *Engine) attachReplica(ctx context.Context, s *step) error {
	n := s.n
	p, err := s.primary()
	if err != nil {
		return err
	}
	if n.Ordinal == p.Ordinal {
		return dbplane.Permanent(fmt.Errorf("node %d is the primary: it replicates from no one", n.Ordinal))
	}
	src, err := nodeSource(n.Node)
	if err != nil {
		return err
	}
	host, err := accountHost(src)
	if err != nil {
		return err
	}
	pw, err := enginekit.NewSecret(ctx)
	if err != nil {
		return err
	}
	pa, err := s.Agent(ctx, p.Node)
	if err != nil {
		return err
	}
	user := replicationUser(n)
	if _, err := s.sql(ctx, pa, p, accountScript(user, host, nativeHash(pw), "REPLICATION SLAVE", requireClause(s.Cluster))); err != nil {
		return fmt.Errorf("while creating the replication account of node %d on the primary: %w", n.Ordinal, err)
	}
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	status, err := s.sql(ctx, a, n, "SHOW REPLICA STATUS;\n")
	if err != nil {
		return fmt.Errorf("while reading the replication state of node %d: %w", n.Ordinal, err)
	}
	script := fmt.Sprintf("CHANGE MASTER TO MASTER_HOST = %s, MASTER_PORT = %d, MASTER_USER = %s, MASTER_PASSWORD = %s, "+
		"MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 2%s;\nSTART SLAVE;\n",
		quoteLiteral(p.Address), p.Port, quoteLiteral(user), quoteLiteral(pw), masterTLS(n))
	if len(rows(status)) > 0 {
		script = "STOP SLAVE;\n" + script
	}
	if _, err := s.sql(ctx, a, n, script, pw); err != nil {
		return fmt.Errorf("while attaching node %d to the primary: %w", n.Ordinal, err)
	}
	s.Logf("node %d replicates from the primary %s as %s@%s, from its GTID position", n.Ordinal, p.hostPort(), user, host)
	return nil
}

// verifyReplica waits until the replica's I/O and SQL threads run (and,
// for semi-synchronous modes, it acknowledges as a semi-synchronous
// replica).
func (e *Engine) verifyReplica(ctx context.Context, s *step) error {
	n := s.n
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	semiSync := modeOf(s.Cluster) != dbplane.ReplicationAsync
	return poll(ctx, streamTimeout, func(ctx context.Context) (bool, string) {
		out, err := s.sql(ctx, a, n, "SHOW REPLICA STATUS;\n")
		if err != nil {
			return false, err.Error()
		}
		rs := rows(out)
		if len(rs) == 0 {
			return false, "no replication is configured"
		}
		r := rs[0]
		if r["Slave_IO_Running"] != "Yes" || r["Slave_SQL_Running"] != "Yes" {
			return false, fmt.Sprintf("Slave_IO_Running %s, Slave_SQL_Running %s%s", r["Slave_IO_Running"], r["Slave_SQL_Running"],
				lastErrors(r))
		}
		if semiSync {
			out, err := s.sql(ctx, a, n, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_slave_status';\n")
			if err != nil {
				return false, err.Error()
			}
			if v := nameValues(out)["rpl_semi_sync_slave_status"]; v != "ON" {
				return false, "Rpl_semi_sync_slave_status " + v
			}
		}
		mode := "asynchronous"
		if semiSync {
			mode = "semi-synchronous"
		}
		s.Logf("node %d replicates (%s): Slave_IO_Running Yes, Slave_SQL_Running Yes, GTID position %s", n.Ordinal, mode, r["Gtid_IO_Pos"])
		return true, ""
	}, func(last string) error {
		return fmt.Errorf("node %d does not replicate after %s: %s", n.Ordinal, streamTimeout, last)
	})
}

// lastErrors returns the replication errors of a SHOW REPLICA STATUS row.
func lastErrors(r map[string]string) string {
	var out string
	for _, k := range []string{"Last_IO_Error", "Last_SQL_Error"} {
		if r[k] != "" {
			out += "; " + k + ": " + r[k]
		}
	}
	return out
}

// verifyReplication checks on the primary that every replica is
// connected and, for semi-synchronous modes, turns waiting for replicas on
// (createUsers paused it) and waits until Rpl_semi_sync_master_status is ON
// with every replica a semi-synchronous client.
func (e *Engine) verifyReplication(ctx context.Context, s *step) error {
	n := s.n
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	replicas := others(s.Cluster, n)
	semiSync := modeOf(s.Cluster) != dbplane.ReplicationAsync
	if semiSync {
		if _, err := s.sql(ctx, a, n, "SET GLOBAL rpl_semi_sync_master_enabled = ON;\n"); err != nil {
			return fmt.Errorf("while turning semi-synchronous replication on: %w", err)
		}
	}
	return poll(ctx, streamTimeout, func(ctx context.Context) (bool, string) {
		out, err := s.sql(ctx, a, n, "SHOW SLAVE HOSTS;\n")
		if err != nil {
			return false, err.Error()
		}
		var ids []string
		for _, r := range rows(out) {
			ids = append(ids, r["Server_id"])
		}
		for _, m := range replicas {
			if !slices.Contains(ids, strconv.Itoa(m.serverID())) {
				return false, fmt.Sprintf("node %d (server_id %d) is not connected", m.Ordinal, m.serverID())
			}
		}
		if !semiSync {
			s.Logf("the primary serves %d replicas", len(replicas))
			return true, ""
		}
		out, err = s.sql(ctx, a, n, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_%';\n")
		if err != nil {
			return false, err.Error()
		}
		st := nameValues(out)
		status, clients := st["rpl_semi_sync_master_status"], st["rpl_semi_sync_master_clients"]
		if status != "ON" || clients != strconv.Itoa(len(replicas)) {
			return false, fmt.Sprintf("Rpl_semi_sync_master_status %s, Rpl_semi_sync_master_clients %s of %d", status, clients, len(replicas))
		}
		s.Logf("the primary serves %d replicas; semi-synchronous replication is on (AFTER_SYNC) with %s clients", len(replicas), clients)
		return true, ""
	}, func(last string) error {
		return fmt.Errorf("replication is not in place after %s: %s", streamTimeout, last)
	})
}

// poll calls check, paced by the kit's poller, until it reports done or
// timeout passes, and then returns fail with what check said last.
func poll(ctx context.Context, timeout time.Duration, check func(context.Context) (bool, string), fail func(last string) error) error {
	last := "not checked yet"
	err := enginekit.Poll(ctx, timeout, func(ctx context.Context) error {
		done, why := check(ctx)
		if why != "" {
			last = strings.TrimSpace(why)
		}
		if done {
			return nil
		}
		return errors.New(last)
	})
	if err != nil {
		return fail(last)
	}
	return nil
}
