package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
)

// handlerFunc is the shape of every JSON handler: it returns the value to
// encode or an error, and one adapter (wrap) writes either. A handler that
// needs a status other than 200 returns a reply.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (any, error)

// reply carries a non-200 status with its body.
type reply struct {
	status int
	body   any
}

// noContent is the reply of a change that has nothing to say: 204.
var noContent = reply{status: http.StatusNoContent}

// wrap adapts a handlerFunc to http.Handler.
func (s *Server) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := h(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		status := http.StatusOK
		if rp, ok := v.(reply); ok {
			status, v = rp.status, rp.body
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		s.writeJSON(w, r, status, v)
	})
}

// codeMethodNotAllowed is the error code of 405 answers. No domain error
// kind exists for it because services never produce it: only routing does.
const codeMethodNotAllowed = "method_not_allowed"

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string               `json:"code"`
	Message   string               `json:"message"`
	Details   []dbplane.FieldError `json:"details,omitempty"`
	RequestID string               `json:"request_id,omitempty"`
}

// writeError logs err at the level its kind deserves and writes it in the
// error shape, with Retry-After when err says when to retry. Internal causes
// are logged here, once, and never sent.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	f := frontdoor.Fail(w, r, s.Logger, err)
	s.writeErrorBody(w, r, f.Status, f.Kind.String(), f.Message, f.Fields)
}

// writeErrorBody writes the error shape with an explicit status and code.
func (s *Server) writeErrorBody(w http.ResponseWriter, r *http.Request, status int, code, msg string, fields []dbplane.FieldError) {
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	body := errorBody{Error: errorDetail{
		Code:      code,
		Message:   msg,
		Details:   fields,
		RequestID: frontdoor.RequestIDFrom(r.Context()),
	}}
	s.writeJSON(w, r, status, &body)
}

// bufPool recycles response buffers: encoding into a buffer first lets an
// encoding failure still become a clean 500 and gives a Content-Length.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuf keeps one huge listing from pinning memory in the pool.
const maxPooledBuf = 4 << 20

// jsonContentType is shared by every response's header map; net/http never
// modifies header values, and sharing saves an allocation per response.
var jsonContentType = []string{"application/json"}

// writeJSON encodes v with the given status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuf {
			bufPool.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		if _, isErr := v.(*errorBody); isErr {
			// Cannot happen for the error shape; avoid recursion anyway.
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.writeError(w, r, dbplane.E("httpapi.writeJSON", err))
		return
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		frontdoor.LoggerFrom(r.Context(), s.Logger).LogAttrs(r.Context(), slog.LevelDebug,
			"writing response failed", slog.String("error", err.Error()))
	}
}
