package postgres

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// setting is one line of postgresql.conf.
type setting struct{ name, value string }

// renderConf returns the postgresql.conf of n: dbplane's settings, then the
// user's parameters. dbplane writes the whole file (initdb's and
// pg_basebackup's copies are replaced), so the file always says what the
// cluster's spec says.
func renderConf(n node, version string, size sizing) ([]byte, error) {
	if err := CheckParameters(n.Cluster.Spec.Parameters); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by dbplane for node %d of cluster %s (PostgreSQL %s).\n", n.Ordinal, n.Cluster.Name, version)
	b.WriteString("# dbplane rewrites this file: change the cluster's parameters instead.\n\n")
	params := n.Cluster.Spec.Parameters
	for _, s := range nodeSettings(n, size) {
		if _, ok := params[s.name]; ok {
			continue // the spec's value follows; one line per setting reads better
		}
		fmt.Fprintf(&b, "%s = %s\n", s.name, confValue(s.value))
	}
	if len(params) > 0 {
		b.WriteString("\n# Parameters of the cluster's spec.\n")
		for _, k := range slices.Sorted(maps.Keys(params)) {
			fmt.Fprintf(&b, "%s = %s\n", k, confValue(params[k]))
		}
	}
	return []byte(b.String()), nil
}

// nodeSettings are the settings dbplane decides for n.
func nodeSettings(n node, size sizing) []setting {
	c := n.Cluster
	senders := strconv.Itoa(max(10, 2*len(c.Nodes)))
	s := []setting{
		{"listen_addresses", n.Address},
		{"port", strconv.Itoa(n.Port)},
		{"unix_socket_directories", n.socketDir()},
		{"unix_socket_permissions", "0700"},
		{"cluster_name", fmt.Sprintf("%s-%d", c.Name, n.Ordinal)},
	}
	s = append(s, sizeSettings(size)...)
	s = append(s, []setting{
		{"maintenance_work_mem", strconv.FormatInt(min(max(size.memoryMB/16, 64), 2048), 10) + "MB"},
		{"password_encryption", "scram-sha-256"},
		{"wal_level", "replica"},
		{"max_wal_senders", senders},
		{"max_replication_slots", senders},
		{"max_slot_wal_keep_size", strconv.Itoa(slotKeepMB(c.Spec.VolumeGB)) + "MB"},
		{"hot_standby", "on"},
		{"synchronous_standby_names", synchronousStandbyNames(n)},
		{"timezone", "UTC"},
		{"log_timezone", "UTC"},
		{"log_line_prefix", "%m [%p] %q%u@%d "},
	}...)
	s = append(s, tlsSettings(n)...)
	if !n.isPrimary() {
		p, _ := nodeOf(c, enginekit.PrimaryOf(c).Ordinal)
		s = append(s,
			setting{"primary_conninfo", primaryConninfo(n, p)},
			setting{"primary_slot_name", n.slot()})
	}
	return s
}

// tlsSettings turn TLS on with the node's certificate when its cluster has
// SSL on. ssl_ca_file lets clients present certificates of the CA too;
// pg_hba.conf still authenticates them by password.
func tlsSettings(n node) []setting {
	if !n.Cluster.Spec.SSL {
		return nil
	}
	return []setting{
		{"ssl", "on"},
		{"ssl_cert_file", n.certFile()},
		{"ssl_key_file", n.keyFile()},
		{"ssl_ca_file", n.caFile()},
		{"ssl_min_protocol_version", "TLSv1.2"},
	}
}

// sizeOrder is the order of the size settings in postgresql.conf.
var sizeOrder = []string{"max_connections", "shared_buffers", "effective_cache_size", "work_mem"}

