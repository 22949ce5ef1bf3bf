package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dbplane/dbplane"
)

// CreateProject creates a project (POST /v1/projects) and fills p with the
// stored one.
func (c *Client) CreateProject(ctx context.Context, p *dbplane.Project) error {
	req := projectCreateRequest{Name: p.Name, Description: p.Description, Quota: p.Quota}
	return c.do(ctx, http.MethodPost, "/v1/projects", nil, req, p)
}

// FindProjectByID returns a project with its usage
// (GET /v1/projects/{project_id}).
func (c *Client) FindProjectByID(ctx context.Context, id int64) (*dbplane.Project, error) {
	var out dbplane.Project
	if err := c.do(ctx, http.MethodGet, idPath("/v1/projects", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FindProjects returns a page of projects and the total (GET /v1/projects).
func (c *Client) FindProjects(ctx context.Context, f dbplane.ProjectFilter) ([]*dbplane.Project, int, error) {
	q := url.Values{}
	setOpt(q, "name", f.Name)
	pageQuery(q, f.Offset, f.Limit)
	var out projectPage
	if err := c.do(ctx, http.MethodGet, "/v1/projects", q, nil, &out); err != nil {
		return nil, 0, err
	}
	return out.Projects, out.Total, nil
}

// UpdateProject replaces a project's description and quota
// (PUT /v1/projects/{project_id}) and fills p with the stored project.
func (c *Client) UpdateProject(ctx context.Context, p *dbplane.Project) error {
	req := projectUpdateRequest{Description: p.Description, Quota: p.Quota}
	return c.do(ctx, http.MethodPut, idPath("/v1/projects", p.ID), nil, req, p)
}

// DeleteProject removes an empty project (DELETE /v1/projects/{project_id}).
func (c *Client) DeleteProject(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath("/v1/projects", id), nil, nil, nil)
}

// FindMembers returns the role bindings on a project, or the global ones
// for dbplane.GlobalScope (GET /v1/projects/{project_id}/members,
// GET /v1/global/members).
func (c *Client) FindMembers(ctx context.Context, projectID int64) ([]dbplane.RoleBinding, error) {
	var out memberList
	if err := c.do(ctx, http.MethodGet, membersPath(projectID), nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Members, nil
}

// BindRole grants b.Role on b.ProjectID, or globally, to b.UserID
// (PUT …/members/{user_id}) and fills b with the stored binding.
func (c *Client) BindRole(ctx context.Context, b *dbplane.RoleBinding) error {
	p := membersPath(b.ProjectID) + "/" + strconv.FormatInt(b.UserID, 10)
	return c.do(ctx, http.MethodPut, p, nil, memberRequest{Role: b.Role}, b)
}

// UnbindRole removes a user's binding on a project, or its global one
// (DELETE …/members/{user_id}).
func (c *Client) UnbindRole(ctx context.Context, userID, projectID int64) error {
	p := membersPath(projectID) + "/" + strconv.FormatInt(userID, 10)
	return c.do(ctx, http.MethodDelete, p, nil, nil, nil)
}

// membersPath is the members collection of a project, or the global one.
func membersPath(projectID int64) string {
	if projectID == dbplane.GlobalScope {
		return "/v1/global/members"
	}
	return idPath("/v1/projects", projectID, "members")
}

// CreateUser creates a user with a password and its bindings
// (POST /v1/users) and fills u with the stored user.
func (c *Client) CreateUser(ctx context.Context, u *dbplane.User, password string) error {
	req := userCreateRequest{Name: u.Name, Password: password}
	for _, b := range u.Bindings {
		req.Bindings = append(req.Bindings, bindingRequest{ProjectID: b.ProjectID, Role: b.Role})
	}
	return c.do(ctx, http.MethodPost, "/v1/users", nil, req, u)
}

// FindUserByID returns a user with its bindings (GET /v1/users/{user_id}).
func (c *Client) FindUserByID(ctx context.Context, id int64) (*dbplane.User, error) {
	var out dbplane.User
	if err := c.do(ctx, http.MethodGet, idPath("/v1/users", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FindUsers returns a page of users and the total (GET /v1/users).
func (c *Client) FindUsers(ctx context.Context, f dbplane.UserFilter) ([]*dbplane.User, int, error) {
	q := url.Values{}
	setOpt(q, "name", f.Name)
	pageQuery(q, f.Offset, f.Limit)
	var out userPage
	if err := c.do(ctx, http.MethodGet, "/v1/users", q, nil, &out); err != nil {
		return nil, 0, err
	}
	return out.Users, out.Total, nil
}

// SetUserPassword replaces a user's password and revokes its tokens
// (PUT /v1/users/{user_id}/password); current is the caller's current
// password when it changes its own.
func (c *Client) SetUserPassword(ctx context.Context, id int64, current, password string) error {
	_, err := c.ChangeUserPassword(ctx, id, current, password)
	return err
}

// ChangeUserPassword is SetUserPassword returning the server's answer,
// which says how many access keys the user keeps: a password change does
// not revoke them.
func (c *Client) ChangeUserPassword(ctx context.Context, id int64, current, password string) (*PasswordChange, error) {
	var out PasswordChange
	req := passwordRequest{Password: password, CurrentPassword: current}
	if err := c.do(ctx, http.MethodPut, idPath("/v1/users", id, "password"), nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteUser removes a user (DELETE /v1/users/{user_id}).
func (c *Client) DeleteUser(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath("/v1/users", id), nil, nil, nil)
}

// FindTokens lists a user's unexpired tokens without secrets
// (GET /v1/tokens?user_id=); 0 means the caller.
func (c *Client) FindTokens(ctx context.Context, userID int64) ([]*dbplane.Token, error) {
	var out tokenList
	if err := c.do(ctx, http.MethodGet, "/v1/tokens", userQuery(userID), nil, &out); err != nil {
		return nil, err
	}
	return out.Tokens, nil
}

// RevokeToken revokes a token (DELETE /v1/tokens/{token_id}).
func (c *Client) RevokeToken(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath("/v1/tokens", id), nil, nil, nil)
}

// CreateAccessKey creates an access key for a user, 0 meaning the caller
// (POST /v1/access-keys), and returns it with its secret.
func (c *Client) CreateAccessKey(ctx context.Context, userID int64, description string) (*dbplane.AccessKey, error) {
	var out dbplane.AccessKey
	req := accessKeyRequest{UserID: userID, Description: description}
	if err := c.do(ctx, http.MethodPost, "/v1/access-keys", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FindAccessKeys lists a user's access keys without secrets
// (GET /v1/access-keys?user_id=); 0 means the caller.
func (c *Client) FindAccessKeys(ctx context.Context, userID int64) ([]*dbplane.AccessKey, error) {
	var out accessKeyList
	if err := c.do(ctx, http.MethodGet, "/v1/access-keys", userQuery(userID), nil, &out); err != nil {
		return nil, err
	}
	return out.AccessKeys, nil
}

// DeleteAccessKey deletes an access key
// (DELETE /v1/access-keys/{access_key_id}).
func (c *Client) DeleteAccessKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/access-keys/"+url.PathEscape(id), nil, nil, nil)
}

func userQuery(userID int64) url.Values {
	if userID == 0 {
		return nil
	}
	return url.Values{"user_id": {strconv.FormatInt(userID, 10)}}
}

// FindAuditEvents returns a page of audit events, newest first, and the
// total (GET /v1/audit).
func (c *Client) FindAuditEvents(ctx context.Context, f dbplane.AuditFilter) ([]*dbplane.AuditEvent, int, error) {
	q := url.Values{}
	setOpt(q, "user", f.User)
	if f.ProjectID != nil {
		q.Set("project_id", strconv.FormatInt(*f.ProjectID, 10))
	}
	setOpt(q, "action", f.Action)
	setOpt(q, "result", f.Result)
	if f.Since != nil {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if f.Until != nil {
		q.Set("until", f.Until.Format(time.RFC3339Nano))
	}
	pageQuery(q, f.Offset, f.Limit)
	var out auditPage
	if err := c.do(ctx, http.MethodGet, "/v1/audit", q, nil, &out); err != nil {
		return nil, 0, err
	}
	return out.Events, out.Total, nil
}
