package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerClusterRoutes() {
	s.route("POST /v1/clusters", "cluster.create", s.wrap(s.handleClusterCreate))
	s.route("GET /v1/clusters", "cluster.list", s.wrap(s.handleClusterIndex))
	s.route("GET /v1/clusters/{cluster_id}", "cluster.get", s.wrap(s.handleClusterView))
	s.route("DELETE /v1/clusters/{cluster_id}", "cluster.delete", s.wrap(s.handleClusterDelete))
	s.route("POST /v1/clusters/{cluster_id}/stop", "cluster.stop", s.wrap(s.clusterTask(dbplane.ClusterService.StopCluster)))
	s.route("POST /v1/clusters/{cluster_id}/start", "cluster.start", s.wrap(s.clusterTask(dbplane.ClusterService.StartCluster)))
	s.route("POST /v1/clusters/{cluster_id}/restart", "cluster.restart", s.wrap(s.clusterTask(dbplane.ClusterService.RestartCluster)))
	s.registerClusterChangeRoutes()
}

// clusterTaskResponse is the answer of a cluster creation: the cluster and
// the task that builds it.
type clusterTaskResponse struct {
	Cluster *dbplane.Cluster `json:"cluster"`
	Task    *dbplane.Task    `json:"task"`
}

// taskResponse is the answer of a change that only starts a task.
type taskResponse struct {
	Task *dbplane.Task `json:"task"`
}

// clusterPage is the answer of GET /v1/clusters.
type clusterPage struct {
	Clusters []*dbplane.Cluster `json:"clusters"`
	Total    int                `json:"total"`
	Offset   int                `json:"offset"`
	Limit    int                `json:"limit"`
}

var clusterStatuses = []string{
	string(dbplane.ClusterCreating), string(dbplane.ClusterRunning), string(dbplane.ClusterAbnormal),
	string(dbplane.ClusterDegraded), string(dbplane.ClusterStopped), string(dbplane.ClusterDeleting),
	string(dbplane.ClusterFailed), string(dbplane.ClusterDataDiskFull), string(dbplane.ClusterStopping),
	string(dbplane.ClusterStarting), string(dbplane.ClusterRestarting), string(dbplane.ClusterUpdating),
}

// handleClusterCreate handles POST /v1/clusters: 202 with the cluster and
// its create task, or 200 with the planned task on a dry run (nothing is
// written, so nothing is accepted for later).
func (s *Server) handleClusterCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "dry_run")
	dryRun := q.bool("dry_run")
	if err := q.err(); err != nil {
		return nil, err
	}
	var spec dbplane.ClusterSpec
	if err := decodeJSON(r, &spec); err != nil {
		return nil, err
	}
	c, task, err := s.Clusters.CreateCluster(r.Context(), spec, dryRun)
	if err != nil {
		return nil, err
	}
	return accepted(w, dryRun, task, clusterTaskResponse{Cluster: c, Task: task}), nil
}

// accepted answers a request that started task: 202 pointing at the task,
// or 200 for a dry run, whose task does not exist.
func accepted(w http.ResponseWriter, dryRun bool, task *dbplane.Task, body any) any {
	if dryRun || task == nil || task.ID == 0 {
		return body
	}
	w.Header().Set("Location", "/v1/tasks/"+strconv.FormatInt(task.ID, 10))
	return reply{http.StatusAccepted, body}
}

// handleClusterIndex handles GET /v1/clusters.
func (s *Server) handleClusterIndex(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "name", "engine", "status", "project_id", "offset", "limit")
	var f dbplane.ClusterFilter
	f.Name = q.str("name")
	f.Engine = q.str("engine")
	f.ProjectID = q.positiveID("project_id")
	if st := q.oneOf("status", clusterStatuses...); st != nil {
		cs := dbplane.ClusterStatus(*st)
		f.Status = &cs
	}
	f.Offset, f.Limit = q.page()
	if err := q.err(); err != nil {
		return nil, err
	}
	cs, total, err := s.Clusters.FindClusters(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return clusterPage{Clusters: nonNil(cs), Total: total, Offset: f.Offset, Limit: f.Limit}, nil
}

// handleClusterView handles GET /v1/clusters/{cluster_id}.
func (s *Server) handleClusterView(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "cluster_id")
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	return s.Clusters.FindClusterByID(r.Context(), id)
}

// handleClusterDelete handles DELETE /v1/clusters/{cluster_id}: 202 with
// the delete task, or 200 with the planned task on a dry run.
func (s *Server) handleClusterDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "cluster_id")
	if err != nil {
		return nil, err
	}
	q := parseQuery(r, "dry_run")
	dryRun := q.bool("dry_run")
	if err := q.err(); err != nil {
		return nil, err
	}
	task, err := s.Clusters.DeleteCluster(r.Context(), id, dryRun)
	if err != nil {
		return nil, err
	}
	return accepted(w, dryRun, task, taskResponse{Task: task}), nil
}

// clusterTask returns the handler of POST /v1/clusters/{cluster_id}/stop,
// start and restart: 202 with the task that call starts, or 200 with the
// planned task on a dry run, like DELETE.
func (s *Server) clusterTask(call func(dbplane.ClusterService, context.Context, int64, bool) (*dbplane.Task, error)) func(http.ResponseWriter, *http.Request) (any, error) {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		id, err := pathID(r, "cluster_id")
		if err != nil {
			return nil, err
		}
		q := parseQuery(r, "dry_run")
		dryRun := q.bool("dry_run")
		if err := q.err(); err != nil {
			return nil, err
		}
		task, err := call(s.Clusters, r.Context(), id, dryRun)
		if err != nil {
			return nil, err
		}
		return accepted(w, dryRun, task, taskResponse{Task: task}), nil
	}
}
