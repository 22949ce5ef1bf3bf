package frontdoor

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/dbplane/dbplane"
)

// Chain is the middleware every door's handler runs in, so that each
// door holds only its routes and envelopes. Outermost first: the request
// id (with the request's start and logger), the access log and metrics,
// panic recovery, and the body limit. Authentication, audit and rate
// limits wrap each route instead (see Door), because they differ by route.
// Set its fields, then call Wrap; WriteError is required.
type Chain struct {
	// WriteError writes an error in the door's own format: a panic, a
	// body refused for its length.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives access logs and panics; nil discards them.
	Logger *slog.Logger
	// MaxBody returns the largest body r may send; nil or a result of 0
	// means no limit. Per request, because uploads may be larger.
	MaxBody func(r *http.Request) int64
	// CheckLength refuses a body that says in Content-Length that it is
	// too large before routing, without reading it (and without auditing
	// it); without it such a body is refused where it is read.
	CheckLength bool
	// AcceptRequestID says whether a client's request id is adopted; nil
	// means SaneRequestID.
	AcceptRequestID func(id string) bool
	// NewRequestID makes the id of a request that brought no acceptable
	// one; nil means NewRequestID.
	NewRequestID func() string
	// AccessLog writes a line per request to Logger.
	AccessLog bool
	// QuietRoutes are route patterns whose access lines go to Debug:
	// probes and scrapers would drown the interesting ones.
	QuietRoutes map[string]bool
	// Observe, when set, is told the route pattern, status and latency of
	// every request, for metrics.
	Observe func(route string, status int, elapsed time.Duration)
	// Now is the clock of requests' start; nil means time.Now.
	Now func() time.Time
}

// Wrap returns next inside the chain. The handler that sets
// r.Pattern (a ServeMux) must be next itself or reached without copying
// the request, so that the access log and metrics see the route.
func (c *Chain) Wrap(next http.Handler) http.Handler {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	h := c.limitBody(next)
	h = c.recoverPanics(h)
	if c.AccessLog || c.Observe != nil {
		h = c.instrument(h)
	}
	return c.requestID(h)
}

func (c *Chain) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// recoverPanics turns a handler panic into a logged 500, so that a bug
// never kills the connection without an answer (or the process).
func (c *Chain) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &headerWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // the handler asked net/http to drop the connection
			}
			ctx := r.Context()
			LoggerFrom(ctx, c.Logger).LogAttrs(ctx, slog.LevelError, "handler panicked",
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			if sw.wrote {
				// Half an answer is out; only dropping the connection
				// tells the client it is incomplete.
				panic(http.ErrAbortHandler)
			}
			c.WriteError(w, r, dbplane.Errorf(dbplane.KindInternal, "handler panicked: %v", v))
		}()
		next.ServeHTTP(sw, r)
	})
}

// limitBody bounds the body by MaxBody: at once when CheckLength is set
// and Content-Length says it is over, else when a reader reads past it
// (DecodeJSON turns that into KindTooLarge).
func (c *Chain) limitBody(next http.Handler) http.Handler {
	if c.MaxBody == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := c.MaxBody(r)
		if limit <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		if c.CheckLength && r.ContentLength > limit {
			c.WriteError(w, r, TooLarge(limit))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// headerWriter remembers whether the status line has gone out. Unwrap
// lets http.ResponseController reach Flush and deadlines.
type headerWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *headerWriter) WriteHeader(code int) {
	w.wrote = w.wrote || code >= 200
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap returns the underlying writer.
func (w *headerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