// sizeSettings are the memory and connection settings of a node of the
// given size: dbplane.EngineSettings', the very numbers the flavor catalog
// shows, so the two never disagree. Any it adds later follow in name
// order.
func sizeSettings(size sizing) []setting {
	m := dbplane.EngineSettings(dbplane.EnginePostgreSQL, size.memoryMB, size.vcpus)
	names := slices.Collect(maps.Keys(m))
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := slices.Index(sizeOrder, a), slices.Index(sizeOrder, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	s := make([]setting, len(names))
	for i, name := range names {
		s[i] = setting{name, m[name]}
	}
	return s
}

// slotKeepMB bounds the WAL a replication slot holds for a replica that is
// gone to a tenth of the volume (at least 1 GB), so that a dead replica
// cannot fill the primary's disk.
func slotKeepMB(volumeGB int) int { return max(volumeGB*1024/10, 1024) }

// synchronousStandbyNames lists the other nodes of n's cluster in the form
// the replication mode asks for. Every node names every other node, so a
// replica that becomes primary needs no new setting.
//
//	async:  ''                    — no standby is waited for
//	sync:   FIRST 1 ("node1", …)  — the first connected is sync, the others potential
//	quorum: ANY k ("node1", …)    — k = ⌈others/2⌉ must confirm, all show quorum
func synchronousStandbyNames(n node) string {
	c := n.Cluster
	names := make([]string, 0, len(c.Nodes))
	for _, m := range others(c, n) {
		names = append(names, `"`+m.name()+`"`)
	}
	if len(names) == 0 || c.Topology != dbplane.TopologyReplication {
		return ""
	}
	list := strings.Join(names, ", ")
	switch c.Spec.ReplicationMode {
	case dbplane.ReplicationSync:
		return "FIRST 1 (" + list + ")"
	case dbplane.ReplicationQuorum:
		return fmt.Sprintf("ANY %d (%s)", (len(names)+1)/2, list)
	}
	return ""
}

// primaryConninfo is how replica n reaches the primary p: as the
// replication user, with the password from the node's password file, named
// so that synchronous_standby_names and pg_stat_replication know it.
func primaryConninfo(n, p node) string {
	kv := []setting{
		{"host", p.Address},
		{"port", strconv.Itoa(p.Port)},
		{"user", replicationUser},
		{"passfile", n.passFile()},
		{"application_name", n.name()},
		{"connect_timeout", "5"},
	}
	if n.Cluster.Spec.SSL {
		// The replica checks the primary's certificate and address as
		// any client does.
		kv = append(kv, setting{"sslmode", "verify-full"}, setting{"sslrootcert", n.caFile()})
	}
	parts := make([]string, len(kv))
	for i, s := range kv {
		parts[i] = s.name + "=" + conninfoValue(s.value)
	}
	return strings.Join(parts, " ")
}

// conninfoValue quotes a libpq connection string value.
func conninfoValue(v string) string {
	if v != "" && !strings.ContainsAny(v, ` '\`) {
		return v
	}
	v = strings.ReplaceAll(v, `\`, `\\`)
	return "'" + strings.ReplaceAll(v, `'`, `\'`) + "'"
}

// bareValue matches values postgresql.conf takes without quotes: words
// and numbers, with or without a unit.
var bareValue = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*|[0-9]+(\.[0-9]+)?[A-Za-z]*)$`)

// confValue renders a postgresql.conf value, quoting it unless it is a
// plain word or number. The file format treats backslashes as escapes.
func confValue(v string) string {
	if bareValue.MatchString(v) {
		return v
	}
	v = strings.ReplaceAll(v, `\`, `\\`)
	return "'" + strings.ReplaceAll(v, `'`, `''`) + "'"
}

// ownedParameters are set by dbplane: a cluster's spec may not change them.
var ownedParameters = map[string]bool{
	"listen_addresses": true, "port": true, "unix_socket_directories": true, "unix_socket_permissions": true,
	"unix_socket_group": true, "cluster_name": true, "wal_level": true, "max_wal_senders": true,
	"max_replication_slots": true, "hot_standby": true, "synchronous_standby_names": true,
	"primary_conninfo": true, "primary_slot_name": true, "password_encryption": true,
	"data_directory": true, "include": true, "include_dir": true, "include_if_exists": true,
	"dynamic_library_path": true, "ssl": true,
}

// hostAccessSuffixes end the names of parameters that name host programs,
// files or directories. Every cluster on a host shares the postgres OS
// account, so such a parameter would let one cluster reach the files of
// another.
var hostAccessSuffixes = []string{"_command", "_file", "_filename", "_keyfile", "_directory"}

