package redis

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

// Persistence modes of a spec.
const (
	PersistenceRDB = "rdb"
	PersistenceAOF = "aof"
)

// clusterNodeTimeout is how long (ms) a Redis cluster node may be
// unreachable before the others consider it failed and fail over.
const clusterNodeTimeout = 5000

// setting is one line of redis.conf: a directive and its arguments.
type setting struct{ name, value string }

// renderConf returns the redis.conf of n: dbplane's settings, then the
// spec's parameters, then the include of the node's replication
// credentials, which the "Create users" step writes. dbplane writes the whole
// file, so it always says what the cluster's spec says.
func renderConf(n node, memoryMB int64, vcpus int) ([]byte, error) {
	if err := CheckParameters(n.Cluster.Spec.Parameters); err != nil {
		return nil, err
	}
	settings, err := nodeSettings(n, memoryMB, vcpus)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by dbplane for node %d of cluster %s (Redis %s, %s).\n", n.Ordinal, n.Cluster.Name, n.Cluster.Version, n.Role)
	b.WriteString("# dbplane rewrites this file: change the cluster's parameters instead.\n\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "%s %s\n", s.name, confValue(s.value))
	}
	params := n.Cluster.Spec.Parameters
	if len(params) > 0 {
		b.WriteString("\n# Parameters of the cluster's spec.\n")
		for _, k := range slices.Sorted(maps.Keys(params)) {
			fmt.Fprintf(&b, "%s %s\n", k, confValue(params[k]))
		}
	}
	b.WriteString("\n# The replication user's credentials (masteruser, masterauth), kept apart and 0600.\n")
	fmt.Fprintf(&b, "include %s\n", n.authFile())
	return []byte(b.String()), nil
}

// nodeSettings are the settings dbplane decides for n.
func nodeSettings(n node, memoryMB int64, vcpus int) ([]setting, error) {
	c := n.Cluster
	sized := dbplane.EngineSettings(dbplane.EngineRedis, memoryMB, vcpus)
	s := append([]setting{{"bind", n.Address}}, listenSettings(n)...)
	s = append(s, []setting{
		{"protected-mode", "yes"},
		{"daemonize", "no"},
		{"supervised", "no"},
		// Keep the command line as the agent started it, so that the
		// agent recognises the process in its pid file after a restart.
		{"set-proc-title", "no"},
		{"pidfile", n.pidFile()},
		{"logfile", ""}, // standard output, which the agent appends to the node's log
		{"dir", n.DataDir},
		{"dbfilename", "dump.rdb"},
		{"aclfile", n.aclFile()},
		// Commands that reach the host's files or code stay off: every
		// cluster on a host runs as the same OS user.
		{"enable-protected-configs", "no"},
		{"enable-debug-command", "no"},
		{"enable-module-command", "no"},
		{"maxmemory", sized["maxmemory"]},
		{"maxmemory-policy", "noeviction"},
		{"maxclients", sized["maxclients"]},
		{"replica-read-only", "yes"},
		{"replica-announce-ip", n.Address},
		// A full sync streams at once instead of after Redis' 5 s wait for
		// more replicas (or, with repl-diskless-sync-max-replicas, its
		// once-a-second check for them): a replica that asks during a
		// transfer gets the next, which starts as soon as that one ends, so
		// replicas that come together cost at most two transfers.
		{"repl-diskless-sync-delay", "0"},
	}...)
	persist, err := persistenceSettings(c.Spec.Persistence)
	if err != nil {
		return nil, err
	}
	s = append(s, persist...)
	switch {
	case n.isRedisCluster():
		s = append(s,
			setting{"cluster-enabled", "yes"},
			setting{"cluster-config-file", n.nodesFile()},
			setting{"cluster-port", strconv.Itoa(n.busPort())},
			setting{"cluster-announce-ip", n.Address},
			setting{"cluster-node-timeout", strconv.Itoa(clusterNodeTimeout)},
			setting{"cluster-require-full-coverage", "yes"},
			// Replicas stay in the shard dbplane put them in.
			setting{"cluster-allow-replica-migration", "no"})
	case !n.isPrimary():
		p, err := nodeOf(c, primaryOf(c))
		if err != nil {
			return nil, err
		}
		s = append(s, setting{"replicaof", p.Address + " " + strconv.Itoa(p.Port)})
	}
	return s, nil
}

