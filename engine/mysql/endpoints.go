package mysql

import (
	"context"
	"net/url"
	"slices"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// zoneLookupTimeout bounds the store lookups of a galera cluster's
// endpoints.
const zoneLookupTimeout = 2 * time.Second

// Endpoints returns where clients connect. For a replicated cluster: the
// primary (read-write) and the read-only replicas by ordinal. For galera,
// where every member takes writes: the preferred write member first (the
// first member of the spec's primary_zone, else member 0), then the other
// members of that zone, then the rest by ordinal; clients send writes to
// the first to avoid certification conflicts between members, and use the
// others as alternates. The URI names the admin user and the write
// endpoint; it never holds the password. Nil before the nodes are placed.
//
// With SSL on, the URI adds ssl-mode=VERIFY_IDENTITY (MySQL's URI form)
// and CACert holds the CA certificate: a client verifies the server's
// chain with it and its name against the address it dialed.
func (e *Engine) Endpoints(c *dbplane.Cluster) *dbplane.Endpoints {
	if len(c.Nodes) == 0 {
		return nil
	}
	var order []dbplane.Node
	if c.Topology == dbplane.TopologyGalera {
		order = e.byZone(c)
	} else {
		p := enginekit.PrimaryOf(c)
		order = append([]dbplane.Node{p}, slices.DeleteFunc(enginekit.SortedNodes(c), func(n dbplane.Node) bool { return n.Ordinal == p.Ordinal })...)
	}
	ep := e.Deps.Endpoints(c, order[0], order[1:])
	u := url.URL{Scheme: "mysql", User: url.User(AdminUser), Host: ep.Primary, Path: "/"}
	if c.Spec.SSL {
		u.RawQuery = "ssl-mode=VERIFY_IDENTITY"
	}
	ep.URI = u.String()
	return ep
}

// byZone orders a galera cluster's members: those in the primary zone
// first, each group by ordinal. Nodes do not record their zone, so it comes
// from their hosts; when the store cannot tell, the members stay in
// ordinal order.
func (e *Engine) byZone(c *dbplane.Cluster) []dbplane.Node {
	nodes := enginekit.SortedNodes(c)
	pz := c.Spec.PrimaryZone
	if pz == "" || e.Store == nil {
		return nodes
	}
	ctx, cancel := context.WithTimeout(context.Background(), zoneLookupTimeout)
	defer cancel()
	inZone := map[int]bool{}
	for _, n := range nodes {
		h, err := e.Store.FindHostByID(ctx, n.HostID)
		if err != nil {
			e.Log().Warn("cannot tell the zone of a galera member; listing members by ordinal",
				"cluster", c.Name, "node", n.Ordinal, "host", n.HostID, "error", err)
			return nodes
		}
		inZone[n.Ordinal] = h.Zone == pz
	}
	slices.SortStableFunc(nodes, func(a, b dbplane.Node) int {
		switch {
		case inZone[a.Ordinal] == inZone[b.Ordinal]:
			return 0
		case inZone[a.Ordinal]:
			return -1
		}
		return 1
	})
	return nodes
}