// CheckParameters reports the parameters of a spec that dbplane refuses:
// those it sets itself (addresses, replication, passwords) and those that
// name host programs, files or directories. Libraries may be preloaded by
// name, from the server's library directory, but not by path. The service
// calls it when a cluster is created; configuring a node checks again.
func CheckParameters(params map[string]string) error {
	return enginekit.Screen(params, func(k, v string) string {
		switch {
		case ownedParameters[k]:
			return "is set by dbplane"
		case slices.ContainsFunc(hostAccessSuffixes, func(s string) bool { return strings.HasSuffix(k, s) }):
			return "names a host program, file or directory"
		case (strings.HasSuffix(k, "_libraries") || strings.HasSuffix(k, "_library")) && strings.ContainsAny(v, `/\`):
			return "libraries are named, not given by path"
		case enginekit.HasControl(v):
			return "a value may not hold control characters"
		}
		return ""
	})
}

// renderHBA returns the pg_hba.conf of the cluster. The first line that
// matches a connection decides, and nothing matches by default:
//
//   - postgres connects only over the node's socket, as the postgres OS
//     user (peer);
//   - the replication user connects from the cluster's nodes;
//   - everyone else connects from the allowlist, with a SCRAM password.
//
// With SSL on, the last two connect over TLS only (hostssl): a connection
// without TLS matches none of their lines and is rejected.
func renderHBA(c *dbplane.Cluster) ([]byte, error) {
	allow, err := allowlist(c)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by dbplane for cluster %s. dbplane rewrites this file.\n", c.Name)
	line := func(typ, db, user, addr, method string) {
		fmt.Fprintf(&b, "%-7s %-12s %-12s %-20s %s\n", typ, db, user, addr, method)
	}
	line("# TYPE", "DATABASE", "USER", "ADDRESS", "METHOD")
	line("local", "all", osUser, "", "peer")
	line("local", "all", "all", "", "reject")
	line("local", "replication", "all", "", "reject")
	for _, network := range []string{"0.0.0.0/0", "::/0"} {
		line("host", "all", osUser, network, "reject")
		line("host", "replication", osUser, network, "reject")
		line("host", "all", replicationUser, network, "reject")
	}
	peers, err := replicationSources(c)
	if err != nil {
		return nil, err
	}
	remote := "host"
	if c.Spec.SSL {
		remote = "hostssl"
	}
	for _, p := range peers {
		line(remote, "replication", replicationUser, p, "scram-sha-256")
	}
	for _, p := range allow {
		line(remote, "all", "all", p, "scram-sha-256")
	}
	for _, network := range []string{"0.0.0.0/0", "::/0"} {
		line("host", "all", "all", network, "reject")
		line("host", "replication", "all", network, "reject")
	}
	return []byte(b.String()), nil
}

// allowlist returns the prefixes clients may connect from: the spec's
// allowlist or, without one, the loopback networks and the cluster's own
// hosts, so that a cluster is closed to the network until its owner opens
// it.
func allowlist(c *dbplane.Cluster) ([]string, error) {
	if len(c.Spec.Allowlist) == 0 {
		defaults := []string{"127.0.0.0/8", "::1/128"}
		nodes, err := replicationSources(c)
		if err != nil {
			return nil, err
		}
		return uniq(append(defaults, nodes...)), nil
	}
	listed, err := enginekit.Allowlist(c)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(listed))
	for _, p := range listed {
		out = append(out, p.String())
	}
	return uniq(out), nil
}

// replicationSources returns the prefixes the cluster's nodes connect from.
// A connection between two loopback addresses leaves from 127.0.0.1 whatever
// address the node listens on, so a loopback node stands for its whole
// loopback network.
func replicationSources(c *dbplane.Cluster) ([]string, error) {
	var out []string
	for _, n := range enginekit.SortedNodes(c) {
		a, err := netip.ParseAddr(n.Address)
		if err != nil {
			return nil, dbplane.Permanent(fmt.Errorf("node %d has address %q, not an IP address: %w", n.Ordinal, n.Address, err))
		}
		switch {
		case a.Is4() && a.IsLoopback():
			out = append(out, "127.0.0.0/8")
		default:
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String())
		}
	}
	return uniq(out), nil
}

// uniq drops repeated entries, keeping the first of each.
func uniq(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// CheckParameters lets the service check a new cluster's parameters through
// the engine; see the package function of the same name.
func (e *Engine) CheckParameters(params map[string]string) error { return CheckParameters(params) }
