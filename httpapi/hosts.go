package httpapi

import (
	"net/http"
	"time"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerHostRoutes() {
	s.route("GET /v1/hosts", "host.list", s.wrap(s.handleHostIndex))
	s.route("GET /v1/hosts/{host_id}", "host.get", s.wrap(s.handleHostView))
	s.route("DELETE /v1/hosts/{host_id}", "host.delete", http.HandlerFunc(s.handleHostDelete))
	s.route("POST /v1/hosts/{host_id}/drain", "host.drain", s.wrap(s.handleHostDrain(true)))
	s.route("POST /v1/hosts/{host_id}/undrain", "host.undrain", s.wrap(s.handleHostDrain(false)))
	s.route("POST /v1/hosts/join-tokens", "join_token.create", s.wrap(s.handleJoinTokenCreate))
	s.registerAgentRoutes()
}

// hostAdmin returns the administration side of the host service. Server.Hosts
// has the type every front door needs, listing; the routes beyond it need
// an implementation that offers more (service.Hosts and Client do). One
// that does not is a wiring mistake, hence internal.
func (s *Server) hostAdmin() (dbplane.HostAdminService, error) {
	if a, ok := s.Hosts.(dbplane.HostAdminService); ok {
		return a, nil
	}
	return nil, &dbplane.Error{Op: "httpapi.hostAdmin", Kind: dbplane.KindInternal,
		Message: "the host service does not implement dbplane.HostAdminService"}
}

// hostPage is the answer of GET /v1/hosts.
type hostPage struct {
	Hosts  []*dbplane.Host `json:"hosts"`
	Total  int             `json:"total"`
	Offset int             `json:"offset"`
	Limit  int             `json:"limit"`
}

var hostStatuses = []string{
	string(dbplane.HostNew), string(dbplane.HostOnline), string(dbplane.HostOffline), string(dbplane.HostDeleting),
}

// handleHostIndex handles GET /v1/hosts.
func (s *Server) handleHostIndex(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "status", "zone", "offset", "limit")
	var f dbplane.HostFilter
	if st := q.oneOf("status", hostStatuses...); st != nil {
		hs := dbplane.HostStatus(*st)
		f.Status = &hs
	}
	f.Zone = q.str("zone")
	f.Offset, f.Limit = q.page()
	if err := q.err(); err != nil {
		return nil, err
	}
	hosts, total, err := s.Hosts.FindHosts(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return hostPage{Hosts: nonNil(hosts), Total: total, Offset: f.Offset, Limit: f.Limit}, nil
}

// handleHostView handles GET /v1/hosts/{host_id}.
func (s *Server) handleHostView(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "host_id")
	if err != nil {
		return nil, err
	}
	admin, err := s.hostAdmin()
	if err != nil {
		return nil, err
	}
	return admin.FindHostByID(r.Context(), id)
}

// handleHostDelete handles DELETE /v1/hosts/{host_id}: 204, or 409 while
// nodes are placed on the host.
func (s *Server) handleHostDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "host_id")
	if err == nil {
		var admin dbplane.HostAdminService
		if admin, err = s.hostAdmin(); err == nil {
			err = admin.DeleteHost(r.Context(), id)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleHostDrain handles POST /v1/hosts/{host_id}/drain and /undrain: the
// host takes no new nodes, or takes them again. Both are idempotent.
func (s *Server) handleHostDrain(drained bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		id, err := pathID(r, "host_id")
		if err != nil {
			return nil, err
		}
		admin, err := s.hostAdmin()
		if err != nil {
			return nil, err
		}
		return admin.DrainHost(r.Context(), id, drained)
	}
}

// joinTokenRequest is the optional body of POST /v1/hosts/join-tokens.
type joinTokenRequest struct {
	// TTLSeconds is how long the token may be used; 0 means an hour.
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
}

// handleJoinTokenCreate handles POST /v1/hosts/join-tokens: 201 with a
// one-time join token, whose secret is shown only this once.
func (s *Server) handleJoinTokenCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	var req joinTokenRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return nil, err
		}
	}
	if maxTTL := int64(dbplane.MaxJoinTokenTTL / time.Second); req.TTLSeconds < 0 || req.TTLSeconds > maxTTL {
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "ttl_seconds", Message: "must be between 1 and 604800 (7 days)"})
	}
	admin, err := s.hostAdmin()
	if err != nil {
		return nil, err
	}
	tok, err := admin.CreateJoinToken(r.Context(), time.Duration(req.TTLSeconds)*time.Second)
	if err != nil {
		return nil, err
	}
	return reply{http.StatusCreated, tok}, nil
}

// nonNil makes empty lists encode as [] rather than null, so clients need
// not special-case them.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
