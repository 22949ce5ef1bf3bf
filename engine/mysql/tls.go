package mysql

import (
	"fmt"
	"path"

	"github.com/dbplane/dbplane"
)

// A node's TLS files live in its home, not its data directory, which a
// galera state transfer replaces wholesale. The kit writes them 0600 and
// owned by mysql.
func (n node) certFile() string { return path.Join(n.home(), "server-cert.pem") }
func (n node) keyFile() string  { return path.Join(n.home(), "server-key.pem") }
func (n node) caFile() string   { return path.Join(n.home(), "ca.pem") }

// tlsSettings turn TLS on with the node's certificate when its cluster has
// SSL on, and refuse TCP connections without it (require_secure_transport:
// the Unix socket, which dbplane and galera's state transfers use, counts
// as secure). Galera's own traffic between members (group communication,
// IST and SST) is not encrypted by them.
func tlsSettings(n node) []setting {
	if !n.Cluster.Spec.SSL {
		return nil
	}
	return []setting{
		{"ssl_cert", n.certFile()},
		{"ssl_key", n.keyFile()},
		{"ssl_ca", n.caFile()},
		{"tls_version", "TLSv1.2,TLSv1.3"},
		{"require_secure_transport", "ON"},
	}
}

// requireClause is how accounts that connect over TCP must connect: over
// TLS when the cluster has SSL on. REQUIRE NONE undoes it, should the
// setting ever change.
func requireClause(c *dbplane.Cluster) string {
	if c.Spec.SSL {
		return "REQUIRE SSL"
	}
	return "REQUIRE NONE"
}

// masterTLS are the CHANGE MASTER options that have replica n connect to
// its primary over TLS, verifying the primary's certificate and address
// against the CA; none without SSL.
func masterTLS(n node) string {
	if !n.Cluster.Spec.SSL {
		return ""
	}
	return fmt.Sprintf(", MASTER_SSL = 1, MASTER_SSL_CA = %s, MASTER_SSL_VERIFY_SERVER_CERT = 1", quoteLiteral(n.caFile()))
}
