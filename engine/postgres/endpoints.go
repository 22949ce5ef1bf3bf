package postgres

import (
	"net"
	"net/url"
	"strconv"
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
	ep := &dbplane.Endpoints{Primary: joinHostPort(p.Address, p.Port)}
	hosts := []string{ep.Primary}
	for _, n := range enginekit.SortedNodes(c) {
		if n.Ordinal != p.Ordinal {
			hp := joinHostPort(n.Address, n.Port)
			ep.Replicas = append(ep.Replicas, hp)
			hosts = append(hosts, hp)
		}
	}
	u := url.URL{
		Scheme:   "postgresql",
		User:     url.User(AdminUser),
		Host:     strings.Join(hosts, ","),
		Path:     "/postgres",
		RawQuery: "target_session_attrs=read-write",
	}
	if c.Spec.SSL {
		u.RawQuery += "&sslmode=verify-full"
		if e.CA != nil {
			ep.CACert = string(e.CA.CertPEM())
		}
	}
	ep.URI = u.String()
	return ep
}

// joinHostPort joins an address and a port, bracketing IPv6 addresses.
func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
