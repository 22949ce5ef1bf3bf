package redis

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path"
	"strconv"

	"github.com/dbplane/dbplane"
)

// A node's TLS files live in its home, beside its configuration. The kit
// writes them 0600 and owned by redis.
func (n node) certFile() string { return path.Join(n.home(), "tls.crt") }
func (n node) keyFile() string  { return path.Join(n.home(), "tls.key") }
func (n node) caFile() string   { return path.Join(n.home(), "ca.crt") }

// listenSettings say where the node serves: plain TCP on its port or,
// when its cluster has SSL on, TLS only on that port (port 0 closes the
// plain one). Replication and the cluster bus then use TLS too; a node
// connecting to another verifies the other's chain against the CA (Redis
// checks no name). Clients authenticate with their ACL password, not a
// certificate (tls-auth-clients no).
func listenSettings(n node) []setting {
	if !n.Cluster.Spec.SSL {
		return []setting{{"port", strconv.Itoa(n.Port)}}
	}
	s := []setting{
		{"port", "0"},
		{"tls-port", strconv.Itoa(n.Port)},
		{"tls-cert-file", n.certFile()},
		{"tls-key-file", n.keyFile()},
		{"tls-ca-cert-file", n.caFile()},
		{"tls-auth-clients", "no"},
		{"tls-replication", "yes"},
	}
	if n.isRedisCluster() {
		s = append(s, setting{"tls-cluster", "yes"})
	}
	return s
}

// tlsConfig is how the control plane reaches n: over TLS, verifying the
// node's certificate and address against the CA, when its cluster has SSL
// on; nil (plain TCP) otherwise.
func (s *step) tlsConfig(n node) (*tls.Config, error) {
	if !s.Cluster.Spec.SSL {
		return nil, nil
	}
	if s.e.CA == nil {
		return nil, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "cluster %s has SSL on, but the engine has no CA to verify its nodes", s.Cluster.Name))
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.e.CA.CertPEM()) {
		return nil, dbplane.Permanent(fmt.Errorf("the CA certificate does not parse"))
	}
	return &tls.Config{RootCAs: roots, ServerName: n.Address, MinVersion: tls.VersionTLS12}, nil
}
