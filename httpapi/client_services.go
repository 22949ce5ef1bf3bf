package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dbplane/dbplane"
)

// CreateCluster creates a cluster (POST /v1/clusters), or plans it when
// dryRun is set.
func (c *Client) CreateCluster(ctx context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
	var out clusterTaskResponse
	if err := c.do(ctx, http.MethodPost, "/v1/clusters", dryRunQuery(dryRun), spec, &out); err != nil {
		return nil, nil, err
	}
	return out.Cluster, out.Task, nil
}

// FindClusterByID returns a cluster (GET /v1/clusters/{id}).
func (c *Client) FindClusterByID(ctx context.Context, id int64) (*dbplane.Cluster, error) {
	var out dbplane.Cluster
	if err := c.do(ctx, http.MethodGet, idPath("/v1/clusters", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FindClusters returns a page of clusters and the total (GET /v1/clusters).
func (c *Client) FindClusters(ctx context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
	q := url.Values{}
	setOpt(q, "name", f.Name)
	setOpt(q, "engine", f.Engine)
	if f.Status != nil {
		q.Set("status", string(*f.Status))
	}
	if f.ProjectID != nil {
		q.Set("project_id", strconv.FormatInt(*f.ProjectID, 10))
	}
	pageQuery(q, f.Offset, f.Limit)
	var out clusterPage
	if err := c.do(ctx, http.MethodGet, "/v1/clusters", q, nil, &out); err != nil {
		return nil, 0, err
	}
	return out.Clusters, out.Total, nil
}

// DeleteCluster starts a cluster's delete task (DELETE /v1/clusters/{id}),
// or plans it when dryRun is set.
func (c *Client) DeleteCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	var out taskResponse
	if err := c.do(ctx, http.MethodDelete, idPath("/v1/clusters", id), dryRunQuery(dryRun), nil, &out); err != nil {
		return nil, err
	}
	return out.Task, nil
}

// StopCluster starts the task that stops a cluster's nodes (POST
// /v1/clusters/{id}/stop), or plans it when dryRun is set.
func (c *Client) StopCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return c.clusterTask(ctx, id, "stop", dryRun)
}

// StartCluster starts the task that starts a stopped cluster's nodes (POST
// /v1/clusters/{id}/start), or plans it when dryRun is set.
func (c *Client) StartCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return c.clusterTask(ctx, id, "start", dryRun)
}

// RestartCluster starts the task that restarts a cluster's nodes one at a
// time (POST /v1/clusters/{id}/restart), or plans it when dryRun is set.
func (c *Client) RestartCluster(ctx context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
	return c.clusterTask(ctx, id, "restart", dryRun)
}

func (c *Client) clusterTask(ctx context.Context, id int64, verb string, dryRun bool) (*dbplane.Task, error) {
	var out taskResponse
	if err := c.do(ctx, http.MethodPost, idPath("/v1/clusters", id, verb), dryRunQuery(dryRun), nil, &out); err != nil {
		return nil, err
	}
	return out.Task, nil
}

func dryRunQuery(dryRun bool) url.Values {
	if !dryRun {
		return nil
	}
	return url.Values{"dry_run": {"true"}}
}