// persistenceSettings are the settings of a persistence mode: RDB
// snapshots (the default) after an hour with a change, 5 minutes with 100,
// or a minute with 10000; or an append-only file synced every second, with
// no snapshots besides the AOF's own.
func persistenceSettings(mode string) ([]setting, error) {
	switch mode {
	case "", PersistenceRDB:
		return []setting{{"save", "3600 1 300 100 60 10000"}, {"appendonly", "no"}}, nil
	case PersistenceAOF:
		return []setting{{"save", ""}, {"appendonly", "yes"}, {"appendfsync", "everysec"}}, nil
	}
	return nil, dbplane.Permanent(dbplane.Invalid(dbplane.FieldError{Field: "persistence",
		Message: fmt.Sprintf("must be %s or %s, not %q", PersistenceRDB, PersistenceAOF, mode)}))
}

// confValue renders the arguments of a directive. Values are checked to hold
// no quotes, backslashes or control characters, so they are written as
// they are (a value of several words is several arguments, as `save` takes);
// only the empty value needs quotes.
func confValue(v string) string {
	if v == "" {
		return `""`
	}
	return v
}

// parameterName matches Redis directive names.
var parameterName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)

// ownedParameters are set by dbplane, or reach the host's files, programs or
// other clusters: a cluster's spec may not set them. Every cluster on a host
// runs as the same OS user, so a directive that names a file could read or
// overwrite another cluster's data.
var ownedParameters = map[string]bool{
	"bind": true, "bind-source-addr": true, "port": true, "protected-mode": true, "daemonize": true,
	"supervised": true, "set-proc-title": true, "proc-title-template": true, "pidfile": true,
	"logfile": true, "syslog-enabled": true, "syslog-ident": true, "syslog-facility": true,
	"dir": true, "dbfilename": true, "appendfilename": true, "appenddirname": true,
	"aclfile": true, "user": true, "requirepass": true, "masteruser": true, "masterauth": true,
	"replicaof": true, "slaveof": true, "replica-read-only": true, "slave-read-only": true,
	"replica-announce-ip": true, "slave-announce-ip": true, "replica-announce-port": true, "slave-announce-port": true,
	"include": true, "loadmodule": true, "rename-command": true, "unixsocket": true, "unixsocketperm": true,
	"enable-protected-configs": true, "enable-debug-command": true, "enable-module-command": true,
	"save": true, "appendonly": true,
}

// ownedPrefixes start the names of directive families dbplane owns: the
// cluster's layout and TLS (which names certificate files).
var ownedPrefixes = []string{"cluster-", "tls-"}

// CheckParameters reports the parameters of a spec that dbplane refuses:
// directives it sets itself (addresses, files, users, replication,
// persistence, cluster layout), directives that reach host files or code,
// malformed names, and values with quotes, backslashes or control
// characters, which could smuggle another directive into redis.conf. The
// service calls it when a cluster is created; configuring a node checks
// again.
func CheckParameters(params map[string]string) error {
	return enginekit.Screen(params, func(k, v string) string {
		switch {
		case !parameterName.MatchString(k):
			return "is not a Redis directive name"
		case ownedParameters[k] || slices.ContainsFunc(ownedPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }):
			return "is set by dbplane"
		case enginekit.HasControl(v) || strings.ContainsAny(v, `"'\`):
			return "may not contain quotes, backslashes or control characters"
		}
		return ""
	})
}

// CheckParameters lets the service check a new cluster's parameters through
// the engine; see the package function of the same name.
func (e *Engine) CheckParameters(params map[string]string) error { return CheckParameters(params) }
