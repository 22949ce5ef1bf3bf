// Package service implements the domain services every front door calls:
// clusters, tasks and hosts over the metadata store, with validation and
// task planning. Front doors (native API, OCP, …) only translate shapes.
package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
)

var (
	_ dbplane.ClusterService = (*Service)(nil)
	_ dbplane.TaskService    = (*Service)(nil)
	_ dbplane.HostService    = (*Service)(nil)
)

// Service implements the cluster, task and host services.
type Service struct {
	Store   dbplane.Store
	Catalog dbplane.Catalog
	// Wake tells the task engine that new work is READY; may be nil.
	Wake   func()
	Logger *slog.Logger
	Now    func() time.Time
	// WatchPoll is how often WatchTask looks for new events; default 200ms.
	WatchPoll time.Duration
}

func (s *Service) wake() {
	if s.Wake != nil {
		s.Wake()
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func creator(ctx context.Context) string {
	if u := dbplane.UserFromContext(ctx); u != nil {
		return u.Name
	}
	return ""
}

// CreateCluster validates spec, records the cluster and its create task.
func (s *Service) CreateCluster(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
	if err := dbplane.ValidateClusterSpec(&spec, s.Catalog); err != nil {
		return nil, nil, err
	}
	now := s.now().UTC()
	c := &dbplane.Cluster{Name: spec.Name, Engine: spec.Engine, Version: spec.Version, Topology: spec.Topology,
		Status: dbplane.ClusterCreating, Spec: spec.Redacted(), Nodes: []dbplane.Node{}, CreatedAt: now, UpdatedAt: now}
	plan := planCreateCluster(c)
	plan.Creator = creator(ctx)
	if dryRun {
		t, err := sqlstore.PlannedTask(plan, now)
		return c, t, err
	}
	t, err := s.Store.CreateCluster(ctx, c, spec.Password, plan)
	if err != nil {
		return nil, nil, err
	}
	s.wake()
	return c, t, nil
}

// FindClusterByID returns a cluster.
func (s *Service) FindClusterByID(ctx context.Context, id int64) (*dbplane.Cluster, error) {
	return s.Store.FindClusterByID(ctx, id)
}

// FindClusters returns a page of clusters.
func (s *Service) FindClusters(ctx context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
	return s.Store.FindClusters(ctx, f)
}

// DeleteCluster starts the delete task of a cluster. A cluster already being
// deleted is refused; one being created is deleted after its create task
// ends (one task per cluster at a time).
func (s *Service) DeleteCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	c, err := s.Store.FindClusterByID(ctx, id)
	if err != nil {
		return nil, err
	}
	plan := planDeleteCluster(c)
	plan.Creator = creator(ctx)
	if dryRun {
		return sqlstore.PlannedTask(plan, s.now().UTC())
	}
	t, err := s.Store.StartClusterTask(ctx, id, dbplane.ClusterDeleting, []dbplane.ClusterStatus{dbplane.ClusterDeleting}, plan)
	if err != nil {
		return nil, err
	}
	s.wake()
	return t, nil
}

// FindHosts returns a page of hosts.
func (s *Service) FindHosts(ctx context.Context, f dbplane.HostFilter) ([]*dbplane.Host, int, error) {
	return s.Store.FindHosts(ctx, f)
}
