package httpapi

import (
	"net/http"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerAuditRoutes() {
	s.route("GET /v1/audit", "audit.list", s.wrap(s.handleAuditIndex))
}

// auditPage is the answer of GET /v1/audit.
type auditPage struct {
	Events []*dbplane.AuditEvent `json:"events"`
	Total  int                   `json:"total"`
	Offset int                   `json:"offset"`
	Limit  int                   `json:"limit"`
}

// handleAuditIndex handles GET /v1/audit: audit events, newest first,
// filtered by user, project_id, action, result and a since/until time
// range (RFC 3339).
func (s *Server) handleAuditIndex(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "user", "project_id", "action", "result", "since", "until", "offset", "limit")
	var f dbplane.AuditFilter
	f.User = q.str("user")
	f.ProjectID = q.positiveID("project_id")
	f.Action = q.str("action")
	f.Result = q.str("result")
	f.Since = q.time("since")
	f.Until = q.time("until")
	if f.Since != nil && f.Until != nil && f.Until.Before(*f.Since) {
		q.fail("until", "must not be before since")
	}
	f.Offset, f.Limit = q.page()
	if err := q.err(); err != nil {
		return nil, err
	}
	events, total, err := s.Audit.FindAuditEvents(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return auditPage{Events: nonNil(events), Total: total, Offset: f.Offset, Limit: f.Limit}, nil
}
