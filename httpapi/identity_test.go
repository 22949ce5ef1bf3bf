package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/google/go-cmp/cmp"
)

var sampleProject = &dbplane.Project{ID: 4, Name: "payments", Description: "the payments team",
	Quota: dbplane.Quota{Clusters: 3, Nodes: 9, StorageGB: 500}, CreatedAt: t0}

func TestProjects(t *testing.T) {
	e := newEnv(t)
	e.identity.CreateProjectFn = func(ctx context.Context, p *dbplane.Project) error {
		if p.ID != 0 || p.Name != "payments" || p.Quota.Clusters != 3 {
			t.Errorf("project to create: %+v", p)
		}
		*p = *sampleProject
		return nil
	}
	e.identity.FindProjectByIDFn = func(ctx context.Context, id int64) (*dbplane.Project, error) {
		if id != 4 {
			return nil, dbplane.Errorf(dbplane.KindNotFound, "project %d not found", id)
		}
		return sampleProject, nil
	}
	e.identity.FindProjectsFn = func(ctx context.Context, f dbplane.ProjectFilter) ([]*dbplane.Project, int, error) {
		if f.Name == nil || *f.Name != "payments" || f.Offset != 2 || f.Limit != 1 {
			t.Errorf("filter %+v", f)
		}
		return []*dbplane.Project{sampleProject}, 7, nil
	}
	var updated *dbplane.Project
	e.identity.UpdateProjectFn = func(ctx context.Context, p *dbplane.Project) error {
		updated = p
		return nil
	}
	e.identity.DeleteProjectFn = func(ctx context.Context, id int64) error {
		return dbplane.Errorf(dbplane.KindConflict, "project %d owns clusters", id)
	}
	ctx := t.Context()

	p := &dbplane.Project{Name: "payments", Description: "the payments team", Quota: dbplane.Quota{Clusters: 3}}
	if err := e.client.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleProject, p); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	got, err := e.client.FindProjectByID(ctx, 4)
	if err != nil || got.Name != "payments" {
		t.Fatalf("FindProjectByID = %v, %v", got, err)
	}
	_, err = e.client.FindProjectByID(ctx, 5)
	mustKind(t, err, dbplane.KindNotFound)
	name := "payments"
	ps, total, err := e.client.FindProjects(ctx, dbplane.ProjectFilter{Name: &name, Offset: 2, Limit: 1})
	if err != nil || len(ps) != 1 || total != 7 {
		t.Fatalf("FindProjects = %v, %d, %v", ps, total, err)
	}
	up := &dbplane.Project{ID: 4, Name: "ignored", Description: "new", Quota: dbplane.Quota{Nodes: 2}}
	if err := e.client.UpdateProject(ctx, up); err != nil {
		t.Fatal(err)
	}
	if updated.ID != 4 || updated.Name != "" || updated.Description != "new" || updated.Quota.Nodes != 2 {
		t.Errorf("update reached the service as %+v", updated)
	}
	mustKind(t, e.client.DeleteProject(ctx, 4), dbplane.KindConflict)

	t.Run("ErrRenameRefused", func(t *testing.T) {
		resp, data := e.request(t, "PUT", "/v1/projects/4", `{"name":"other","quota":{}}`)
		ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
		if ae.Error.Details[0].Field != "name" {
			t.Errorf("details %+v", ae.Error.Details)
		}
	})
	t.Run("ErrBadID", func(t *testing.T) {
		resp, data := e.request(t, "GET", "/v1/projects/x", "")
		ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
		if ae.Error.Details[0].Field != "project_id" {
			t.Errorf("details %+v", ae.Error.Details)
		}
	})
}

