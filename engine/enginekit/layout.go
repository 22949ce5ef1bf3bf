package enginekit

import (
	"fmt"
	"net"
	"strconv"

	"github.com/dbplane/dbplane"
)

// RoleReplica is the role placement gives a replica of a cluster's
// primary.
const RoleReplica = "replica"

// Home returns the home of node n: the directory beside its data directory
// that holds what belongs to the node but not to its data (configuration,
// socket, log, TLS files). Everything a node owns on its host is in one or
// the other, so removing the two removes the node.
func Home(n dbplane.Node) string { return n.DataDir + ".d" }

// NodePaths returns what removing node n deletes: its data directory and
// its home.
func NodePaths(n dbplane.Node) []string { return []string{n.DataDir, Home(n)} }

// InstanceID names the process of node n for its agent,
// "<prefix>-<cluster>-<ordinal>": unique on a host, because a host carries
// at most one node of a cluster.
func InstanceID(prefix string, n dbplane.Node) string {
	return fmt.Sprintf("%s-%d-%d", prefix, n.ClusterID, n.Ordinal)
}

// JoinHostPort joins an address and a port, bracketing IPv6 addresses.
func JoinHostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// Node is a node of a cluster as its steps act on it: the node, with its
// cluster. Each engine defines its node type from it (type node
// enginekit.Node) and gives it the names and paths of its own.
type Node struct {
	dbplane.Node
	Cluster *dbplane.Cluster
}

// On returns the node the step acts on, with its cluster.
func (s *Step) On() Node { return Node{Node: s.Node, Cluster: s.Cluster} }
