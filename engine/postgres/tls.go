package postgres

import "path"

// A node's TLS files live in its home, not its data directory: a base
// backup neither copies the primary's nor wipes the replica's, and removing
// the node removes them. Clients and replicas verify the certificate with
// sslmode=verify-full; PostgreSQL requires the key to be 0600 and owned by
// postgres, as the kit writes it.
func (n node) certFile() string { return path.Join(n.home(), "server.crt") }
func (n node) keyFile() string  { return path.Join(n.home(), "server.key") }
func (n node) caFile() string   { return path.Join(n.home(), "ca.crt") }