func TestMembers(t *testing.T) {
	e := newEnv(t)
	e.identity.FindProjectByIDFn = func(ctx context.Context, id int64) (*dbplane.Project, error) {
		if id != 4 {
			return nil, dbplane.Errorf(dbplane.KindNotFound, "project %d not found", id)
		}
		return sampleProject, nil
	}
	e.identity.FindMembersFn = func(ctx context.Context, project int64) ([]dbplane.RoleBinding, error) {
		switch project {
		case 4:
			return []dbplane.RoleBinding{{UserID: 1, UserName: "ann", ProjectID: 4, Role: "admin"},
				{UserID: 3, UserName: "cat", ProjectID: 4, Role: "viewer"}}, nil
		case dbplane.GlobalScope:
			return []dbplane.RoleBinding{{UserID: 1, UserName: "ann", ProjectID: 0, Role: "viewer"}}, nil
		}
		return nil, dbplane.Errorf(dbplane.KindNotFound, "project %d not found", project)
	}
	var bound *dbplane.RoleBinding
	e.identity.BindRoleFn = func(ctx context.Context, b *dbplane.RoleBinding) error {
		bound = b
		b.CreatedAt = t0
		return nil
	}
	var unbound [2]int64
	e.identity.UnbindRoleFn = func(ctx context.Context, userID, projectID int64) error {
		unbound = [2]int64{userID, projectID}
		return nil
	}
	ctx := t.Context()

	ms, err := e.client.FindMembers(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := bindingNames(ms); got != "ann:4:admin cat:4:viewer" {
		t.Errorf("members of 4: %s", got)
	}
	ms, err = e.client.FindMembers(ctx, dbplane.GlobalScope)
	if err != nil || bindingNames(ms) != "ann:0:viewer" {
		t.Errorf("global members: %s, %v", bindingNames(ms), err)
	}
	_, err = e.client.FindMembers(ctx, 9)
	mustKind(t, err, dbplane.KindNotFound)

	b := &dbplane.RoleBinding{UserID: 3, ProjectID: 4, Role: "operator"}
	if err := e.client.BindRole(ctx, b); err != nil {
		t.Fatal(err)
	}
	if *bound != (dbplane.RoleBinding{UserID: 3, ProjectID: 4, Role: "operator", CreatedAt: t0}) || !b.CreatedAt.Equal(t0) {
		t.Errorf("bound %+v, client got %+v", bound, b)
	}
	if err := e.client.BindRole(ctx, &dbplane.RoleBinding{UserID: 3, Role: "admin"}); err != nil || bound.ProjectID != 0 {
		t.Errorf("global bind: %v, %+v", err, bound)
	}
	if err := e.client.UnbindRole(ctx, 3, 4); err != nil || unbound != [2]int64{3, 4} {
		t.Errorf("unbind: %v, %v", err, unbound)
	}
	if err := e.client.UnbindRole(ctx, 3, dbplane.GlobalScope); err != nil || unbound != [2]int64{3, 0} {
		t.Errorf("global unbind: %v, %v", err, unbound)
	}
	t.Run("ErrRoleRequired", func(t *testing.T) {
		resp, data := e.request(t, "PUT", "/v1/projects/4/members/3", `{}`)
		ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
		if ae.Error.Details[0].Field != "role" {
			t.Errorf("details %+v", ae.Error.Details)
		}
	})
}

func bindingNames(bs []dbplane.RoleBinding) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.UserName+":"+itoa(b.ProjectID)+":"+b.Role)
	}
	return strings.Join(out, " ")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestUsers(t *testing.T) {
	e := newEnv(t)
	var password string
	e.identity.CreateUserFn = func(ctx context.Context, u *dbplane.User, pw string) error {
		password = pw
		u.ID, u.CreatedAt = 9, t0
		return nil
	}
	e.identity.FindUserByIDFn = func(ctx context.Context, id int64) (*dbplane.User, error) {
		return &dbplane.User{ID: id, Name: "dan"}, nil
	}
	e.identity.FindUsersFn = func(ctx context.Context, f dbplane.UserFilter) ([]*dbplane.User, int, error) {
		return nil, 0, nil
	}
	var set [3]string
	e.identity.SetUserPasswordFn = func(ctx context.Context, id int64, current, pw string) error {
		set = [3]string{itoa(id), current, pw}
		return nil
	}
	e.identity.FindAccessKeysFn = func(ctx context.Context, id int64) ([]*dbplane.AccessKey, error) {
		return nil, nil
	}
	e.identity.DeleteUserFn = func(ctx context.Context, id int64) error {
		return dbplane.Errorf(dbplane.KindNotFound, "user %d not found", id)
	}
	ctx := t.Context()

	u := &dbplane.User{Name: "dan", Bindings: []dbplane.RoleBinding{{ProjectID: 4, Role: "viewer"}}}
	if err := e.client.CreateUser(ctx, u, "correct horse"); err != nil {
		t.Fatal(err)
	}
	if u.ID != 9 || password != "correct horse" || len(u.Bindings) != 1 || u.Bindings[0].ProjectID != 4 {
		t.Errorf("created %+v with password %q", u, password)
	}
	if got, err := e.client.FindUserByID(ctx, 9); err != nil || got.Name != "dan" {
		t.Errorf("FindUserByID = %v, %v", got, err)
	}
	us, total, err := e.client.FindUsers(ctx, dbplane.UserFilter{})
	if err != nil || us == nil && total != 0 {
		t.Errorf("FindUsers = %v, %d, %v", us, total, err)
	}
	if err := e.client.SetUserPassword(ctx, 9, "old horse", "new horse"); err != nil || set != [3]string{"9", "old horse", "new horse"} {
		t.Errorf("SetUserPassword: %v, %v", err, set)
	}
	mustKind(t, e.client.DeleteUser(ctx, 9), dbplane.KindNotFound)

	// The user list encodes as [] even when empty.
	resp, data := e.request(t, "GET", "/v1/users", "")
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"users":[]`) {
		t.Errorf("empty list: %d %s", resp.StatusCode, data)
	}
	for _, tc := range []struct{ method, path, body, field string }{
		{"POST", "/v1/users", `{"name":"x"}`, "password"},
		{"POST", "/v1/users", `{"name":"x","password":"p","role":"admin"}`, "role"},
		{"POST", "/v1/users", `{"name":"x","password":"p","bindings":[{"project_id":"4"}]}`, "bindings.project_id"},
		{"PUT", "/v1/users/9/password", `{}`, "password"},
		{"DELETE", "/v1/users/-1", ``, "user_id"},
	} {
		resp, data := e.request(t, tc.method, tc.path, tc.body)
		ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
		if ae.Error.Details[0].Field != tc.field {
			t.Errorf("%s %s %s: details %+v, want field %s", tc.method, tc.path, tc.body, ae.Error.Details, tc.field)
		}
	}
}

func TestCredentials(t *testing.T) {
	e := newEnv(t)
	var tokensOf []int64
	e.identity.FindTokensFn = func(ctx context.Context, userID int64) ([]*dbplane.Token, error) {
		tokensOf = append(tokensOf, userID)
		return []*dbplane.Token{{ID: 3, UserID: userID, ExpiresAt: t0, CreatedAt: t0}}, nil
	}
	e.identity.RevokeTokenFn = func(ctx context.Context, id int64) error {
		if id != 3 {
			return dbplane.Errorf(dbplane.KindNotFound, "token %d not found", id)
		}
		return nil
	}
	var created [2]string
	e.identity.CreateAccessKeyFn = func(ctx context.Context, userID int64, desc string) (*dbplane.AccessKey, error) {
		created = [2]string{itoa(userID), desc}
		return &dbplane.AccessKey{ID: "DBPAKEXAMPLE", UserID: userID, Secret: "s3cr3t", CreatedAt: t0}, nil
	}
	e.identity.FindAccessKeysFn = func(ctx context.Context, userID int64) ([]*dbplane.AccessKey, error) {
		// A service that forgot to drop the secret must not leak it.
		return []*dbplane.AccessKey{{ID: "DBPAKEXAMPLE", UserID: userID, Secret: "s3cr3t", CreatedAt: t0}}, nil
	}
	var deleted string
	e.identity.DeleteAccessKeyFn = func(ctx context.Context, id string) error {
		deleted = id
		return nil
	}
	ctx := t.Context()

	if ts, err := e.client.FindTokens(ctx, 0); err != nil || len(ts) != 1 {
		t.Fatalf("own tokens: %v, %v", ts, err)
	}
	if _, err := e.client.FindTokens(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{testUser.ID, 8}, tokensOf); diff != "" {
		t.Errorf("tokens asked of (-want +got):\n%s", diff)
	}
	if err := e.client.RevokeToken(ctx, 3); err != nil {
		t.Fatal(err)
	}
	mustKind(t, e.client.RevokeToken(ctx, 4), dbplane.KindNotFound)

	k, err := e.client.CreateAccessKey(ctx, 0, "backups")
	if err != nil || k.Secret != "s3cr3t" || created != [2]string{"1", "backups"} {
		t.Fatalf("created %+v, %v; service got %v", k, err, created)
	}
	resp, data := e.request(t, "POST", "/v1/access-keys", "")
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("create without a body: %d %q %s", resp.StatusCode, resp.Header.Get("Cache-Control"), data)
	}
	if _, err := e.client.CreateAccessKey(ctx, 8, ""); err != nil || created[0] != "8" {
		t.Errorf("create for user 8: %v, %v", err, created)
	}
	ks, err := e.client.FindAccessKeys(ctx, 0)
	if err != nil || len(ks) != 1 || ks[0].Secret != "" {
		t.Fatalf("FindAccessKeys = %+v, %v", ks, err)
	}
	if err := e.client.DeleteAccessKey(ctx, "DBPAKEXAMPLE"); err != nil || deleted != "DBPAKEXAMPLE" {
		t.Errorf("delete: %v, %q", err, deleted)
	}
	for _, tc := range []struct{ method, path, body, field string }{
		{"GET", "/v1/tokens?user_id=0", "", "user_id"},
		{"GET", "/v1/access-keys?user_id=x", "", "user_id"},
		{"POST", "/v1/access-keys", `{"user_id":-2}`, "user_id"},
		{"DELETE", "/v1/access-keys/a%20b", "", "access_key_id"},
		{"DELETE", "/v1/access-keys/" + strings.Repeat("A", 129), "", "access_key_id"},
		{"DELETE", "/v1/tokens/0", "", "token_id"},
	} {
		resp, data := e.request(t, tc.method, tc.path, tc.body)
		ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
		if ae.Error.Details[0].Field != tc.field {
			t.Errorf("%s %s: details %+v, want field %s", tc.method, tc.path, ae.Error.Details, tc.field)
		}
	}
}

func TestAuditEvents(t *testing.T) {
	e := newEnv(t)
	var got dbplane.AuditFilter
	e.audit.FindAuditEventsFn = func(ctx context.Context, f dbplane.AuditFilter) ([]*dbplane.AuditEvent, int, error) {
		got = f
		return []*dbplane.AuditEvent{{ID: 1, Time: t0, Action: "cluster.create", Result: "success", Status: 202}}, 1, nil
	}
	user, action, result, project := "ann", "cluster.delete", "forbidden", int64(4)
	since, until := t0.Add(-time.Hour), t0.Add(time.Hour+time.Millisecond)
	f := dbplane.AuditFilter{User: &user, ProjectID: &project, Action: &action, Result: &result,
		Since: &since, Until: &until, Offset: 10, Limit: 5}
	events, total, err := e.client.FindAuditEvents(t.Context(), f)
	if err != nil || len(events) != 1 || total != 1 {
		t.Fatalf("FindAuditEvents = %v, %d, %v", events, total, err)
	}
	if diff := cmp.Diff(f, got); diff != "" {
		t.Errorf("filter (-sent +received):\n%s", diff)
	}
	for _, tc := range []struct{ query, field string }{
		{"since=yesterday", "since"},
		{"until=2026-13-01T00:00:00Z", "until"},
		{"since=2026-09-02T00:00:00Z&until=2026-09-01T00:00:00Z", "until"},
		{"project_id=-1", "project_id"},
		{"who=ann", "who"},
	} {
		resp, data := e.request(t, "GET", "/v1/audit?"+tc.query, "")
		ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
		if ae.Error.Details[0].Field != tc.field {
			t.Errorf("%s: details %+v, want field %s", tc.query, ae.Error.Details, tc.field)
		}
	}
}

// TestClusterProjectFilter checks that ?project_id= reaches the service.
func TestClusterProjectFilter(t *testing.T) {
	e := newEnv(t)
	var got dbplane.ClusterFilter
	e.clusters.FindClustersFn = func(ctx context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
		got = f
		return nil, 0, nil
	}
	project := int64(4)
	if _, _, err := e.client.FindClusters(t.Context(), dbplane.ClusterFilter{ProjectID: &project}); err != nil {
		t.Fatal(err)
	}
	if got.ProjectID == nil || *got.ProjectID != 4 {
		t.Errorf("filter %+v", got)
	}
}
