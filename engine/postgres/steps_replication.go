package postgres

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

// Roles dbplane creates in every cluster.
const (
	// AdminUser is the cluster's administrator, with the spec's password.
	AdminUser = "admin"
	// replicationUser is the role replicas stream as.
	replicationUser = "replicator"
)

// createUsers creates the admin user with the cluster's password and the
// replication user with a fresh random password, and writes the replication
// password to the password file of every node. Running it again draws a new
// replication password and rewrites every copy, so a run that stopped half
// way leaves nothing inconsistent behind.
func (e *Engine) createUsers(ctx context.Context, s *step) error {
	password, err := s.AdminPassword(ctx)
	if err != nil {
		return err
	}
	adminVerifier, err := scramVerifier(password)
	if err != nil {
		return err
	}
	replPassword, err := enginekit.NewSecret(ctx)
	if err != nil {
		return err
	}
	replVerifier, err := scramVerifier(replPassword)
	if err != nil {
		return err
	}
	if err := s.writePassFiles(ctx, replPassword); err != nil {
		return err
	}
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	if _, err := s.psql(ctx, a, s.n, usersScript(adminVerifier, replVerifier)); err != nil {
		return fmt.Errorf("while creating users: %w", err)
	}
	s.Logf("created user %s (SCRAM-SHA-256) and replication user %s; the replication password is in each node's %s",
		AdminUser, replicationUser, "pgpass file")
	return nil
}

// writePassFiles writes the replication password to the password file of
// every node (the primary's too: it streams from another node if it is
// ever demoted). The files are 0600 and owned by postgres, as libpq
// requires.
func (s *step) writePassFiles(ctx context.Context, password string) error {
	content := []byte("*:*:replication:" + replicationUser + ":" + pgpassEscape(password) + "\n")
	for _, m := range enginekit.SortedNodes(s.Cluster) {
		n, err := nodeOf(s.Cluster, m.Ordinal)
		if err != nil {
			return err
		}
		a, err := s.Agent(ctx, n.Node)
		if err != nil {
			return err
		}
		if err := a.WriteFile(ctx, dbplane.File{Path: n.passFile(), Owner: osUser, Mode: 0o600, Content: content}); err != nil {
			return fmt.Errorf("while writing the password file of node %d on host %d: %w", n.Ordinal, n.HostID, err)
		}
	}
	return nil
}

// pgpassEscape escapes a .pgpass field.
func pgpassEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(s)
}

// usersScript creates or updates the two roles. The admin user owns the
// postgres database (and so its public schema), may create databases, and
// reads and writes all data and statistics; it is neither a superuser nor
// CREATEROLE, both of which reach the postgres OS account on PostgreSQL 15,
// and that account is shared by every cluster on the host.
func usersScript(adminVerifier, replVerifier string) string {
	return fmt.Sprintf(`SELECT 'CREATE ROLE %[1]s' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%[1]s') \gexec
ALTER ROLE %[1]s WITH LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION PASSWORD %[2]s;
GRANT pg_monitor, pg_read_all_data, pg_write_all_data, pg_signal_backend TO %[1]s;
ALTER DATABASE postgres OWNER TO %[1]s;
SELECT 'CREATE ROLE %[3]s' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%[3]s') \gexec
ALTER ROLE %[3]s WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %[4]s;
`, AdminUser, quoteLiteral(adminVerifier), replicationUser, quoteLiteral(replVerifier))
}

