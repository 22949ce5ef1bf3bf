package redis

import (
	"context"

	"github.com/dbplane/dbplane/engine/enginekit"
)

// Host is where the step's node sits on its host, for the kit's host
// steps: the packages of the cluster's version; the node's port and, in a
// Redis cluster, its cluster bus port; its data directory (where Redis
// writes its snapshots, append-only files and cluster state) and home,
// owned by redis and 0700; its TLS files in its home.
func (s *step) Host() enginekit.Host {
	n := s.n
	return enginekit.Host{Engine: engineName, Product: "Redis", Version: s.Cluster.Version, User: osUser,
		InstanceID: n.instanceID(), Ports: n.ports(), Mode: 0o700,
		Cert: n.certFile(), Key: n.keyFile(), CA: n.caFile()}
}

// stop stops the node: the undo of starting it.
func (e *Engine) stop(ctx context.Context, s *step) error { return s.Host().Stop(ctx, s.Step) }
