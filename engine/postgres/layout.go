package postgres

import (
	"path"
	"strconv"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// osUser is the OS account every PostgreSQL process and file belongs to. The
// Debian packages create it; one account serves every cluster on a host.
const osUser = "postgres"

// Node roles, as placement records them.
const (
	RolePrimary = enginekit.RolePrimary
	RoleReplica = enginekit.RoleReplica
)

// node is a node of a cluster with the names and paths dbplane gives it on
// its host. Everything a node owns on its host is either its data directory
// or its home beside it, so removing the two removes the node.
type node enginekit.Node

// name is the node's name inside PostgreSQL: its application_name when it
// streams, and what synchronous_standby_names lists. It is short and free of
// the cluster name so that it always fits PostgreSQL's 63-byte names.
func (n node) name() string { return "node" + strconv.Itoa(n.Ordinal) }

// slot is the physical replication slot the node streams from.
func (n node) slot() string { return "dbplane_node" + strconv.Itoa(n.Ordinal) }

// instanceID names the node's process for the agent: unique on a host,
// because a host carries at most one node of a cluster.
func (n node) instanceID() string { return enginekit.InstanceID("pg", n.Node) }

// home holds what belongs to the node but must not live in its data
// directory: the Unix socket, the server log, the replication password file
// and the initdb marker. pg_basebackup needs an empty data directory, and
// copies whatever the primary's holds.
func (n node) home() string { return enginekit.Home(n.Node) }

func (n node) socketDir() string  { return n.home() }
func (n node) socketPath() string { return path.Join(n.home(), ".s.PGSQL."+strconv.Itoa(n.Port)) }
func (n node) logFile() string    { return path.Join(n.home(), "postgresql.log") }
func (n node) passFile() string   { return path.Join(n.home(), "pgpass") }

// initMarker is written once initdb has finished: a data directory without
// it holds an interrupted initdb.
func (n node) initMarker() string { return path.Join(n.home(), "initdb.done") }

func (n node) dataFile(name string) string { return path.Join(n.DataDir, name) }

// hostPort is the address clients reach the node at.
func (n node) hostPort() string { return enginekit.JoinHostPort(n.Address, n.Port) }

// isPrimary reports whether the node is its cluster's primary.
func (n node) isPrimary() bool { return n.Node.Ordinal == enginekit.PrimaryOf(n.Cluster).Ordinal }

// nodeOf returns the node of c with the given ordinal.
func nodeOf(c *dbplane.Cluster, ordinal int) (node, error) {
	n, err := enginekit.NodeOf(c, ordinal)
	return node{Node: n, Cluster: c}, err
}

// others returns the nodes of c except n, by ordinal.
func others(c *dbplane.Cluster, n node) []node {
	var out []node
	for _, m := range enginekit.SortedNodes(c) {
		if m.Ordinal != n.Ordinal {
			m.ClusterID = c.ID
			out = append(out, node{Node: m, Cluster: c})
		}
	}
	return out
}

// binary returns the path of a PostgreSQL program of the cluster's major
// version, as the Debian packages install it.
func binary(version, program string) string {
	return path.Join("/usr/lib/postgresql", version, "bin", program)
}
