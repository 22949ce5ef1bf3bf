package postgres

import (
	"context"

	"github.com/dbplane/dbplane/engine/enginekit"
)

// Host is where the step's node sits on its host, for the kit's host
// steps: the packages of the cluster's version; the node's socket and
// port; its data directory and home owned by postgres and 0700, as
// PostgreSQL insists of the data directory; its TLS files in its home.
func (s *step) Host() enginekit.Host {
	n := s.n
	return enginekit.Host{Engine: engineName, Product: "PostgreSQL", Version: s.e.version(s.Cluster), User: osUser,
		InstanceID: n.instanceID(), Socket: n.socketPath(), Ports: []int{n.Port}, Mode: dataDirMode,
		Cert: n.certFile(), Key: n.keyFile(), CA: n.caFile()}
}

// stop stops the node: the undo of starting it.
func (e *Engine) stop(ctx context.Context, s *step) error { return s.Host().Stop(ctx, s.Step) }

// dataDirMode is the mode of a node's data directory: postgres refuses
// one that others may read.
const dataDirMode = 0o700