// baseBackup copies the primary into the replica's data directory with
// pg_basebackup, streaming from a replication slot that keeps the WAL the
// replica needs. The copy is complete once standby.signal is written after
// it; an incomplete one is discarded and taken again.
func (e *Engine) baseBackup(ctx context.Context, s *step) error {
	n := s.n
	p, err := s.primary()
	if err != nil {
		return err
	}
	if n.Ordinal == p.Ordinal {
		return dbplane.Permanent(fmt.Errorf("node %d is the primary: it has no base backup", n.Ordinal))
	}
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	done, err := allExist(ctx, a, n, n.dataFile("PG_VERSION"), n.dataFile("standby.signal"))
	if err != nil {
		return err
	}
	if done {
		s.Logf("node %d already holds a base backup", n.Ordinal)
		return nil
	}
	if err := s.createSlot(ctx, p, n); err != nil {
		return err
	}
	if err := s.Host().EmptyDataDir(ctx, s.Step, a); err != nil {
		return err
	}
	cmd := asPostgres(n, s.bin("pg_basebackup"), "-h", p.Address, "-p", strconv.Itoa(p.Port), "-U", replicationUser,
		"-D", n.DataDir, "-X", "stream", "-S", n.slot(), "--checkpoint=fast", "--no-password")
	cmd.Env = []string{"PGPASSFILE=" + n.passFile(), "PGAPPNAME=" + n.name(), "PGCONNECT_TIMEOUT=10"}
	if s.Cluster.Spec.SSL {
		cmd.Env = append(cmd.Env, "PGSSLMODE=verify-full", "PGSSLROOTCERT="+n.caFile())
	}
	if d, ok := ctx.Deadline(); ok {
		cmd.Timeout = time.Until(d)
	}
	if _, err := enginekit.Run(ctx, a, cmd); err != nil {
		return fmt.Errorf("while copying the primary to node %d: %w", n.Ordinal, err)
	}
	if err := a.WriteFile(ctx, dbplane.File{Path: n.dataFile("standby.signal"), Owner: osUser, Mode: 0o600}); err != nil {
		return fmt.Errorf("while marking node %d a standby: %w", n.Ordinal, err)
	}
	s.Logf("copied the primary (%s) to %s on host %d", p.hostPort(), n.DataDir, n.HostID)
	return nil
}

// createSlot creates the replica's physical replication slot on the
// primary, unless it exists. The slot reserves WAL at once, so none the
// base backup needs is recycled before the replica streams. A copy still
// running from an earlier attempt (its agent died under it) is cut off
// first: it would hold the slot and write into the directory this attempt
// empties.
func (s *step) createSlot(ctx context.Context, p, n node) error {
	pa, err := s.Agent(ctx, p.Node)
	if err != nil {
		return err
	}
	script := fmt.Sprintf(`SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = %[2]s;
SELECT pg_create_physical_replication_slot(%[1]s, true)
WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = %[1]s);
`, quoteLiteral(n.slot()), quoteLiteral(n.name()))
	if _, err := s.psql(ctx, pa, p, script); err != nil {
		return fmt.Errorf("while creating replication slot %s: %w", n.slot(), err)
	}
	return nil
}

// verifyStreaming waits until the primary reports the replica streaming,
// with the synchronous state its replication mode gives it.
func (e *Engine) verifyStreaming(ctx context.Context, s *step) error {
	n := s.n
	p, err := s.primary()
	if err != nil {
		return err
	}
	a, err := s.Agent(ctx, p.Node)
	if err != nil {
		return err
	}
	want := wantSyncStates(s.Cluster.Spec.ReplicationMode)
	query := fmt.Sprintf("SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s;\n", quoteLiteral(n.name()))
	last := "not connected"
	err = enginekit.Poll(ctx, streamTimeout, func(ctx context.Context) error {
		out, err := s.psql(ctx, a, p, query)
		if err != nil {
			return err
		}
		state, sync, _ := strings.Cut(out, "|")
		if state == "streaming" && slices.Contains(want, sync) {
			s.Logf("node %d streams from the primary (sync_state %s)", n.Ordinal, sync)
			return nil
		}
		if out != "" {
			last = "state " + state + ", sync_state " + sync
		}
		return errors.New(last)
	})
	if err != nil {
		return fmt.Errorf("node %d does not stream as %s (%s) after %s", n.Ordinal, strings.Join(want, " or "), last, streamTimeout)
	}
	return nil
}

// wantSyncStates are the sync_state values pg_stat_replication shows for a
// replica under a replication mode.
func wantSyncStates(mode string) []string {
	switch mode {
	case dbplane.ReplicationSync:
		return []string{"sync", "potential"}
	case dbplane.ReplicationQuorum:
		return []string{"quorum"}
	}
	return []string{"async"}
}
