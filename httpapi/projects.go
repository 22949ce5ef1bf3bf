package httpapi

import (
	"context"
	"net/http"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerProjectRoutes() {
	s.route("POST /v1/projects", "project.create", s.wrap(s.handleProjectCreate))
	s.route("GET /v1/projects", "project.list", s.wrap(s.handleProjectIndex))
	s.route("GET /v1/projects/{project_id}", "project.get", s.wrap(s.handleProjectView))
	s.route("PUT /v1/projects/{project_id}", "project.update", s.wrap(s.handleProjectUpdate))
	s.route("DELETE /v1/projects/{project_id}", "project.delete", s.wrap(s.handleProjectDelete))

	// Members are the role bindings of a project. Global bindings, which
	// apply to every project and to the fleet, have the same shape under
	// /v1/global/members rather than a pseudo project id.
	s.route("GET /v1/projects/{project_id}/members", "member.list", s.wrap(s.handleMemberIndex(projectScope)))
	s.route("PUT /v1/projects/{project_id}/members/{user_id}", "member.bind", s.wrap(s.handleMemberBind(projectScope)))
	s.route("DELETE /v1/projects/{project_id}/members/{user_id}", "member.unbind", s.wrap(s.handleMemberUnbind(projectScope)))
	s.route("GET /v1/global/members", "global_member.list", s.wrap(s.handleMemberIndex(globalScope)))
	s.route("PUT /v1/global/members/{user_id}", "global_member.bind", s.wrap(s.handleMemberBind(globalScope)))
	s.route("DELETE /v1/global/members/{user_id}", "global_member.unbind", s.wrap(s.handleMemberUnbind(globalScope)))
}

// projectCreateRequest is the body of POST /v1/projects.
type projectCreateRequest struct {
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	Quota       dbplane.Quota `json:"quota"`
}

// projectUpdateRequest is the body of PUT /v1/projects/{project_id}: the
// description and quota replace the project's. The name cannot change:
// cluster specs refer to projects by name.
type projectUpdateRequest struct {
	Description string        `json:"description,omitempty"`
	Quota       dbplane.Quota `json:"quota"`
}

// projectPage is the answer of GET /v1/projects.
type projectPage struct {
	Projects []*dbplane.Project `json:"projects"`
	Total    int                `json:"total"`
	Offset   int                `json:"offset"`
	Limit    int                `json:"limit"`
}

// memberRequest is the body of PUT …/members/{user_id}.
type memberRequest struct {
	Role string `json:"role"`
}

// memberList is the answer of GET …/members.
type memberList struct {
	Members []dbplane.RoleBinding `json:"members"`
}

// handleProjectCreate handles POST /v1/projects: 201 with the project.
func (s *Server) handleProjectCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	var req projectCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	p := &dbplane.Project{Name: req.Name, Description: req.Description, Quota: req.Quota}
	if err := s.Identity.CreateProject(r.Context(), p); err != nil {
		return nil, err
	}
	return reply{http.StatusCreated, p}, nil
}

// handleProjectIndex handles GET /v1/projects: the projects the caller can
// read.
func (s *Server) handleProjectIndex(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "name", "offset", "limit")
	var f dbplane.ProjectFilter
	f.Name = q.str("name")
	f.Offset, f.Limit = q.page()
	if err := q.err(); err != nil {
		return nil, err
	}
	ps, total, err := s.Identity.FindProjects(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return projectPage{Projects: nonNil(ps), Total: total, Offset: f.Offset, Limit: f.Limit}, nil
}

// handleProjectView handles GET /v1/projects/{project_id}: the project with
// its usage.
func (s *Server) handleProjectView(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "project_id")
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	return s.Identity.FindProjectByID(r.Context(), id)
}

// handleProjectUpdate handles PUT /v1/projects/{project_id}: replace the
// description and quota; the answer is the stored project.
func (s *Server) handleProjectUpdate(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "project_id")
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	var req projectUpdateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	p := &dbplane.Project{ID: id, Description: req.Description, Quota: req.Quota}
	if err := s.Identity.UpdateProject(r.Context(), p); err != nil {
		return nil, err
	}
	return p, nil
}

// handleProjectDelete handles DELETE /v1/projects/{project_id}: 204, or 409
// while the project owns clusters.
func (s *Server) handleProjectDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "project_id")
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	if err := s.Identity.DeleteProject(r.Context(), id); err != nil {
		return nil, err
	}
	return noContent, nil
}

// scope reads the project of a members route: a project's, or the global
// scope.
type scope func(r *http.Request) (int64, error)

func projectScope(r *http.Request) (int64, error) { return pathID(r, "project_id") }

func globalScope(*http.Request) (int64, error) { return dbplane.GlobalScope, nil }

// handleMemberIndex handles GET /v1/projects/{project_id}/members and
// GET /v1/global/members: the role bindings on the project, or the global
// ones.
func (s *Server) handleMemberIndex(sc scope) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		project, err := sc(r)
		if err != nil {
			return nil, err
		}
		if err := parseQuery(r).err(); err != nil {
			return nil, err
		}
		bs, err := s.members(r.Context(), project)
		if err != nil {
			return nil, err
		}
		return memberList{Members: nonNil(bs)}, nil
	}
}

// members returns the bindings on project, or the global ones.
func (s *Server) members(ctx context.Context, project int64) ([]dbplane.RoleBinding, error) {
	return s.Identity.FindMembers(ctx, project)
}

// handleMemberBind handles PUT /v1/projects/{project_id}/members/{user_id}
// and PUT /v1/global/members/{user_id}: grant the user a role, replacing
// the one it had there. The answer is the binding.
func (s *Server) handleMemberBind(sc scope) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		project, err := sc(r)
		if err != nil {
			return nil, err
		}
		user, err := pathID(r, "user_id")
		if err != nil {
			return nil, err
		}
		if err := parseQuery(r).err(); err != nil {
			return nil, err
		}
		var req memberRequest
		if err := decodeJSON(r, &req); err != nil {
			return nil, err
		}
		if req.Role == "" {
			return nil, dbplane.Invalid(dbplane.FieldError{Field: "role", Message: "required"})
		}
		b := &dbplane.RoleBinding{UserID: user, ProjectID: project, Role: req.Role}
		if err := s.Identity.BindRole(r.Context(), b); err != nil {
			return nil, err
		}
		return b, nil
	}
}

// handleMemberUnbind handles DELETE /v1/projects/{project_id}/members/{user_id}
// and DELETE /v1/global/members/{user_id}: 204.
func (s *Server) handleMemberUnbind(sc scope) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		project, err := sc(r)
		if err != nil {
			return nil, err
		}
		user, err := pathID(r, "user_id")
		if err != nil {
			return nil, err
		}
		if err := parseQuery(r).err(); err != nil {
			return nil, err
		}
		if err := s.Identity.UnbindRole(r.Context(), user, project); err != nil {
			return nil, err
		}
		return noContent, nil
	}
}
