// Package httpapi is dbplane's native REST API v1: an HTTP server that adapts
// requests to the domain services, and a typed client that implements the
// same service interfaces over HTTP, so the CLI and tests speak domain types.
//
// The OpenAPI 3.1 description of the API is kept beside the code in
// openapi.json and served at /v1/openapi.json; a test fails when a route is
// registered without being described there.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
	"github.com/dbplane/dbplane/signature"
)

// DefaultMaxBodyBytes bounds request bodies when Server.MaxBodyBytes is 0. A
// cluster spec is a few hundred bytes; a megabyte leaves room for parameters
// and labels while refusing abusive uploads early.
const DefaultMaxBodyBytes = 1 << 20

// DefaultHeartbeat is how often an idle event stream sends a comment, so that
// proxies and clients can tell a quiet task from a dead connection.
const DefaultHeartbeat = 15 * time.Second

// FrontDoorName names the native API in audit events.
const FrontDoorName = "v1"

// SignatureService is the service name that SigV4 signatures of the native
// API carry in their credential scope; any region is accepted.
const SignatureService = "dbplane"

// Server serves the native API. Set its fields, then call Handler; the
// services are required, the rest have defaults. Fields must not change once
// Handler has been called.
//
// The server authenticates requests (bearer tokens, and access keys signing
// with AWS SigV4) and audits mutating calls; it never authorizes: the
// services decide on the principal in the context.
type Server struct {
	// The services the API adapts; all are required.
	Clusters dbplane.ClusterService
	Tasks    dbplane.TaskService
	Hosts    dbplane.HostService
	Auth     dbplane.AuthService
	Identity dbplane.IdentityService
	Audit    dbplane.AuditService
	// AuditRecorder persists the audit events of mutating calls; nil
	// records none.
	AuditRecorder frontdoor.Recorder
	// Security tunes rate limits, trusted proxies and the clock skew of
	// signed requests; zero fields take frontdoor's defaults.
	Security frontdoor.Config
	// Catalog is served read-only at /v1/catalog.
	Catalog dbplane.Catalog
	// CACert is the PEM certificate of the control plane's CA, served at
	// /v1/ca without credentials: it is public, and clients and agents
	// need it (or its fingerprint) before they can trust anything else.
	// Nil answers 404.
	CACert []byte
	// Ready reports readiness for /readyz (e.g. a store ping); nil means
	// always ready.
	Ready func(ctx context.Context) error
	// Logger receives access logs and errors; nil discards them.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Heartbeat is the interval of event-stream keep-alive comments; 0
	// means DefaultHeartbeat.
	Heartbeat time.Duration

	built frontdoor.Once
	mux   *http.ServeMux
	door  *frontdoor.Door
	// routes is kept so that tests can check every route against the
	// OpenAPI document, and walk every route for authorization.
	routes *frontdoor.Routes
}

// Handler returns the API's HTTP handler, built on the first call and
// shared afterwards.
func (s *Server) Handler() http.Handler { return s.built.Handler(s.build) }

func (s *Server) build() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.Heartbeat <= 0 {
		s.Heartbeat = DefaultHeartbeat
	}
	s.door = &frontdoor.Door{
		Name:       FrontDoorName,
		Auth:       s.Auth,
		Bearer:     true,
		Signatures: []signature.Scheme{&signature.SigV4{Services: []string{SignatureService}}},
		WriteError: s.writeError,
		Recorder:   s.AuditRecorder,
		Config:     s.Security,
	}
	var h http.Handler
	s.routes, h = frontdoor.Build(s.door, s.chain(), func(rt *frontdoor.Routes) {
		s.routes, s.mux = rt, rt.Mux()
		s.registerHealthRoutes()
		s.registerAuthRoutes()
		s.registerClusterRoutes()
		s.registerTaskRoutes()
		s.registerHostRoutes()
		s.registerCatalogRoutes()
		s.registerProjectRoutes()
		s.registerUserRoutes()
		s.registerCredentialRoutes()
		s.registerAuditRoutes()
	}, http.HandlerFunc(s.handleUnmatched)) // 404 and 405 in the error shape
	return h
}

// route registers a route that needs credentials. action names the route
// in the audit log ("cluster.create").
func (s *Server) route(pattern, action string, h http.Handler) {
	s.routes.Handle(pattern, action, h)
}

// publicRoute registers a route that needs no credentials.
func (s *Server) publicRoute(pattern, action string, h http.Handler) {
	s.routes.HandlePublic(pattern, action, h)
}

// patterns returns the registered route patterns in registration order.
func (s *Server) patterns() []string {
	s.Handler()
	var out []string
	for _, rt := range s.routes.List() {
		out = append(out, rt.Pattern)
	}
	return out
}

// probeMethods are the methods tried to tell a wrong method (405) from an
// unknown path (404).
var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// handleUnmatched answers requests that no route matched: 405 with an Allow
// header when the path exists under another method, else 404. The probing
// costs a few lookups, paid only on this error path.
func (s *Server) handleUnmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range probeMethods {
		probe := r.WithContext(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" && p != "/" {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeErrorBody(w, r, http.StatusMethodNotAllowed, codeMethodNotAllowed,
			"method "+r.Method+" is not allowed on "+r.URL.Path, nil)
		return
	}
	s.writeError(w, r, dbplane.Errorf(dbplane.KindNotFound, "no route for %s %s", r.Method, r.URL.Path))
}
