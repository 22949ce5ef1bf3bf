package httpapi

import "net/http"

// registerClusterChangeRoutes registers the changes a running cluster
// takes in place: its admin password and its parameters.
func (s *Server) registerClusterChangeRoutes() {
	s.route("POST /v1/clusters/{cluster_id}/password", "cluster.password", s.wrap(s.handleClusterPassword))
	s.route("PATCH /v1/clusters/{cluster_id}/parameters", "cluster.parameters", s.wrap(s.handleClusterParameters))
}

// clusterPasswordRequest is the body of POST /v1/clusters/{cluster_id}/password.
type clusterPasswordRequest struct {
	Password string `json:"password"`
}

// parametersRequest is the body of PATCH
// /v1/clusters/{cluster_id}/parameters: the parameters to set; an empty
// value removes one.
type parametersRequest struct {
	Parameters map[string]string `json:"parameters"`
}

// handleClusterPassword handles POST /v1/clusters/{cluster_id}/password:
// 202 with the task that sets the new admin password, or 200 with the
// planned task on a dry run.
func (s *Server) handleClusterPassword(w http.ResponseWriter, r *http.Request) (any, error) {
	id, dryRun, err := changeRequest(r)
	if err != nil {
		return nil, err
	}
	var body clusterPasswordRequest
	if err := decodeJSON(r, &body); err != nil {
		return nil, err
	}
	task, err := s.Clusters.ChangePassword(r.Context(), id, body.Password, dryRun)
	if err != nil {
		return nil, err
	}
	return accepted(w, dryRun, task, taskResponse{Task: task}), nil
}

// handleClusterParameters handles PATCH
// /v1/clusters/{cluster_id}/parameters: 202 with the task that applies the
// change, or 200 with the planned task on a dry run.
func (s *Server) handleClusterParameters(w http.ResponseWriter, r *http.Request) (any, error) {
	id, dryRun, err := changeRequest(r)
	if err != nil {
		return nil, err
	}
	var body parametersRequest
	if err := decodeJSON(r, &body); err != nil {
		return nil, err
	}
	task, err := s.Clusters.UpdateParameters(r.Context(), id, body.Parameters, dryRun)
	if err != nil {
		return nil, err
	}
	return accepted(w, dryRun, task, taskResponse{Task: task}), nil
}

// changeRequest reads the cluster id and dry_run of a change.
func changeRequest(r *http.Request) (int64, bool, error) {
	id, err := pathID(r, "cluster_id")
	if err != nil {
		return 0, false, err
	}
	q := parseQuery(r, "dry_run")
	dryRun := q.bool("dry_run")
	if err := q.err(); err != nil {
		return 0, false, err
	}
	return id, dryRun, nil
}
