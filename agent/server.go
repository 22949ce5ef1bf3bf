package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent/wire"
)

// maxRequestBody bounds a request: the largest are files and stdin, which
// are configuration-sized.
const maxRequestBody = 16 << 20

// Server serves a dbplane.HostAgent over mTLS: JSON over HTTP, POST
// /agent/v1/<operation>, only to the control plane's certificate.
type Server struct {
	host dbplane.HostAgent
	log  *slog.Logger
	srv  *http.Server
}

// NewServer returns a server of host. Whatever tlsCfg says, the server
// requires TLS 1.3 and a client certificate verified against
// tlsCfg.ClientCAs, meant for client authentication, with common name
// ControlPlaneCN. A nil logger discards logs.
func NewServer(host dbplane.HostAgent, tlsCfg *tls.Config, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{host: host, log: logger}
	mux := http.NewServeMux()
	s.routes(mux)
	s.srv = &http.Server{
		Handler:           s.requireControlPlane(mux),
		TLSConfig:         hardenServerTLS(tlsCfg),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Refused handshakes are routine (scanners, a stale certificate):
		// debug, not the standard logger's stderr.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return s
}

// Serve accepts TLS connections on ln, a plain TCP listener, until
// Shutdown. It returns http.ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.srv.ServeTLS(ln, "", "")
}

// Shutdown stops accepting connections and waits for the calls in flight,
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

// routes registers one route per operation.
func (s *Server) routes(mux *http.ServeMux) {
	mux.Handle("GET "+wire.PathHealth, s.wrap(func(r *http.Request) (any, error) {
		return wire.HealthResponse{Status: "ok"}, nil
	}))
	mux.Handle("POST "+wire.PathFacts, s.wrap(func(r *http.Request) (any, error) {
		if err := decode(r, &struct{}{}); err != nil {
			return nil, err
		}
		return s.host.Facts(r.Context())
	}))
	mux.Handle("POST "+wire.PathEnsurePackages, s.wrap(func(r *http.Request) (any, error) {
		var req wire.EnsurePackagesRequest
		return call(r, &req, func() error { return s.ensurePackages(r.Context(), req) })
	}))
	mux.Handle("POST "+wire.PathEnsureUser, s.wrap(func(r *http.Request) (any, error) {
		var req wire.EnsureUserRequest
		return call(r, &req, func() error { return s.host.EnsureUser(r.Context(), req.Name) })
	}))
	mux.Handle("POST "+wire.PathEnsureDir, s.wrap(func(r *http.Request) (any, error) {
		var req wire.EnsureDirRequest
		return call(r, &req, func() error { return s.host.EnsureDir(r.Context(), req.Path, req.Owner, req.Mode) })
	}))
	mux.Handle("POST "+wire.PathWriteFile, s.wrap(func(r *http.Request) (any, error) {
		var req dbplane.File
		return call(r, &req, func() error { return s.host.WriteFile(r.Context(), req) })
	}))
	mux.Handle("POST "+wire.PathRun, s.wrap(func(r *http.Request) (any, error) {
		var req dbplane.Command
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return s.host.Run(r.Context(), req)
	}))
	mux.Handle("POST "+wire.PathStartInstance, s.wrap(func(r *http.Request) (any, error) {
		var req dbplane.Instance
		return call(r, &req, func() error { return s.host.StartInstance(r.Context(), req) })
	}))
	mux.Handle("POST "+wire.PathStopInstance, s.wrap(func(r *http.Request) (any, error) {
		var req wire.InstanceRequest
		return call(r, &req, func() error { return s.host.StopInstance(r.Context(), req.ID) })
	}))
	mux.Handle("POST "+wire.PathInstanceStatus, s.wrap(func(r *http.Request) (any, error) {
		var req wire.InstanceRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return s.host.InstanceStatus(r.Context(), req.ID)
	}))
	mux.Handle("POST "+wire.PathRemoveInstance, s.wrap(func(r *http.Request) (any, error) {
		var req wire.RemoveInstanceRequest
		return call(r, &req, func() error { return s.host.RemoveInstance(r.Context(), req.ID, req.Paths) })
	}))
}

// noContent is the answer of operations that return nothing.
type noContent struct{}

// call decodes the request into req and runs op, for operations that
// return only an error.
func call(r *http.Request, req any, op func() error) (any, error) {
	if err := decode(r, req); err != nil {
		return nil, err
	}
	if err := op(); err != nil {
		return nil, err
	}
	return noContent{}, nil
}

// requireControlPlane refuses any request that did not come over TLS with
// the control plane's certificate. The handshake already checked that;
// this holds even if the handler is served some other way.
func (s *Server) requireControlPlane(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || checkControlPlane(r.TLS.VerifiedChains[0][0]) != nil {
			s.writeError(w, r, dbplane.Errorf(dbplane.KindForbidden, "only the control plane may call the agent"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// wrap adapts an operation to http.Handler: it writes the value as JSON or
// the error in the API's error shape.
func (s *Server) wrap(h func(r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		v, err := h(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.log.Debug("agent call", "path", r.URL.Path, "duration", time.Since(start))
		if _, ok := v.(noContent); ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.writeJSON(w, http.StatusOK, v)
	})
}

// writeError logs err and writes it. An internal error's cause is logged
// here and never sent.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	kind := dbplane.ErrorKind(err)
	level := slog.LevelInfo
	if kind == dbplane.KindInternal {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "agent call failed", "path", r.URL.Path, "error", err.Error())
	body := wire.ErrorBody{Error: wire.ErrorDetail{
		Code:      kind.String(),
		Message:   dbplane.ErrorMessage(err),
		Permanent: dbplane.IsPermanent(err),
	}}
	if kind != dbplane.KindInternal {
		body.Error.Details = dbplane.ErrorFields(err)
	}
	s.writeJSON(w, kind.HTTPStatus(), &body)
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("cannot encode an answer", "error", err)
		b, status = []byte(`{"error":{"code":"internal","message":"internal error","permanent":false}}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decode reads a request's JSON body into v strictly: unknown fields are
// refused, so a client and an agent of different versions notice.
func decode(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return dbplane.Errorf(dbplane.KindUnsupported, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxRequestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return dbplane.Errorf(dbplane.KindTooLarge, "the request body is over %d bytes", maxRequestBody)
		}
		return dbplane.Invalid(dbplane.FieldError{Field: "body", Message: fmt.Sprintf("is not valid JSON for this operation: %v", err)})
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return dbplane.Invalid(dbplane.FieldError{Field: "body", Message: "must hold a single JSON value"})
	}
	return nil
}
