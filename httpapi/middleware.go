package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
)

// requestInfo is what the request-id middleware puts in the context: one
// value, so one allocation, for the id and the request's logger.
type requestInfo struct {
	id   string
	base *slog.Logger
	log  *slog.Logger // base with the request id, built on first use
}

// logger returns the request's logger. It is built lazily because most
// requests log nothing but their access line, which adds the id itself:
// slog.Logger.With pre-formats attributes and costs several allocations.
// A request's handlers run on one goroutine, so no lock is needed.
func (ri *requestInfo) logger() *slog.Logger {
	if ri.log == nil {
		ri.log = ri.base.With(slog.String("request_id", ri.id))
	}
	return ri.log
}

type ctxKey struct{}

// requestIDFrom returns the request id of ctx, or "".
func requestIDFrom(ctx context.Context) string {
	if ri, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

// loggerFrom returns the request-scoped logger of ctx, or fallback.
func loggerFrom(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if ri, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		return ri.logger()
	}
	return fallback
}

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// requestID adopts a sane incoming request id, so that ids can be traced
// through a proxy, or makes one, and puts it in the context and the answer.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set(RequestIDHeader, id)
		ri := &requestInfo{id: id, base: s.Logger}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri)))
	})
}

// saneRequestID accepts short ids of characters that are safe in headers and
// logs; anything else could forge log lines or bloat them.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// statusWriter records the status and size of a response for the access log
// and metrics. Unwrap lets http.ResponseController reach Flush and deadlines.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap returns the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerWritten reports whether the status line has gone out.
func (w *statusWriter) headerWritten() bool { return w.status != 0 }

// instrument writes the access log line and observes the latency histogram,
// labelled with the matched route pattern so that ids in paths do not
// explode the metric's cardinality.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		elapsed := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched" // the fallback: 404, 405 and redirects
		}
		observeRequest(route, sw.status, elapsed)
		level := slog.LevelInfo
		if quietRoutes[route] {
			level = slog.LevelDebug
		}
		ctx := r.Context()
		if !s.Logger.Enabled(ctx, level) {
			return
		}
		s.Logger.LogAttrs(ctx, level, "http request",
			slog.String("request_id", requestIDFrom(ctx)),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", elapsed),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// quietRoutes are polled by probes and scrapers; their access logs would
// drown the interesting ones, so they go to Debug.
var quietRoutes = map[string]bool{
	"GET /healthz": true,
	"GET /readyz":  true,
	"GET /metrics": true,
}

// recoverPanics turns a handler panic into a logged 500, so that a bug never
// kills the connection without an answer (or the process).
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // the handler asked net/http to drop the connection
			}
			ctx := r.Context()
			loggerFrom(ctx, s.Logger).LogAttrs(ctx, slog.LevelError, "handler panicked",
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			if hw, ok := w.(interface{ headerWritten() bool }); ok && hw.headerWritten() {
				// Half an answer is out; only dropping the connection tells
				// the client it is incomplete.
				panic(http.ErrAbortHandler)
			}
			s.writeError(w, r, dbplane.Errorf(dbplane.KindInternal, "handler panicked: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies over the limit: at once when Content-Length says
// so, else when the decoder reads past it (see decodeJSON).
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.MaxBodyBytes {
			s.writeError(w, r, frontdoor.TooLarge(s.MaxBodyBytes))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, s.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}
