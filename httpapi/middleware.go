package httpapi

import (
	"net/http"

	"github.com/dbplane/dbplane/frontdoor"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = frontdoor.RequestIDHeader

// quietRoutes are polled by probes and scrapers; their access logs would
// drown the interesting ones, so they go to Debug.
var quietRoutes = map[string]bool{
	"GET /healthz": true,
	"GET /readyz":  true,
	"GET /metrics": true,
}

// chain returns the door's middleware around the mux: request ids, the
// access log and latency metrics, panic recovery and the body limit,
// refusing at once a body whose length says it is too large.
func (s *Server) chain() *frontdoor.Chain {
	return &frontdoor.Chain{
		WriteError:  s.writeError,
		Logger:      s.Logger,
		MaxBody:     func(*http.Request) int64 { return s.MaxBodyBytes },
		CheckLength: true,
		AccessLog:   true,
		QuietRoutes: quietRoutes,
		Observe:     observeRequest,
	}
}