// FindTaskByID returns a task with its DAG (GET /v1/tasks/{id}).
func (c *Client) FindTaskByID(ctx context.Context, id int64) (*dbplane.Task, error) {
	var out dbplane.Task
	if err := c.do(ctx, http.MethodGet, idPath("/v1/tasks", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FindTasks returns a page of tasks and the total (GET /v1/tasks).
func (c *Client) FindTasks(ctx context.Context, f dbplane.TaskFilter) ([]*dbplane.Task, int, error) {
	q := url.Values{}
	if f.ClusterID != nil {
		q.Set("cluster_id", strconv.FormatInt(*f.ClusterID, 10))
	}
	if f.Status != nil {
		q.Set("status", string(*f.Status))
	}
	setOpt(q, "kind", f.Kind)
	setOpt(q, "name", f.Name)
	pageQuery(q, f.Offset, f.Limit)
	var out taskPage
	if err := c.do(ctx, http.MethodGet, "/v1/tasks", q, nil, &out); err != nil {
		return nil, 0, err
	}
	return out.Tasks, out.Total, nil
}

// RetryTask re-runs a failed task (POST /v1/tasks/{id}/retry).
func (c *Client) RetryTask(ctx context.Context, id int64) (*dbplane.Task, error) {
	return c.taskOp(ctx, id, "retry")
}

// RollbackTask undoes a failed task (POST /v1/tasks/{id}/rollback).
func (c *Client) RollbackTask(ctx context.Context, id int64) (*dbplane.Task, error) {
	return c.taskOp(ctx, id, "rollback")
}

func (c *Client) taskOp(ctx context.Context, id int64, op string) (*dbplane.Task, error) {
	var out dbplane.Task
	if err := c.do(ctx, http.MethodPost, idPath("/v1/tasks", id, op), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RetrySubtask re-runs a failed subtask
// (POST /v1/tasks/{id}/subtasks/{sid}/retry).
func (c *Client) RetrySubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	return c.subtaskOp(ctx, taskID, subtaskID, "retry")
}

// SkipSubtask marks a failed subtask successful
// (POST /v1/tasks/{id}/subtasks/{sid}/skip).
func (c *Client) SkipSubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	return c.subtaskOp(ctx, taskID, subtaskID, "skip")
}

// CancelSubtask asks a running subtask to stop
// (POST /v1/tasks/{id}/subtasks/{sid}/cancel).
func (c *Client) CancelSubtask(ctx context.Context, taskID, subtaskID int64) (*dbplane.Subtask, error) {
	return c.subtaskOp(ctx, taskID, subtaskID, "cancel")
}

func (c *Client) subtaskOp(ctx context.Context, taskID, subtaskID int64, op string) (*dbplane.Subtask, error) {
	var out dbplane.Subtask
	p := idPath("/v1/tasks", taskID, "subtasks", strconv.FormatInt(subtaskID, 10), op)
	if err := c.do(ctx, http.MethodPost, p, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SubtaskLog returns a subtask's log
// (GET /v1/tasks/{id}/subtasks/{sid}/log).
func (c *Client) SubtaskLog(ctx context.Context, taskID, subtaskID int64) ([]dbplane.LogLine, error) {
	var out logResponse
	p := idPath("/v1/tasks", taskID, "subtasks", strconv.FormatInt(subtaskID, 10), "log")
	if err := c.do(ctx, http.MethodGet, p, nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Lines, nil
}

// FindHosts returns a page of hosts and the total (GET /v1/hosts).
func (c *Client) FindHosts(ctx context.Context, f dbplane.HostFilter) ([]*dbplane.Host, int, error) {
	q := url.Values{}
	if f.Status != nil {
		q.Set("status", string(*f.Status))
	}
	setOpt(q, "zone", f.Zone)
	pageQuery(q, f.Offset, f.Limit)
	var out hostPage
	if err := c.do(ctx, http.MethodGet, "/v1/hosts", q, nil, &out); err != nil {
		return nil, 0, err
	}
	return out.Hosts, out.Total, nil
}

// Interface guards: the client offers the host administration and join
// services too, so the CLI and agents speak domain types.
var (
	_ dbplane.HostAdminService = (*Client)(nil)
	_ dbplane.JoinService      = (*Client)(nil)
)

// FindHostByID returns a host (GET /v1/hosts/{id}).
func (c *Client) FindHostByID(ctx context.Context, id int64) (*dbplane.Host, error) {
	var out dbplane.Host
	if err := c.do(ctx, http.MethodGet, idPath("/v1/hosts", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteHost removes a host's record (DELETE /v1/hosts/{id}).
func (c *Client) DeleteHost(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath("/v1/hosts", id), nil, nil, nil)
}

// DrainHost sets whether a host takes new nodes
// (POST /v1/hosts/{id}/drain or /undrain).
func (c *Client) DrainHost(ctx context.Context, id int64, drained bool) (*dbplane.Host, error) {
	op := "undrain"
	if drained {
		op = "drain"
	}
	var out dbplane.Host
	if err := c.do(ctx, http.MethodPost, idPath("/v1/hosts", id, op), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateJoinToken issues a one-time join token valid for ttl, rounded down
// to seconds (POST /v1/hosts/join-tokens).
func (c *Client) CreateJoinToken(ctx context.Context, ttl time.Duration) (*dbplane.JoinToken, error) {
	if ttl != 0 && ttl < time.Second {
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "ttl", Message: "must be at least 1s"})
	}
	var out dbplane.JoinToken
	req := joinTokenRequest{TTLSeconds: int64(ttl / time.Second)}
	if err := c.do(ctx, http.MethodPost, "/v1/hosts/join-tokens", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Join joins an agent to the control plane (POST /v1/agents/join). It
// sends none of the client's credentials: the join token is the
// credential.
func (c *Client) Join(ctx context.Context, req dbplane.JoinRequest) (*dbplane.JoinResponse, error) {
	resp, err := c.send(ctx, http.MethodPost, "/v1/agents/join", nil, req, false, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out dbplane.JoinResponse
	if err := decodeAnswer(resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// IssueToken trades a user's password for a bearer token
// (POST /v1/auth/token). It sends none of the client's credentials and
// does not set c.Token.
func (c *Client) IssueToken(ctx context.Context, user, password string) (*dbplane.Token, error) {
	resp, err := c.send(ctx, http.MethodPost, "/v1/auth/token", nil, tokenRequest{User: user, Password: password}, false, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out tokenResponse
	if err := decodeAnswer(resp, &out); err != nil {
		return nil, err
	}
	return &dbplane.Token{ID: out.ID, Secret: out.Token, ExpiresAt: out.ExpiresAt}, nil
}

// Whoami returns the caller's user with its role bindings
// (GET /v1/whoami).
func (c *Client) Whoami(ctx context.Context) (*dbplane.User, error) {
	var u dbplane.User
	if err := c.do(ctx, http.MethodGet, "/v1/whoami", nil, nil, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Catalog returns the engine versions and flavors (GET /v1/catalog).
func (c *Client) Catalog(ctx context.Context) (*dbplane.Catalog, error) {
	var out dbplane.Catalog
	if err := c.do(ctx, http.MethodGet, "/v1/catalog", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CatalogEngines returns the engine versions of the catalog, of one engine
// if engine is not empty (GET /v1/catalog/engines).
func (c *Client) CatalogEngines(ctx context.Context, engine string) ([]dbplane.EngineVersion, error) {
	q := url.Values{}
	setOpt(q, "engine", &engine)
	var out engineList
	if err := c.do(ctx, http.MethodGet, "/v1/catalog/engines", q, nil, &out); err != nil {
		return nil, err
	}
	return out.Engines, nil
}

// CatalogFlavors returns the flavors of the catalog with their settings for
// every engine, or for one if engine is not empty (GET /v1/catalog/flavors).
func (c *Client) CatalogFlavors(ctx context.Context, engine string) ([]FlavorInfo, error) {
	q := url.Values{}
	setOpt(q, "engine", &engine)
	var out flavorList
	if err := c.do(ctx, http.MethodGet, "/v1/catalog/flavors", q, nil, &out); err != nil {
		return nil, err
	}
	return out.Flavors, nil
}

// CatalogFlavor returns one flavor with its settings for every engine; not
// found if the catalog has no flavor code (GET /v1/catalog/flavors/{code}).
func (c *Client) CatalogFlavor(ctx context.Context, code string) (*FlavorInfo, error) {
	var out FlavorInfo
	if err := c.do(ctx, http.MethodGet, "/v1/catalog/flavors/"+url.PathEscape(code), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
