package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerAuthRoutes() {
	// Trading a password for a token is the one place passwords are
	// guessed at: rate-limited per source address, on top of the
	// service's per-user lockout.
	s.publicRoute("POST /v1/auth/token", "auth.token", s.door.LimitSource(s.wrap(s.handleIssueToken)))
	s.route("GET /v1/whoami", "auth.whoami", s.wrap(s.handleWhoami))
}

// tokenRequest is the body of POST /v1/auth/token.
type tokenRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// tokenResponse is the answer of POST /v1/auth/token: the secret, shown
// only this once, its id (to revoke it) and when it stops working.
type tokenResponse struct {
	ID        int64     `json:"id"`
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
	if fes := tokenRequestProblems(req); len(fes) > 0 {
		return nil, dbplane.Invalid(fes...)
	}
	tok, err := s.Auth.IssueToken(r.Context(), req.User, req.Password)
	if err != nil {
		return nil, err
	}
	// Only now is the name known to be a user's: a refused one may be a
	// password typed into the wrong field, and is not recorded.
	if e := dbplane.AuditFrom(r.Context()); e != nil {
		e.User, e.UserID, e.Via = req.User, tok.UserID, dbplane.ViaPassword
		e.Target = "token/" + strconv.FormatInt(tok.ID, 10)
	}
	w.Header().Set("Cache-Control", "no-store") // a secret: no cache may keep it
	return reply{http.StatusCreated, tokenResponse{ID: tok.ID, Token: tok.Secret, ExpiresAt: tok.ExpiresAt}}, nil
}

// Bounds of a token request's fields, as long as any user name or password
// can be (service.maxUserName, service.maxUserPassword). Checked before the
// lookup, they keep clients from making the service hash huge passwords or
// keep lockout records under huge names.
const (
	maxTokenUser     = 64
	maxTokenPassword = 256
)

// tokenRequestProblems returns what is wrong with a token request. The
// password's message does not quote it or tell its length.
func tokenRequestProblems(req tokenRequest) []dbplane.FieldError {
	var fes []dbplane.FieldError
	switch {
	case req.User == "":
		fes = append(fes, dbplane.FieldError{Field: "user", Message: "required"})
	case len(req.User) > maxTokenUser:
		fes = append(fes, dbplane.FieldError{Field: "user", Message: fmt.Sprintf("must be at most %d characters long", maxTokenUser)})
	}
	switch {
	case req.Password == "":
		fes = append(fes, dbplane.FieldError{Field: "password", Message: "required"})
	case utf8.RuneCountInString(req.Password) > maxTokenPassword:
		fes = append(fes, dbplane.FieldError{Field: "password", Message: fmt.Sprintf("must be at most %d characters long", maxTokenPassword)})
	}
	return fes
}

// handleWhoami handles GET /v1/whoami: the caller's user with its role
// bindings.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	return dbplane.PrincipalFrom(r.Context()).User, nil
}
