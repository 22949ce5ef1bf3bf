package mysql

import (
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// osUser is the OS account every MariaDB process and file belongs to. The
// Debian packages create it; one account serves every cluster on a host.
const osUser = "mysql"

// Node roles, as placement records them.
const (
	RolePrimary = enginekit.RolePrimary
	RoleReplica = enginekit.RoleReplica
	RoleMember  = "member" // a galera member: every member takes writes
)

// Offsets of a galera member's ports from its SQL port. Placement gives
// every node a SQL port (3306, 3307, … on a host); the galera ports follow
// from it, so several clusters share a host without two members asking for
// the same port, and 3306 maps to galera's usual 4567 and 4444. The three
// ranges do not meet while a host carries fewer than 100 MariaDB nodes; the
// precheck makes sure every port is free anyway.
const (
	gcommOffset = 1261 // group communication: 3306 → 4567
	istOffset   = 1361 // incremental state transfer: 3306 → 4667
	sstOffset   = 1138 // snapshot state transfer (mariadb-backup over socat): 3306 → 4444
)

// node is a node of a cluster with the names and paths dbplane gives it on
// its host. Everything a node owns on its host is either its data directory
// or its home beside it, so removing the two removes the node.
type node enginekit.Node

// name is the node's name inside MariaDB (wsrep_node_name).
func (n node) name() string { return "node" + strconv.Itoa(n.Ordinal) }

// serverID is the node's server_id: unique in the cluster, never 0 (which
// would keep a node from replicating). A standby's are apart from its
// source's, whose events it would otherwise skip as its own.
func (n node) serverID() int {
	if n.Cluster != nil && n.Cluster.Spec.StandbyOf != 0 {
		return standbyServerIDBase + n.Ordinal + 1
	}
	return n.Ordinal + 1
}

// instanceID names the node's process for the agent: unique on a host,
// because a host carries at most one node of a cluster.
func (n node) instanceID() string { return enginekit.InstanceID("my", n.Node) }

// home holds what belongs to the node but not to its data directory: the
// configuration, the socket, the pid file, the server log and the init
// marker. The data directory is MariaDB's alone: a galera state transfer
// replaces it wholesale.
func (n node) home() string { return enginekit.Home(n.Node) }

func (n node) confFile() string   { return path.Join(n.home(), "my.cnf") }
func (n node) confDir() string    { return path.Join(n.home(), "conf.d") }
func (n node) sstFile() string    { return path.Join(n.confDir(), "sst.cnf") }
func (n node) socketPath() string { return path.Join(n.home(), "mariadbd.sock") }
func (n node) pidFile() string    { return path.Join(n.home(), "mariadbd.pid") }
func (n node) logFile() string    { return path.Join(n.home(), "mariadbd.log") }

// filesDir is the only directory LOAD DATA, LOAD_FILE and SELECT … INTO
// OUTFILE may touch (secure_file_priv): every cluster on a host runs as the
// same OS user, so they must not reach other files.
func (n node) filesDir() string { return path.Join(n.home(), "files") }

// tmpDir holds the node's temporary files (tmpdir). Each node has its own:
// mariadb-install-db runs of several nodes that share a host's /tmp fail
// now and then, losing each other's temporary tables.
func (n node) tmpDir() string { return path.Join(n.home(), "tmp") }

// initMarker is written once mariadb-install-db has finished: a data
// directory without it holds an interrupted initialisation.
func (n node) initMarker() string { return path.Join(n.home(), "install-db.done") }

func (n node) dataFile(name string) string { return path.Join(n.DataDir, name) }

// hostPort is the address clients reach the node at.
func (n node) hostPort() string { return enginekit.JoinHostPort(n.Address, n.Port) }

// Galera ports, from the SQL port.
func (n node) gcommPort() int { return n.Port + gcommOffset }
func (n node) istPort() int   { return n.Port + istOffset }
func (n node) sstPort() int   { return n.Port + sstOffset }

// ports are the TCP ports the node listens on.
func (n node) ports() []int {
	if n.Cluster.Topology == dbplane.TopologyGalera {
		return []int{n.Port, n.gcommPort(), n.istPort(), n.sstPort()}
	}
	if n.Cluster.Spec.StandbyOf != 0 {
		return []int{n.Port, n.seedPort()} // a standby's copy arrives there
	}
	return []int{n.Port}
}

// joinInts joins ports for messages: "3306, 4567".
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// isPrimary reports whether the node is its cluster's primary (for galera:
// the member that bootstraps the cluster).
func (n node) isPrimary() bool { return n.Node.Ordinal == enginekit.PrimaryOf(n.Cluster).Ordinal }

// nodeOf returns the node of c with the given ordinal.
func nodeOf(c *dbplane.Cluster, ordinal int) (node, error) {
	n, err := enginekit.NodeOf(c, ordinal)
	return node{Node: n, Cluster: c}, err
}

// members returns every node of c by ordinal.
func members(c *dbplane.Cluster) []node {
	var out []node
	for _, m := range enginekit.SortedNodes(c) {
		m.ClusterID = c.ID
		out = append(out, node{Node: m, Cluster: c})
	}
	return out
}

// others returns the nodes of c except n, by ordinal.
func others(c *dbplane.Cluster, n node) []node {
	return slices.DeleteFunc(members(c), func(m node) bool { return m.Ordinal == n.Ordinal })
}

// Paths of the MariaDB programs and the galera provider, as the Debian
// packages install them.
const (
	mariadbd       = "/usr/sbin/mariadbd"
	installDB      = "/usr/bin/mariadb-install-db"
	mariadbClient  = "/usr/bin/mariadb"
	galeraProvider = "/usr/lib/galera/libgalera_smm.so"
)
