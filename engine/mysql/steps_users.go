package mysql

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// createUsers creates the admin accounts on the primary (for galera: the
// bootstrap member), from which replication carries them to every other
// node. For galera it also creates the state transfer account with a fresh
// random password, written to every member's conf.d/sst.cnf. Running it
// again sets the same admin accounts, drops those of networks no longer
// allowed, and draws a new state transfer password everywhere.
func (e *Engine) createUsers(ctx context.Context, s *step) error {
	password, err := s.AdminPassword(ctx)
	if err != nil {
		return err
	}
	hosts, err := adminHosts(s.Cluster)
	if err != nil {
		return err
	}
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	if err := s.pauseSemiSync(ctx, a); err != nil {
		return err
	}
	out, err := s.sql(ctx, a, s.n, fmt.Sprintf("SELECT Host FROM mysql.user WHERE User = %s;\n", quoteLiteral(AdminUser)))
	if err != nil {
		return fmt.Errorf("while listing the admin accounts: %w", err)
	}
	var stale []string
	for _, r := range rows(out) {
		// A standby's other admin accounts are its source's: dropping
		// one would break replicating the source's next change of it.
		if !slices.Contains(hosts, r["Host"]) && s.Cluster.Spec.StandbyOf == 0 {
			stale = append(stale, r["Host"])
		}
	}
	if _, err := s.sql(ctx, a, s.n, adminScript(nativeHash(password), hosts, stale, requireClause(s.Cluster))); err != nil {
		return fmt.Errorf("while creating the admin accounts: %w", err)
	}
	s.Logf("account %s may connect from %s (mysql_native_password, %s; all privileges but %s)",
		AdminUser, strings.Join(hosts, ", "), requireClause(s.Cluster), adminRevoked)
	if len(stale) > 0 {
		s.Logf("dropped the accounts of %s from %s", AdminUser, strings.Join(stale, ", "))
	}
	if s.Cluster.Topology == dbplane.TopologyGalera {
		return s.createSSTUser(ctx, a)
	}
	return nil
}

// pauseSemiSync stops a semi-synchronous primary waiting for replicas
// while none is connected, as while the cluster is built: otherwise the
// first write would wait for the whole timeout. "Verify replication" turns
// it on again once every replica is attached; a restart reads it from
// my.cnf, where it is always on.
func (s *step) pauseSemiSync(ctx context.Context, a dbplane.HostAgent) error {
	if s.Cluster.Topology != dbplane.TopologyReplication || modeOf(s.Cluster) == dbplane.ReplicationAsync {
		return nil
	}
	out, err := s.sql(ctx, a, s.n, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients';\n")
	if err != nil {
		return fmt.Errorf("while reading the semi-synchronous replicas: %w", err)
	}
	if nameValues(out)["rpl_semi_sync_master_clients"] != "0" {
		return nil
	}
	if _, err := s.sql(ctx, a, s.n, "SET GLOBAL rpl_semi_sync_master_enabled = OFF;\n"); err != nil {
		return fmt.Errorf("while pausing semi-synchronous replication: %w", err)
	}
	s.Logf("no replica is attached yet: the primary does not wait for one until replication is verified")
	return nil
}

// sstPrivileges are what mariadb-backup needs on a donor.
const sstPrivileges = "RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR"

// createSSTUser creates the account mariadb-backup connects as on a galera
// donor (over its socket: 'localhost' only) with a new random password,
// writes the password to every member's conf.d/sst.cnf (0600, mysql), and
// sets it on the members that run, which read the file only when they
// start. The password lives only in those files and in the servers.
func (s *step) createSSTUser(ctx context.Context, a dbplane.HostAgent) error {
	pw, err := enginekit.NewSecret(ctx)
	if err != nil {
		return err
	}
	auth := sstUserOf(s.Cluster) + ":" + pw
	content := []byte("# Written by dbplane: the galera state transfer's account.\n[mysqld]\nwsrep_sst_auth = " + auth + "\n")
	var running []node
	for _, m := range members(s.Cluster) {
		ma, err := s.Agent(ctx, m.Node)
		if err != nil {
			return err
		}
		if err := ma.WriteFile(ctx, dbplane.File{Path: m.sstFile(), Owner: osUser, Mode: 0o600, Content: content}); err != nil {
			return fmt.Errorf("while writing the state transfer account of node %d on host %d: %w", m.Ordinal, m.HostID, err)
		}
		if m.Ordinal != s.n.Ordinal {
			if st, err := ma.InstanceStatus(ctx, m.instanceID()); err == nil && st.Running {
				running = append(running, m)
			}
		}
	}
	if _, err := s.sql(ctx, a, s.n, accountScript(sstUserOf(s.Cluster), "localhost", nativeHash(pw), sstPrivileges, "")); err != nil {
		return fmt.Errorf("while creating the state transfer account: %w", err)
	}
	set := fmt.Sprintf("SET GLOBAL wsrep_sst_auth = %s;\n", quoteLiteral(auth))
	for _, m := range append([]node{s.n}, running...) {
		ma, err := s.Agent(ctx, m.Node)
		if err != nil {
			return err
		}
		if _, err := s.sql(ctx, ma, m, set, pw); err != nil {
			return fmt.Errorf("while setting the state transfer account of node %d: %w", m.Ordinal, err)
		}
	}
	s.Logf("state transfer account %s@localhost (%s); its password is in each member's %s", sstUserOf(s.Cluster), sstPrivileges, "conf.d/sst.cnf")
	return nil
}
