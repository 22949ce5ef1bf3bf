package httpapi

import (
	"net/http"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerUserRoutes() {
	s.route("POST /v1/users", "user.create", s.wrap(s.handleUserCreate))
	s.route("GET /v1/users", "user.list", s.wrap(s.handleUserIndex))
	s.route("GET /v1/users/{user_id}", "user.get", s.wrap(s.handleUserView))
	s.route("DELETE /v1/users/{user_id}", "user.delete", s.wrap(s.handleUserDelete))
	s.route("PUT /v1/users/{user_id}/password", "user.password", s.wrap(s.handleUserPassword))
}

// userCreateRequest is the body of POST /v1/users: the password is
// write-only, and the bindings are granted with the user.
type userCreateRequest struct {
	Name     string           `json:"name"`
	Password string           `json:"password"`
	Bindings []bindingRequest `json:"bindings,omitempty"`
}

// bindingRequest is a role to grant: on a project, or globally when
// project_id is 0.
type bindingRequest struct {
	ProjectID int64  `json:"project_id"`
	Role      string `json:"role"`
}

// passwordRequest is the body of PUT /v1/users/{user_id}/password. A user
// changing its own password gives the current one too.
type passwordRequest struct {
	Password        string `json:"password"`
	CurrentPassword string `json:"current_password,omitempty"`
}

// PasswordChange is the answer of PUT /v1/users/{user_id}/password. A
// password change revokes the user's tokens but not its access keys, so
// the answer says how many keys still sign for the user: after a leak,
// they must be deleted too.
type PasswordChange struct {
	UserID int64 `json:"user_id"`
	// AccessKeys is how many access keys the user still has.
	AccessKeys int `json:"access_keys"`
}

// userPage is the answer of GET /v1/users.
type userPage struct {
	Users  []*dbplane.User `json:"users"`
	Total  int             `json:"total"`
	Offset int             `json:"offset"`
	Limit  int             `json:"limit"`
}

// handleUserCreate handles POST /v1/users: 201 with the user and its
// bindings.
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	var req userCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Password == "" {
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "password", Message: "required"})
	}
	u := &dbplane.User{Name: req.Name}
	for _, b := range req.Bindings {
		u.Bindings = append(u.Bindings, dbplane.RoleBinding{ProjectID: b.ProjectID, Role: b.Role})
	}
	if err := s.Identity.CreateUser(r.Context(), u, req.Password); err != nil {
		return nil, err
	}
	return reply{http.StatusCreated, u}, nil
}

// handleUserIndex handles GET /v1/users.
func (s *Server) handleUserIndex(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "name", "offset", "limit")
	var f dbplane.UserFilter
	f.Name = q.str("name")
	f.Offset, f.Limit = q.page()
	if err := q.err(); err != nil {
		return nil, err
	}
	us, total, err := s.Identity.FindUsers(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return userPage{Users: nonNil(us), Total: total, Offset: f.Offset, Limit: f.Limit}, nil
}

// handleUserView handles GET /v1/users/{user_id}: the user with its
// bindings.
func (s *Server) handleUserView(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "user_id")
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	return s.Identity.FindUserByID(r.Context(), id)
}

// handleUserDelete handles DELETE /v1/users/{user_id}: 204. The user's
// bindings, tokens and access keys go with it.
func (s *Server) handleUserDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "user_id")
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	if err := s.Identity.DeleteUser(r.Context(), id); err != nil {
		return nil, err
	}
	return noContent, nil
}

// handleUserPassword handles PUT /v1/users/{user_id}/password: 200 with
// the number of access keys the user keeps. The user's tokens are revoked
// with the old password.
func (s *Server) handleUserPassword(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "user_id")
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	var req passwordRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Password == "" {
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "password", Message: "required"})
	}
	if err := s.Identity.SetUserPassword(r.Context(), id, req.CurrentPassword, req.Password); err != nil {
		return nil, err
	}
	// Whoever may set the password may list the keys, and the request's
	// principal outlives the tokens just revoked.
	keys, err := s.Identity.FindAccessKeys(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return PasswordChange{UserID: id, AccessKeys: len(keys)}, nil
}
