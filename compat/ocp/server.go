// Package ocp is dbplane's OceanBase Cloud Platform (OCP) v2 compatible
// front door: /api/v2/... routes that adapt OCP's requests, envelopes,
// status values and error codes to dbplane's services, so that scripts
// written for OCP drive dbplane.
//
// An OCP cluster is a dbplane MariaDB Galera cluster with one node on each
// listed server; OCP's task instances are dbplane's native task DAGs, seen
// in OCP's shape. The server authenticates (HTTP Basic with dbplane users,
// OCP-ACCESS-KEY-HMACSHA1 signatures with dbplane access keys) and audits
// through frontdoor.Door; the services authorize. docs/ocp.md describes what
// is supported and how it maps.
package ocp

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
	"github.com/dbplane/dbplane/signature"
)

// FrontDoorName names the OCP front door in audit events.
const FrontDoorName = "ocp"

// Prefix is the path under which the OCP API is served.
const Prefix = "/api/v2/"

// DefaultMaxBodyBytes bounds request bodies when Server.MaxBodyBytes is 0:
// a create-cluster body is a few hundred bytes.
const DefaultMaxBodyBytes = 1 << 20

// Server serves the OCP v2 API. Set its fields, then call Handler; fields
// must not change afterwards. Clusters, Tasks, Hosts and Auth are required.
type Server struct {
	Clusters dbplane.ClusterService
	Tasks    dbplane.TaskService
	// Hosts resolves the host ids of a create request's servers.
	Hosts dbplane.HostAdminService
	Auth  dbplane.AuthService
	// Compute serves the compute API (regions, IDCs, host types, hosts);
	// nil serves none.
	Compute dbplane.ComputeService
	// AuditRecorder persists the audit events of mutating calls; nil
	// records none.
	AuditRecorder frontdoor.Recorder
	// Security tunes rate limits, trusted proxies and the clock skew of
	// signed requests; zero fields take frontdoor's defaults.
	Security frontdoor.Config
	// Catalog names the packages an rpmName may name.
	Catalog dbplane.Catalog
	// Logger receives errors; nil discards them.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Packages is the software package store; nil serves no
	// /api/v2/software-packages routes.
	Packages dbplane.SoftwarePackageService
	// MaxPackageBytes bounds an uploaded package file; 0 means
	// dbplane.DefaultMaxPackageBytes.
	MaxPackageBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	built  frontdoor.Once
	mux    *http.ServeMux
	door   *frontdoor.Door
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
	s.door = &frontdoor.Door{
		Name:       FrontDoorName,
		Auth:       s.Auth,
		Basic:      true,
		Signatures: []signature.Scheme{signature.OCP{}},
		WriteError: func(w http.ResponseWriter, r *http.Request, err error) { s.writeError(w, r, err, codesCommon) },
		Recorder:   s.AuditRecorder,
		Config:     s.Security,
		Now:        s.Now,
	}
	var h http.Handler
	s.routes, h = frontdoor.Build(s.door, s.chain(), func(rt *frontdoor.Routes) {
		s.routes, s.mux = rt, rt.Mux()
		s.registerTaskRoutes()
		s.registerClusterRoutes()
		s.registerComputeRoutes()
		s.registerSoftwarePackageRoutes()
		s.registerChangeRoutes()
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, dbplane.Errorf(dbplane.KindNotFound, "no OCP API route for %s %s", r.Method, r.URL.Path), codesCommon)
	}))
	return h
}

// route registers a route that needs credentials, audited as action, its
// errors answered with codes.
func (s *Server) route(pattern, action string, codes codeTable, h handlerFunc) {
	s.routes.Handle(pattern, action, s.wrap(codes, h))
}

// chain is the door's middleware around the mux: the trace id and start
// of the envelope, the body limit (larger for uploads), and panics turned
// into a 500 in OCP's envelope. A body too large is refused where it is
// read, inside the route's audit.
func (s *Server) chain() *frontdoor.Chain {
	return &frontdoor.Chain{
		WriteError:      func(w http.ResponseWriter, r *http.Request, err error) { s.writeError(w, r, err, codesCommon) },
		Logger:          s.Logger,
		MaxBody:         s.bodyLimit,
		AcceptRequestID: saneID,
		NewRequestID:    newTraceID,
		Now:             s.Now,
	}
}

// TraceIDHeader carries the trace id: adopted from the request when sane,
// and sent back, so that a proxy's id follows the call.
const TraceIDHeader = frontdoor.RequestIDHeader

// newTraceID makes a trace id of 16 hex digits, like OCP's.
func newTraceID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// saneID accepts the sane ids of frontdoor but for colons, which OCP's
// trace ids never hold.
func saneID(id string) bool {
	return frontdoor.SaneRequestID(id) && !strings.Contains(id, ":")
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
