package frontdoor

import (
	"context"
	"net/http"

	"github.com/dbplane/dbplane"
)

// Recorder persists audit events; service.Audit is one. Recording happens
// after the call was answered, so a recorder cannot change the answer: it
// deals with its own failures (logs them), and must not keep e.
type Recorder interface {
	Record(ctx context.Context, e *dbplane.AuditEvent)
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(ctx context.Context, e *dbplane.AuditEvent)

// Record calls f.
func (f RecorderFunc) Record(ctx context.Context, e *dbplane.AuditEvent) { f(ctx, e) }

// Mutating reports whether method changes state, so that its calls are
// audited: POST, PUT, PATCH and DELETE.
func Mutating(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// Audit records every mutating call of next once it has been answered,
// whether it was authenticated or not, and refused or not: the time, the
// caller (if Authenticate knew it), the front door, action (a stable name
// of the route, such as "cluster.create"), result ("success" or the error
// code), HTTP status, source address and request id. The handler and the
// services add the target and its project with dbplane.AuditTarget. Calls
// by other methods pass through untouched.
//
// Wrap Audit around Authenticate, not inside it, so that refused
// credentials are recorded too.
func (d *Door) Audit(action string, next http.Handler) http.Handler {
	d.init()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Mutating(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		e := &dbplane.AuditEvent{
			Time:      d.now(),
			FrontDoor: d.Name,
			Action:    action,
			Source:    d.ClientAddr(r),
			RequestID: RequestIDFrom(r.Context()),
		}
		if d.RequestID != nil {
			e.RequestID = d.RequestID(r)
		}
		if p := dbplane.PrincipalFrom(r.Context()); p != nil && p.User != nil {
			e.User, e.UserID, e.Via = p.Name(), p.User.ID, p.Via
		}
		sw := &statusWriter{ResponseWriter: w}
		ctx := r.Context()
		defer func() {
			v := recover()
			status := sw.status
			if v != nil && status == 0 {
				// The front door turns the panic into a 500.
				status, e.Result = http.StatusInternalServerError, dbplane.KindInternal.String()
			}
			d.record(ctx, e, status)
			if v != nil {
				panic(v)
			}
		}()
		next.ServeHTTP(sw, r.WithContext(dbplane.WithAudit(ctx, e)))
	})
}

// record completes e with the answer's status and persists it.
func (d *Door) record(ctx context.Context, e *dbplane.AuditEvent, status int) {
	if status == 0 {
		status = http.StatusOK // the handler wrote nothing: net/http sends 200
	}
	e.Status = status
	if e.Result == "" {
		if status < 400 {
			e.Result = dbplane.AuditResultSuccess
		} else {
			e.Result = dbplane.KindFromHTTPStatus(status).String()
		}
	}
	if d.Recorder == nil {
		return
	}
	// The answer has gone: a client that hangs up now must not cancel the
	// record of what it did.
	d.Recorder.Record(context.WithoutCancel(ctx), e)
}

// statusWriter remembers the status of an answer. Unwrap lets
// http.ResponseController reach Flush and deadlines.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap returns the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
