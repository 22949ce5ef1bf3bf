package httpapi

import (
	"net/http"

	"github.com/dbplane/dbplane"
)

// registerAgentRoutes registers the routes agents call. Joining needs no
// bearer token: the join token in the body is the credential, checked by
// the service; like every credential exchange, it is rate-limited per
// source address.
func (s *Server) registerAgentRoutes() {
	s.publicRoute("POST /v1/agents/join", "agent.join", s.door.LimitSource(s.wrap(s.handleAgentJoin)))
}

// handleAgentJoin handles POST /v1/agents/join: an agent trades a join
// token and a CSR for its host id and certificate.
func (s *Server) handleAgentJoin(w http.ResponseWriter, r *http.Request) (any, error) {
	var req dbplane.JoinRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Token == "" {
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "token", Message: "required"})
	}
	joiner, ok := s.Hosts.(dbplane.JoinService)
	if !ok {
		return nil, &dbplane.Error{Op: "httpapi.handleAgentJoin", Kind: dbplane.KindInternal,
			Message: "the host service does not implement dbplane.JoinService"}
	}
	return joiner.Join(r.Context(), req)
}
