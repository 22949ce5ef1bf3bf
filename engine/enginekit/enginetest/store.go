package enginetest

import (
	"context"

	"github.com/dbplane/dbplane"
)

// Dialer hands out agents by host id.
type Dialer map[int64]dbplane.HostAgent

// Agent returns the agent of host hostID.
func (d Dialer) Agent(_ context.Context, hostID int64) (dbplane.HostAgent, error) {
	a, ok := d[hostID]
	if !ok {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "host %d not found", hostID)
	}
	return a, nil
}

// Store holds one task of one cluster, and the zones of its hosts.
type Store struct {
	TaskID   int64
	Cluster  *dbplane.Cluster
	Password string
	NewPW    string           // the password of a password change task
	Zones    map[int64]string // by host id
}

// FindTaskByID returns the store's task, which changes its cluster.
func (s *Store) FindTaskByID(_ context.Context, id int64) (*dbplane.Task, error) {
	if id != s.TaskID {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "task %d not found", id)
	}
	return &dbplane.Task{ID: id, ClusterID: s.Cluster.ID}, nil
}

// FindClusterByID returns the store's cluster.
func (s *Store) FindClusterByID(_ context.Context, id int64) (*dbplane.Cluster, error) {
	if id != s.Cluster.ID {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
	}
	return s.Cluster, nil
}

// ClusterPassword returns the cluster's admin password.
func (s *Store) ClusterPassword(_ context.Context, id int64) (string, error) {
	if id != s.Cluster.ID {
		return "", dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
	}
	return s.Password, nil
}

// TaskPassword returns the new password of the store's task, if it has one.
func (s *Store) TaskPassword(_ context.Context, id int64) (string, error) {
	if id != s.TaskID || s.NewPW == "" {
		return "", dbplane.Errorf(dbplane.KindNotFound, "task %d has no new password", id)
	}
	return s.NewPW, nil
}

// FindHostByID returns a host of a known zone.
func (s *Store) FindHostByID(_ context.Context, id int64) (*dbplane.Host, error) {
	z, ok := s.Zones[id]
	if !ok {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "host %d not found", id)
	}
	return &dbplane.Host{ID: id, Zone: z}, nil
}
