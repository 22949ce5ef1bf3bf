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
	// Uploads finds the uploaded package files catalog entries name; nil
	// when there is no package store.
	Uploads dbplane.SoftwarePackageStore
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

// CreateCluster validates spec, resolves its project, places its nodes on
// the fleet, and records the cluster, its nodes and its create task. The
// caller needs the operator role on the project. A fleet that cannot hold
// the cluster answers KindUnplaceable at once, and nothing is stored; a
// full project answers KindQuotaExceeded, dry runs included.
func (s *Service) CreateCluster(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
	if _, err := authenticated(ctx); err != nil {
		return nil, nil, err
	}
	if err := validateSpec(&spec, s.Catalog); err != nil {
		return nil, nil, err
	}
	if err := s.checkUploads(ctx, spec); err != nil {
		return nil, nil, err
	}
	if err := s.checkStandby(ctx, &spec); err != nil {
		return nil, nil, err
	}
	project, err := s.clusterProject(ctx, spec.Project)
	if err != nil {
		return nil, nil, err
	}
	spec.Project = project.Name
	engine, err := s.engine(spec.Engine)
	if err != nil {
		return nil, nil, err
	}
	if err := engine.CheckParameters(spec.Parameters); err != nil {
		return nil, nil, err
	}
	flavor, _ := s.Catalog.Flavor(spec.Flavor) // validated above
	for attempt := 1; ; attempt++ {
		loads, err := s.Store.HostLoads(ctx)
		if err != nil {
			return nil, nil, err
		}
		nodes, err := dbplane.Place(spec, spec.NodeCount(), flavor, loads)
		if err != nil {
			return nil, nil, err
		}
		now := s.now().UTC()
		c := &dbplane.Cluster{Name: spec.Name, ProjectID: project.ID, Project: project.Name,
			Engine: spec.Engine, Version: spec.Version, Topology: spec.Topology,
			Status: dbplane.ClusterCreating, Spec: spec.Redacted(), Nodes: nodes, CreatedAt: now, UpdatedAt: now}
		plan := planCreateCluster(c, engine)
		plan.Creator = creator(ctx)
		if dryRun {
			return s.dryRunCreate(ctx, project, c, engine, plan, now)
		}
		t, err := s.Store.CreateCluster(ctx, c, spec.Password, plan)
		if errors.Is(err, dbplane.ErrPlacementRace) && attempt < placeAttempts {
			continue
		} else if err != nil {
			// Quota errors name the quota and are the client's to see, as
			// they are.
			return nil, nil, err
		}
		dbplane.AuditTarget(ctx, target("cluster", c.ID), c.ProjectID)
		s.wake()
		c.Endpoints = engine.Endpoints(c)
		return c, t, nil
	}
}

// dryRunCreate answers a dry run of CreateCluster: the planned cluster and
// task, or the quota error the real create would meet.
func (s *Service) dryRunCreate(ctx context.Context, project *dbplane.Project, c *dbplane.Cluster, engine ClusterEngine,
	plan dbplane.TaskPlan, now time.Time) (*dbplane.Cluster, *dbplane.Task, error) {
	usage, err := s.Store.ProjectUsage(ctx, project.ID)
	if err != nil {
		return nil, nil, err
	}
	if err := project.CheckQuota(usage, c); err != nil {
		return nil, nil, err
	}
	t, err := plan.Task(now)
	if err != nil {
		return nil, nil, err
	}
	t.ProjectID = c.ProjectID
	c.Endpoints = engine.Endpoints(c)
	return c, t, nil
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

// FindClusterByID returns a cluster. A cluster of a project the caller
// cannot read answers as a missing one.
func (s *Service) FindClusterByID(ctx context.Context, id int64) (*dbplane.Cluster, error) {
	c, err := s.cluster(ctx, id, dbplane.ActionRead)
	if err != nil {
		return nil, err
	}
	s.withEndpoints(c)
	return c, nil
}

// cluster loads a cluster and authorizes a on it.
func (s *Service) cluster(ctx context.Context, id int64, a dbplane.Action) (*dbplane.Cluster, error) {
	if _, err := authenticated(ctx); err != nil {
		return nil, err
	}
	nf := notFound("cluster %d not found", id)
	c, err := s.Store.FindClusterByID(ctx, id)
	if err != nil {
		return nil, orNotFound(err, nf)
	}
	if a != dbplane.ActionRead {
		dbplane.AuditTarget(ctx, target("cluster", id), c.ProjectID)
	}
	if _, err := authorize(ctx, a, resource{project: c.ProjectID, hidden: nf}); err != nil {
		return nil, err
	}
	return c, nil
}

// FindClusters returns a page of the clusters of the projects the caller
// can read.
func (s *Service) FindClusters(ctx context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
	ids, err := readableProjects(ctx, dbplane.ActionRead, f.ProjectIDs)
	if err != nil {
		return nil, 0, err
	}
	if ids != nil && len(ids) == 0 {
		return []*dbplane.Cluster{}, 0, nil
	}
	f.ProjectIDs = ids
	cs, total, err := s.Store.FindClusters(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	s.withEndpoints(cs...)
	return cs, total, nil
}

// DeleteCluster starts the delete task of a cluster. A cluster already being
// deleted is refused, and so is one that standby clusters replicate from; one being created is deleted after its create task
// ends (one task per cluster at a time).
func (s *Service) DeleteCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	c, err := s.cluster(ctx, id, dbplane.ActionOperate)
	if err != nil {
		return nil, err
	}
	if err := checkNoStandbys(c); err != nil {
		return nil, err
	}
	engine, err := s.engine(c.Engine)
	if err != nil {
		return nil, err
	}
	plan := planDeleteCluster(c, engine)
	return s.startClusterTask(ctx, c, plan, dbplane.ClusterDeleting, []dbplane.ClusterStatus{dbplane.ClusterDeleting}, dryRun)
}

// startClusterTask records plan as the task of cluster c, setting it to
// status unless it is in one of refuse, and wakes the engine; with dryRun
// it only returns the planned task.
func (s *Service) startClusterTask(ctx context.Context, c *dbplane.Cluster, plan dbplane.TaskPlan,
	status dbplane.ClusterStatus, refuse []dbplane.ClusterStatus, dryRun bool) (*dbplane.Task, error) {
	plan.Creator = creator(ctx)
	if dryRun {
		t, err := plan.Task(s.now().UTC())
		if err != nil {
			return nil, err
		}
		t.ProjectID = c.ProjectID
		return t, nil
	}
	t, err := s.Store.StartClusterTask(ctx, c.ID, status, refuse, plan)
	if err != nil {
		return nil, orNotFound(err, notFound("cluster %d not found", c.ID))
	}
	s.wake()
	return t, nil
}

// FindHosts returns a page of hosts, for callers with a global role.
func (s *Service) FindHosts(ctx context.Context, f dbplane.HostFilter) ([]*dbplane.Host, int, error) {
	if _, err := authorize(ctx, dbplane.ActionRead, resource{project: dbplane.GlobalScope}); err != nil {
		return nil, 0, err
	}
	return s.Store.FindHosts(ctx, f)
}
