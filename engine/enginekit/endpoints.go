package enginekit

import "github.com/dbplane/dbplane"

// Endpoints returns where clients reach the cluster's nodes, each as
// host:port: the primary (where writes go) and the replicas, in the order
// given. With SSL on, CACert holds the CA certificate that clients verify
// the nodes' certificates with. The engine adds the URI, in the form its
// clients read.
func (d Deps) Endpoints(c *dbplane.Cluster, primary dbplane.Node, replicas []dbplane.Node) *dbplane.Endpoints {
	ep := &dbplane.Endpoints{Primary: JoinHostPort(primary.Address, primary.Port)}
	for _, n := range replicas {
		ep.Replicas = append(ep.Replicas, JoinHostPort(n.Address, n.Port))
	}
	if c.Spec.SSL && d.CA != nil {
		ep.CACert = string(d.CA.CertPEM())
	}
	return ep
}
