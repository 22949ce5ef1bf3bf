package mysql

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// setting is one line of a node's my.cnf.
type setting struct{ name, value string }

// Semi-synchronous replication: a commit on the primary returns once a
// replica has acknowledged it (AFTER_SYNC: before the primary's own
// engines commit it, so no client can see a write a failover would lose).
// When no replica acknowledges within the timeout, the primary stops
// waiting and replicates asynchronously until a replica catches up: it
// trades the guarantee for availability. A cluster's parameters may set
// rpl_semi_sync_master_timeout to move that trade-off.
const semiSyncTimeoutMS = 10000

// binlogRetentionSeconds keeps binary logs a week: a replica that is
// attached from an empty server replays the primary's logs from the
// beginning, and a replica that was away catches up from them.
const binlogRetentionSeconds = 7 * 24 * 3600

// renderConf returns the my.cnf of n: dbplane's settings, then the user's
// parameters (a later line wins in MariaDB's option files), then the
// node's conf.d, which holds the galera state transfer's credentials.
// dbplane writes the whole file, so it always says what the cluster's spec
// says. mariadbd reads it alone (--defaults-file); the [mysqld] group is
// also what mariadb-backup and the galera state transfer scripts read.
func renderConf(n node, version string, memoryMB int64, vcpus int) ([]byte, error) {
	if err := CheckParameters(n.Cluster.Spec.Parameters); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by dbplane for node %d of cluster %s (MariaDB %s, %s).\n",
		n.Ordinal, n.Cluster.Name, version, n.Cluster.Topology)
	b.WriteString("# dbplane rewrites this file: change the cluster's parameters instead.\n")
	b.WriteString("[mysqld]\n")
	for _, s := range nodeSettings(n, memoryMB, vcpus) {
		fmt.Fprintf(&b, "%s = %s\n", s.name, confValue(s.value))
	}
	params := n.Cluster.Spec.Parameters
	if len(params) > 0 {
		b.WriteString("\n# Parameters of the cluster's spec.\n")
		for _, k := range slices.Sorted(maps.Keys(params)) {
			fmt.Fprintf(&b, "%s = %s\n", k, confValue(params[k]))
		}
	}
	if n.Cluster.Topology == dbplane.TopologyGalera {
		// socat, which carries state transfers, listens on (and
		// connects from) the member's address only, like galera's
		// other ports.
		fmt.Fprintf(&b, "\n[sst]\nsockopt = %s\n", confValue("bind="+socatAddr(n.Address)))
	}
	fmt.Fprintf(&b, "\n!includedir %s\n", n.confDir())
	return []byte(b.String()), nil
}

// nodeSettings are the settings dbplane decides for n.
func nodeSettings(n node, memoryMB int64, vcpus int) []setting {
	sizing := dbplane.EngineSettings(dbplane.EngineMySQL, memoryMB, vcpus)
	s := []setting{
		{"datadir", n.DataDir},
		{"socket", n.socketPath()},
		{"pid_file", n.pidFile()},
		{"bind_address", n.Address},
		{"port", strconv.Itoa(n.Port)},
		{"skip_name_resolve", "ON"},
		{"secure_file_priv", n.filesDir()},
		{"tmpdir", n.tmpDir()},
		{"character_set_server", "utf8mb4"},
		{"collation_server", "utf8mb4_unicode_ci"},
		{"default_time_zone", "+00:00"},
		{"innodb_buffer_pool_size", mariadbSize(sizing["innodb_buffer_pool_size"])},
		{"max_connections", sizing["max_connections"]},
		{"innodb_flush_log_at_trx_commit", "1"},
		{"server_id", strconv.Itoa(n.serverID())},
		{"binlog_format", "ROW"},
	}
	s = append(s, tlsSettings(n)...)
	if n.Cluster.Topology == dbplane.TopologyGalera {
		s = append(s, galeraSettings(n)...)
	} else {
		s = append(s, replicationSettings(n)...)
	}
	return append(s, standbySettings(n, s)...)
}

