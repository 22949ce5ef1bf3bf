package postgres

import (
	"net/url"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// Endpoints returns where clients connect: the primary, the replicas by
// ordinal, and a multi-host URI that lists the primary first and asks for a
// read-write session, so that a client finds the primary even after the
// roles change. The URI names the admin user and the postgres database; it
// never holds the password. Nil before the nodes are placed.
//
// With SSL on, the URI asks for sslmode=verify-full and CACert holds the
// CA certificate: a client saves it to a file and passes it as
// sslrootcert, which the URI cannot name for it.
func (e *Engine) Endpoints(c *dbplane.Cluster) *dbplane.Endpoints {
	if len(c.Nodes) == 0 {
		return nil
	}
	p := enginekit.PrimaryOf(c)
	ep := e.Deps.Endpoints(c, p, slices.DeleteFunc(enginekit.SortedNodes(c), func(n dbplane.Node) bool { return n.Ordinal == p.Ordinal }))
	u := url.URL{
		Scheme:   "postgresql",
		User:     url.User(AdminUser),
		Host:     strings.Join(append([]string{ep.Primary}, ep.Replicas...), ","),
		Path:     "/postgres",
		RawQuery: "target_session_attrs=read-write",
	}
	if c.Spec.SSL {
		u.RawQuery += "&sslmode=verify-full"
	}
	ep.URI = u.String()
	return ep
}
