package frontdoor

import (
	"log/slog"
	"net/http"
	"time"
)

// instrument writes the access log line and tells Observe, by the
// matched route pattern, so that ids in paths do not explode a metric's
// cardinality.
func (c *Chain) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &sizeWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		elapsed := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched" // the fallback: 404, 405 and redirects
		}
		if c.Observe != nil {
			c.Observe(route, sw.status, elapsed)
		}
		if c.AccessLog {
			c.logAccess(r, route, sw, elapsed)
		}
	})
}

func (c *Chain) logAccess(r *http.Request, route string, sw *sizeWriter, elapsed time.Duration) {
	level := slog.LevelInfo
	if c.QuietRoutes[route] {
		level = slog.LevelDebug
	}
	ctx := r.Context()
	if !c.Logger.Enabled(ctx, level) {
		return
	}
	c.Logger.LogAttrs(ctx, level, "http request",
		slog.String("request_id", RequestIDFrom(ctx)),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", sw.status),
		slog.Int64("bytes", sw.bytes),
		slog.Duration("duration", elapsed),
		slog.String("remote", r.RemoteAddr),
	)
}

// sizeWriter records the status and size of an answer for the access
// log and metrics. Unwrap lets http.ResponseController reach Flush and
// deadlines.
type sizeWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *sizeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *sizeWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap returns the underlying writer.
func (w *sizeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