// replicationSettings give every standalone and replicated node a binary
// log with GTIDs, so that a replica can be attached to any of them.
func replicationSettings(n node) []setting {
	s := []setting{
		{"log_bin", "mariadb-bin"},
		{"relay_log", "relay-bin"},
		{"log_slave_updates", "ON"},
		{"gtid_strict_mode", "ON"},
		{"sync_binlog", "1"},
		{"binlog_expire_logs_seconds", strconv.Itoa(binlogRetentionSeconds)},
		{"relay_log_recovery", "ON"},
		{"report_host", n.Address},
		{"report_port", strconv.Itoa(n.Port)},
	}
	if n.Cluster.Topology != dbplane.TopologyReplication {
		return s
	}
	semiSync := modeOf(n.Cluster) != dbplane.ReplicationAsync
	switch {
	case n.isPrimary() && semiSync:
		s = append(s,
			setting{"rpl_semi_sync_master_enabled", "ON"},
			setting{"rpl_semi_sync_master_wait_point", "AFTER_SYNC"},
			setting{"rpl_semi_sync_master_wait_no_slave", "ON"},
			setting{"rpl_semi_sync_master_timeout", strconv.Itoa(semiSyncTimeoutMS)})
	case !n.isPrimary():
		s = append(s, setting{"read_only", "ON"})
		if semiSync {
			s = append(s, setting{"rpl_semi_sync_slave_enabled", "ON"})
		}
	}
	return s
}

// galeraSettings make n a member of its galera cluster. Every member lists
// every member in wsrep_cluster_address; the galera ports follow from each
// member's SQL port and are bound to the member's address only, so that
// clusters share hosts.
func galeraSettings(n node) []setting {
	var addrs []string
	for _, m := range members(n.Cluster) {
		addrs = append(addrs, enginekit.JoinHostPort(m.Address, m.gcommPort()))
	}
	gcomm := enginekit.JoinHostPort(n.Address, n.gcommPort())
	return []setting{
		{"innodb_autoinc_lock_mode", "2"},
		{"wsrep_on", "ON"},
		{"wsrep_provider", galeraProvider},
		{"wsrep_cluster_name", n.Cluster.Name},
		{"wsrep_cluster_address", "gcomm://" + strings.Join(addrs, ",")},
		{"wsrep_node_name", n.name()},
		{"wsrep_node_address", gcomm},
		{"wsrep_provider_options", fmt.Sprintf("gmcast.listen_addr=tcp://%s;ist.recv_addr=%s",
			gcomm, enginekit.JoinHostPort(n.Address, n.istPort()))},
		{"wsrep_sst_method", "mariabackup"},
		{"wsrep_sst_receive_address", enginekit.JoinHostPort(n.Address, n.sstPort())},
		// A binary log with GTIDs that agree across the members, so
		// that a standby cluster can replicate from any member (MariaDB's
		// "Using MariaDB GTIDs with MariaDB Galera Cluster"): every
		// member logs what galera applies (log_slave_updates), galera's
		// writes share the cluster's domain (wsrep_gtid_mode,
		// wsrep_gtid_domain_id) and a member's local writes have a domain
		// of their own (gtid_domain_id).
		{"log_bin", "mariadb-bin"},
		{"relay_log", "relay-bin"},
		{"log_slave_updates", "ON"},
		{"binlog_expire_logs_seconds", strconv.Itoa(binlogRetentionSeconds)},
		{"relay_log_recovery", "ON"},
		{"wsrep_gtid_mode", "ON"},
		{"wsrep_gtid_domain_id", strconv.FormatUint(uint64(clusterDomain(n.Cluster)), 10)},
		{"gtid_domain_id", strconv.FormatUint(uint64(memberDomain(n)), 10)},
		{"report_host", n.Address},
		{"report_port", strconv.Itoa(n.Port)},
	}
}

// socatAddr writes an address as socat's options take it: IPv6 in
// brackets.
func socatAddr(addr string) string {
	if strings.Contains(addr, ":") {
		return "[" + addr + "]"
	}
	return addr
}

// mariadbSize turns a size of the flavor catalog ("2457MB") into MariaDB's
// notation ("2457M").
func mariadbSize(v string) string {
	if num, ok := strings.CutSuffix(v, "MB"); ok {
		return num + "M"
	}
	return v
}

