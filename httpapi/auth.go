package httpapi

import (
	"net/http"
	"time"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerAuthRoutes() {
	s.handle("POST /v1/auth/token", s.wrap(s.handleIssueToken))
	s.handleAuth("GET /v1/whoami", s.wrap(s.handleWhoami))
}

// tokenRequest is the body of POST /v1/auth/token.
type tokenRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// tokenResponse is the answer of POST /v1/auth/token: the secret, shown
// only this once, and when it stops working.
type tokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// handleIssueToken handles POST /v1/auth/token: trade a user's password for
// a bearer token.
func (s *Server) handleIssueToken(w http.ResponseWriter, r *http.Request) (any, error) {
	var req tokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	var missing []dbplane.FieldError
	if req.User == "" {
		missing = append(missing, dbplane.FieldError{Field: "user", Message: "required"})
	}
	if req.Password == "" {
		missing = append(missing, dbplane.FieldError{Field: "password", Message: "required"})
	}
	if len(missing) > 0 {
		return nil, dbplane.Invalid(missing...)
	}
	tok, err := s.Auth.IssueToken(r.Context(), req.User, req.Password)
	if err != nil {
		return nil, err
	}
	return reply{http.StatusCreated, tokenResponse{Token: tok.Secret, ExpiresAt: tok.ExpiresAt}}, nil
}

// handleWhoami handles GET /v1/whoami: the user the token belongs to.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) (any, error) {
	return dbplane.PrincipalFrom(r.Context()).User, nil
}
