package frontdoor

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"time"
)

// RequestIDHeader carries a request's id in both directions, so that a
// proxy's id follows the call into dbplane's logs and back out.
const RequestIDHeader = "X-Request-Id"

// requestInfo is what the chain puts in the context: one value, so one
// allocation, for the id, start and logger of a request.
type requestInfo struct {
	id    string
	start time.Time
	base  *slog.Logger
	log   *slog.Logger // base with the request id, built on first use
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

func infoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(ctxKey{}).(*requestInfo)
	return ri
}

// RequestIDFrom returns the id the chain gave the request of ctx, or ""
// outside a chain.
func RequestIDFrom(ctx context.Context) string {
	if ri := infoFrom(ctx); ri != nil {
		return ri.id
	}
	return ""
}

// StartFrom returns when the chain received the request of ctx, by the
// chain's clock; the zero time outside a chain.
func StartFrom(ctx context.Context) time.Time {
	if ri := infoFrom(ctx); ri != nil {
		return ri.start
	}
	return time.Time{}
}

// LoggerFrom returns the logger of the request of ctx, which adds its
// request id, or fallback outside a chain.
func LoggerFrom(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if ri := infoFrom(ctx); ri != nil {
		return ri.logger()
	}
	return fallback
}

// NewRequestID makes a request id: rand.Text's 26 characters, unguessable
// and safe in headers and logs.
func NewRequestID() string { return rand.Text() }

// SaneRequestID accepts short ids of characters that are safe in headers
// and logs; anything else could forge log lines or bloat them.
func SaneRequestID(id string) bool {
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

// requestID adopts an acceptable incoming request id or makes one, and
// puts it in the context and the answer.
func (c *Chain) requestID(next http.Handler) http.Handler {
	accept, newID := c.AcceptRequestID, c.NewRequestID
	if accept == nil {
		accept = SaneRequestID
	}
	if newID == nil {
		newID = NewRequestID
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !accept(id) {
			id = newID()
		}
		w.Header().Set(RequestIDHeader, id)
		ri := &requestInfo{id: id, start: c.now(), base: c.Logger}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri)))
	})
}
