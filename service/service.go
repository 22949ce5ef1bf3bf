// Package service implements the domain services every front door calls:
// clusters, tasks and hosts over the metadata store, with validation and
// task planning. Front doors (native API, OCP, …) only translate shapes.
package service

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
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
	// Engines are the engines clusters can be created with, by name.
	Engines map[string]ClusterEngine
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
	return dbplane.PrincipalFrom(ctx).Name()
}

// placeAttempts bounds how often CreateCluster places a cluster again when
// another cluster took one of its hosts or ports meanwhile.
const placeAttempts = 5

// CreateCluster validates spec, places its nodes on the fleet, and records
// the cluster, its nodes and its create task. A fleet that cannot hold the
// cluster answers KindUnplaceable at once, and nothing is stored.
func (s *Service) CreateCluster(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
	if err := dbplane.ValidateClusterSpec(&spec, s.Catalog); err != nil {
		return nil, nil, err
	}
	engine, err := s.engine(spec.Engine)
	if err != nil {
		return nil, nil, err
	}
	if pc, ok := engine.(parameterChecker); ok {
		if err := pc.CheckParameters(spec.Parameters); err != nil {
			return nil, nil, err
		}
	}
	flavor, _ := s.Catalog.Flavor(spec.Flavor) // validated above
	for attempt := 1; ; attempt++ {
		loads, err := s.Store.HostLoads(ctx)
		if err != nil {
			return nil, nil, err
		}
		nodes, err := dbplane.Place(spec, nodeCount(spec), flavor, loads)
		if err != nil {
			return nil, nil, err
		}
		now := s.now().UTC()
		c := &dbplane.Cluster{Name: spec.Name, Engine: spec.Engine, Version: spec.Version, Topology: spec.Topology,
			Status: dbplane.ClusterCreating, Spec: spec.Redacted(), Nodes: nodes, CreatedAt: now, UpdatedAt: now}
		plan := planCreateCluster(c, engine)
		plan.Creator = creator(ctx)
		if dryRun {
			t, err := sqlstore.PlannedTask(plan, now)
			c.Endpoints = engine.Endpoints(c)
			return c, t, err
		}
		t, err := s.Store.CreateCluster(ctx, c, spec.Password, plan)
		if errors.Is(err, dbplane.ErrPlacementRace) && attempt < placeAttempts {
			continue
		} else if err != nil {
			return nil, nil, err
		}
		s.wake()
		c.Endpoints = engine.Endpoints(c)
		return c, t, nil
	}
}

// parameterChecker is implemented by engines that refuse some engine
// parameters (ones dbplane manages itself, or unknown ones), so that a bad
// parameter is a 400 at once rather than a failed step later.
type parameterChecker interface {
	CheckParameters(params map[string]string) error
}

// engine returns the engine of a validated engine name, or an invalid-field
// error naming the engines this control plane can run.
func (s *Service) engine(name string) (ClusterEngine, error) {
	if e, ok := s.Engines[name]; ok {
		return e, nil
	}
	var names []string
	for n := range s.Engines {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, dbplane.Invalid(dbplane.FieldError{Field: "engine",
		Message: "clusters of engine " + name + " cannot be created yet; available: " + strings.Join(names, ", ")})
}

// withEndpoints fills in the endpoints of clusters whose engine is known.
func (s *Service) withEndpoints(cs ...*dbplane.Cluster) {
	for _, c := range cs {
		if e, ok := s.Engines[c.Engine]; ok && len(c.Nodes) > 0 {
			c.Endpoints = e.Endpoints(c)
		}
	}
}

// FindClusterByID returns a cluster.
func (s *Service) FindClusterByID(ctx context.Context, id int64) (*dbplane.Cluster, error) {
	c, err := s.Store.FindClusterByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.withEndpoints(c)
	return c, nil
}

// FindClusters returns a page of clusters.
func (s *Service) FindClusters(ctx context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
	cs, total, err := s.Store.FindClusters(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	s.withEndpoints(cs...)
	return cs, total, nil
}

// DeleteCluster starts the delete task of a cluster. A cluster already being
// deleted is refused; one being created is deleted after its create task
// ends (one task per cluster at a time).
func (s *Service) DeleteCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	c, err := s.Store.FindClusterByID(ctx, id)
	if err != nil {
		return nil, err
	}
	engine, err := s.engine(c.Engine)
	if err != nil {
		return nil, err
	}
	plan := planDeleteCluster(c, engine)
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
