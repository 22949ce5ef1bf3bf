package httpapi

import (
	"context"
	"net/http"

	"github.com/dbplane/dbplane"
)

// ChangePassword starts the task that sets a cluster's new admin password
// (POST /v1/clusters/{id}/password), or plans it when dryRun is set.
func (c *Client) ChangePassword(ctx context.Context, id int64, password string, dryRun bool) (*dbplane.Task, error) {
	var out taskResponse
	err := c.do(ctx, http.MethodPost, idPath("/v1/clusters", id, "password"), dryRunQuery(dryRun), clusterPasswordRequest{Password: password}, &out)
	if err != nil {
		return nil, err
	}
	return out.Task, nil
}

// UpdateParameters starts the task that changes a cluster's parameters
// (PATCH /v1/clusters/{id}/parameters; an empty value removes one), or
// plans it when dryRun is set.
func (c *Client) UpdateParameters(ctx context.Context, id int64, params map[string]string, dryRun bool) (*dbplane.Task, error) {
	var out taskResponse
	err := c.do(ctx, http.MethodPatch, idPath("/v1/clusters", id, "parameters"), dryRunQuery(dryRun), parametersRequest{Parameters: params}, &out)
	if err != nil {
		return nil, err
	}
	return out.Task, nil
}
