package postgres

import (
	"context"
	"path"

	"github.com/dbplane/dbplane/engine/enginekit"
)

// A node's TLS files live in its home, not its data directory: a base
// backup neither copies the primary's nor wipes the replica's, and removing
// the node removes them.
func (n node) certFile() string { return path.Join(n.home(), "server.crt") }
func (n node) keyFile() string  { return path.Join(n.home(), "server.key") }
func (n node) caFile() string   { return path.Join(n.home(), "ca.crt") }

// writeTLS issues the node a server certificate (clients and replicas
// verify it with sslmode=verify-full) and writes it, its key and the CA
// certificate into the node's home, 0600 and owned by postgres as
// PostgreSQL requires of the key.
func (e *Engine) writeTLS(ctx context.Context, s *step) error {
	n := s.n
	return enginekit.WriteTLS(ctx, s.Step, enginekit.TLSFiles{
		Owner: osUser, Cert: n.certFile(), Key: n.keyFile(), CA: n.caFile(), Dir: n.home(),
	})
}
