package ocp

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
)

// handlerFunc is the shape of every handler: the value to put in the
// envelope's data (nil for none), or an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (any, error)

// noData is the answer of a call that has nothing to say: the envelope
// without data, as OCP sends it.
type noData struct{}

// wrap adapts a handler to http.Handler, answering errors with codes.
func (s *Server) wrap(codes codeTable, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := h(w, r)
		if err != nil {
			s.writeError(w, r, err, codes)
			return
		}
		if _, ok := v.(noData); ok {
			v = nil
		}
		s.writeEnvelope(w, r, envelope{Data: v, Successful: true, Status: http.StatusOK})
	})
}

// envelope is OCP's response shape, success and error alike.
type envelope struct {
	Data       any          `json:"data,omitempty"`
	Successful bool         `json:"successful"`
	Timestamp  string       `json:"timestamp"`
	Duration   int64        `json:"duration"`
	Status     int          `json:"status"`
	TraceID    string       `json:"traceId"`
	Server     string       `json:"server"`
	Error      *errorDetail `json:"error,omitempty"`
}

// errorDetail is the error of OCP's error envelope.
type errorDetail struct {
	Code       int        `json:"code"`
	Message    string     `json:"message"`
	Target     any        `json:"target"`
	StackTrace any        `json:"stackTrace"`
	SubErrors  []subError `json:"subErrors"`
}

// subError names one rejected field, as OCP's validation errors do.
type subError struct {
	Object        string `json:"object"`
	Field         string `json:"field"`
	RejectedValue any    `json:"rejectedValue"`
	Message       string `json:"message"`
}

// invalid is a KindInvalid error that knows OCP's object names and the
// rejected values of its fields. It unwraps to the *dbplane.Error, so the
// kind and message work as for any other error.
type invalid struct {
	de   *dbplane.Error
	subs []subError
}

func (e *invalid) Error() string { return e.de.Error() }
func (e *invalid) Unwrap() error { return e.de }

// invalidErr returns a KindInvalid error of the sub errors.
func invalidErr(subs ...subError) error {
	fields := make([]dbplane.FieldError, len(subs))
	for i, s := range subs {
		fields[i] = dbplane.FieldError{Field: s.Field, Message: s.Message}
	}
	return &invalid{de: dbplane.Invalid(fields...), subs: subs}
}

// OCP's error codes (ocp-express ErrorCodes families; OCP 4.x does not
// publish its exact numbers). docs/ocp.md lists them.
const (
	codeIllegalArgument      = 10001
	codeNotFound             = 10002
	codeConflict             = 10003
	codeTooLarge             = 10004
	codeUnsupportedMedia     = 10005
	codeUnplaceable          = 10006
	codeQuotaExceeded        = 10007
	codeUnavailable          = 10008
	codeUnexpected           = 10010
	codeTaskNotExists        = 20000
	codeTaskStateInvalid     = 20003
	codeTaskProhibitRollback = 20004
	codeNotAuthenticated     = 30000
	codeAccountLocked        = 30003
	codeBadCredentials       = 30004
	codeNotPermitted         = 30014
	codeClusterOpsNotAllowed = 50002
)

// codeTable gives the codes of a family of routes where they differ from
// the common ones: a missing task is TASK_NOT_EXISTS, a task in the wrong
// state TASK_STATE_INVALID.
type codeTable struct {
	notFound, conflict int
}

var (
	codesCommon  = codeTable{notFound: codeNotFound, conflict: codeConflict}
	codesTask    = codeTable{notFound: codeTaskNotExists, conflict: codeTaskStateInvalid}
	codesCluster = codeTable{notFound: codeNotFound, conflict: codeClusterOpsNotAllowed}
)

// code returns the OCP error code of err.
func (t codeTable) code(r *http.Request, err error) int {
	switch dbplane.ErrorKind(err) {
	case dbplane.KindInvalid:
		return codeIllegalArgument
	case dbplane.KindNotFound:
		return t.notFound
	case dbplane.KindConflict:
		if t == codesTask && strings.Contains(dbplane.ErrorMessage(err), "prohibits rollback") {
			return codeTaskProhibitRollback
		}
		return t.conflict
	case dbplane.KindUnauthorized:
		// A request that carried credentials had bad ones; one that
		// carried none is not authenticated.
		if r.Header.Get("Authorization") != "" {
			return codeBadCredentials
		}
		return codeNotAuthenticated
	case dbplane.KindTooManyRequests:
		return codeAccountLocked
	case dbplane.KindForbidden:
		return codeNotPermitted
	case dbplane.KindTooLarge:
		return codeTooLarge
	case dbplane.KindUnsupported:
		return codeUnsupportedMedia
	case dbplane.KindUnplaceable:
		return codeUnplaceable
	case dbplane.KindQuotaExceeded:
		return codeQuotaExceeded
	case dbplane.KindUnavailable:
		return codeUnavailable
	}
	return codeUnexpected
}

// writeError writes err in OCP's error envelope. Internal causes are
// logged, never sent.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, codes codeTable) {
	f := frontdoor.Fail(w, r, s.Logger, err)
	if f.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="dbplane", charset="UTF-8"`)
	}
	s.writeEnvelope(w, r, envelope{Status: f.Status, Error: &errorDetail{
		Code:      codes.code(r, err),
		Message:   f.Message,
		SubErrors: subErrors(err, f.Fields),
	}})
}

// subErrors returns the field errors of err in OCP's shape, never nil:
// OCP's own sub-errors where err carries them, else fields.
func subErrors(err error, fields []dbplane.FieldError) []subError {
	var iv *invalid
	if errors.As(err, &iv) {
		return iv.subs
	}
	subs := []subError{}
	for _, f := range fields {
		subs = append(subs, subError{Field: f.Field, Message: f.Message})
	}
	return subs
}

// timeLayout is OCP's timestamp: milliseconds and a numeric zone offset.
const timeLayout = "2006-01-02T15:04:05.000-07:00"

// writeEnvelope completes e with the timestamp, duration, trace id and
// server, and writes it.
func (s *Server) writeEnvelope(w http.ResponseWriter, r *http.Request, e envelope) {
	ctx := r.Context()
	now := s.now()
	e.Timestamp = now.Format(timeLayout)
	if start := frontdoor.StartFrom(ctx); !start.IsZero() {
		e.Duration = now.Sub(start).Milliseconds()
	}
	e.TraceID = frontdoor.RequestIDFrom(ctx)
	e.Server = serverAddr(r)
	body, err := json.Marshal(e)
	if err != nil {
		s.Logger.Error("ocp: encoding the answer failed", "trace_id", e.TraceID, "error", err.Error())
		e = envelope{Status: http.StatusInternalServerError, Timestamp: e.Timestamp, TraceID: e.TraceID, Server: e.Server,
			Error: &errorDetail{Code: codeUnexpected, Message: "internal error", SubErrors: []subError{}}}
		body, _ = json.Marshal(e)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}

// serverAddr is the address of the answering server: the local address of
// the connection, without its port.
func serverAddr(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if host, _, err := net.SplitHostPort(a.String()); err == nil {
			return host
		}
		return a.String()
	}
	return ""
}
