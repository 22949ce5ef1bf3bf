package redis

import (
	"net/url"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// Endpoints returns where clients connect. For standalone and replication:
// the primary, the replicas by ordinal, and redis://admin@<primary>. For a
// Redis cluster: shard 0's primary as Primary, every replica as Replicas,
// and a URI that lists every shard primary as a seed, in the form go-redis'
// ParseClusterURL reads (redis://admin@<primary 0>?addr=<primary 1>&…); a
// cluster client learns the rest of the cluster from any seed. The URI
// names the admin user; it never holds the password. Nil before the nodes
// are placed.
//
// With SSL on, the URI's scheme is rediss:// (TLS) and CACert holds the CA
// certificate, which clients verify the nodes' certificates and addresses
// with.
func (e *Engine) Endpoints(c *dbplane.Cluster) *dbplane.Endpoints {
	if len(c.Nodes) == 0 {
		return nil
	}
	nodes := enginekit.SortedNodes(c)
	primaries := slices.DeleteFunc(slices.Clone(nodes), func(n dbplane.Node) bool { return !isPrimary(c, n.Ordinal) })
	if len(primaries) == 0 {
		return nil
	}
	ep := e.Deps.Endpoints(c, primaries[0], enginekit.Replicas(nodes, primaryIn(c)))
	u := url.URL{Scheme: "redis", User: url.User(AdminUser), Host: ep.Primary}
	if c.Spec.SSL {
		u.Scheme = "rediss"
	}
	if c.Topology == dbplane.TopologyRedisCluster && len(primaries) > 1 {
		seeds := make([]string, 0, len(primaries)-1)
		for _, n := range primaries[1:] {
			seeds = append(seeds, "addr="+enginekit.JoinHostPort(n.Address, n.Port)) // host:port needs no escaping in a query
		}
		u.RawQuery = strings.Join(seeds, "&")
	}
	ep.URI = u.String()
	return ep
}
