package mysql

import (
	"context"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// Host is where the step's node sits on its host, for the kit's host
// steps: the packages of the cluster's version, with socat for galera and
// standbys (mariadb-backup's state transfers and a standby's copy of its
// source stream over it); the node's socket and ports; its data directory
// and home with the conf.d, files and tmp directories, owned by mysql and
// 0750; its TLS files in its home.
func (s *step) Host() enginekit.Host {
	n := s.n
	h := enginekit.Host{Engine: engineName, Product: "MariaDB", Version: s.e.version(s.Cluster), User: osUser,
		InstanceID: n.instanceID(), Socket: n.socketPath(), Ports: n.ports(), Mode: dataDirMode,
		Dirs: []string{n.confDir(), n.filesDir(), n.tmpDir()},
		Cert: n.certFile(), Key: n.keyFile(), CA: n.caFile()}
	if s.Cluster.Topology == dbplane.TopologyGalera || s.Cluster.Spec.StandbyOf != 0 {
		h.Packages = []string{"socat"}
	}
	return h
}

// stop stops the node: the undo of starting it.
func (e *Engine) stop(ctx context.Context, s *step) error { return s.Host().Stop(ctx, s.Step) }

// dataDirMode is the mode of a node's data directory.
const dataDirMode = 0o750