// modeOf returns the cluster's replication mode; none means async.
func modeOf(c *dbplane.Cluster) string {
	if c.Spec.ReplicationMode == "" {
		return dbplane.ReplicationAsync
	}
	return c.Spec.ReplicationMode
}

// bareValue matches values my.cnf takes without quotes.
var bareValue = regexp.MustCompile(`^[A-Za-z0-9_.,:/@+-]+$`)

// confValue renders a my.cnf value, quoting it unless it is plain. Inside
// double quotes MariaDB undoes backslash escapes.
func confValue(v string) string {
	if bareValue.MatchString(v) {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// ownedParameters are set by dbplane: a cluster's spec may not change them.
var ownedParameters = map[string]bool{
	"datadir": true, "socket": true, "pid_file": true, "port": true, "bind_address": true,
	"skip_networking": true, "networking": true, "name_resolve": true, "server_id": true,
	"log_bin": true, "relay_log": true, "log_slave_updates": true, "binlog_format": true,
	"gtid_strict_mode": true, "gtid_domain_id": true, "read_only": true, "super_read_only": true,
	"report_host": true, "report_port": true, "relay_log_recovery": true, "secure_file_priv": true,
	"rpl_semi_sync_master_enabled": true, "rpl_semi_sync_slave_enabled": true,
	"rpl_semi_sync_master_wait_point": true, "rpl_semi_sync_master_wait_no_slave": true,
	"innodb_autoinc_lock_mode": true, "user": true, "basedir": true, "tmpdir": true,
	"plugin_load": true, "plugin_load_add": true, "plugin_maturity": true, "init_file": true,
	"log_error": true, "log_tc": true, "ssl_ca": true, "ssl_capath": true, "ssl_cert": true,
	"ssl_key": true, "ssl_crl": true, "ssl_crlpath": true, "defaults_file": true,
	"defaults_extra_file": true, "defaults_group_suffix": true, "log_bin_index": true, "relay_log_index": true,
	"require_secure_transport": true,
}

// hostAccessSuffixes end the names of parameters that name host files or
// directories. Every cluster on a host shares the mysql OS account, so such
// a parameter would let one cluster reach the files of another.
var hostAccessSuffixes = []string{"_file", "_dir", "_directory", "_path", "_basename", "_filename", "tmpdir"}

// optionPrefixes are the prefixes MariaDB's option parser strips from an
// option's name ("loose_" ignores an unknown option; "skip_" turns it off;
// "maximum_" caps what SET may give it): they name the same variable.
var optionPrefixes = []string{"loose_", "skip_", "enable_", "disable_", "maximum_"}

// CheckParameters reports the parameters of a spec that dbplane refuses:
// those it sets itself (addresses, files, binary log, replication,
// read_only, galera's wsrep_*), those that name host files or directories,
// and values holding control characters (a newline would add a line to the
// configuration file). The service calls it when a cluster is created;
// configuring a node checks again.
func CheckParameters(params map[string]string) error {
	return enginekit.Screen(params, func(k, v string) string {
		name := normalizedOption(k)
		switch {
		case ownedParameters[name] || strings.HasPrefix(name, "wsrep_"):
			return "is set by dbplane"
		case slices.ContainsFunc(hostAccessSuffixes, func(s string) bool { return strings.HasSuffix(name, s) }):
			return "names a host file or directory"
		case enginekit.HasControl(v):
			return "a value may not hold control characters"
		}
		return ""
	})
}

// normalizedOption returns the variable an option name sets: lower case,
// '-' as '_', without the parser's prefixes.
func normalizedOption(k string) string {
	name := strings.ReplaceAll(strings.ToLower(k), "-", "_")
	for {
		trimmed := name
		for _, p := range optionPrefixes {
			trimmed = strings.TrimPrefix(trimmed, p)
		}
		if trimmed == name {
			return name
		}
		name = trimmed
	}
}

// CheckParameters lets the service check a new cluster's parameters through
// the engine; see the package function of the same name.
func (e *Engine) CheckParameters(params map[string]string) error { return CheckParameters(params) }
