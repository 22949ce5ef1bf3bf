package httpapi

import (
	"net/http"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerHostRoutes() {
	s.handleAuth("GET /v1/hosts", s.wrap(s.handleHostIndex))
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

// nonNil makes empty lists encode as [] rather than null, so clients need
// not special-case them.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
