package httpapi

import (
	_ "embed"
	"net/http"
	"strconv"

	"github.com/dbplane/dbplane"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// openAPISpec is the hand-written OpenAPI 3.1 description of this API.
//
//go:embed openapi.json
var openAPISpec []byte

// OpenAPISpec returns a copy of the API's OpenAPI 3.1 document, for tools
// that render or check it.
func OpenAPISpec() []byte { return append([]byte(nil), openAPISpec...) }

func (s *Server) registerHealthRoutes() {
	s.publicRoute("GET /healthz", "health.live", s.wrap(s.handleHealthz))
	s.publicRoute("GET /readyz", "health.ready", s.wrap(s.handleReadyz))
	s.publicRoute("GET /metrics", "metrics.get", promhttp.Handler())
	s.publicRoute("GET /v1/openapi.json", "openapi.get", http.HandlerFunc(serveOpenAPI))
	s.publicRoute("GET /v1/ca", "ca.get", http.HandlerFunc(s.serveCA))
}

// serveCA handles GET /v1/ca: the CA certificate in PEM.
func (s *Server) serveCA(w http.ResponseWriter, r *http.Request) {
	if len(s.CACert) == 0 {
		s.writeError(w, r, dbplane.Errorf(dbplane.KindNotFound, "this control plane serves no CA certificate"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-pem-file")
	h.Set("Content-Length", strconv.Itoa(len(s.CACert)))
	w.Write(s.CACert)
}

// statusResponse is the body of the health endpoints.
type statusResponse struct {
	Status string `json:"status"`
}

// handleHealthz handles GET /healthz: the process is up and serving. It
// checks nothing else, so an orchestrator restarts only a wedged process.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) (any, error) {
	return statusResponse{Status: "ok"}, nil
}

// handleReadyz handles GET /readyz: whether this replica can serve requests
// now (e.g. its store answers), so load balancers skip it while it cannot.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) (any, error) {
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			return nil, &dbplane.Error{Op: "httpapi.readyz", Kind: dbplane.KindUnavailable, Message: "not ready", Err: err}
		}
	}
	return statusResponse{Status: "ready"}, nil
}

// serveOpenAPI handles GET /v1/openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(openAPISpec)))
	w.Write(openAPISpec)
}
