package dbplane

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Kind classifies an error. Kinds survive the HTTP round trip: the server maps
// a kind to a status and a stable code, and the client maps them back.
type Kind uint8

// Kinds of error. Append only: do not reorder or remove, codes are stable API.
const (
	KindOther           Kind = iota // unclassified: treated as internal
	KindInvalid                     // the request is malformed or violates a rule (400)
	KindNotFound                    // the target does not exist (404)
	KindConflict                    // the target's state forbids the request (409)
	KindUnauthorized                // missing or bad credentials (401)
	KindForbidden                   // authenticated but not allowed (403)
	KindTooLarge                    // the request body is over the limit (413)
	KindUnplaceable                 // the fleet cannot satisfy the request (422)
	KindUnavailable                 // a dependency is down; retry later (503)
	KindInternal                    // a bug or an unexpected failure (500)
	KindUnsupported                 // unsupported media type (415)
	KindQuotaExceeded               // a project quota would be exceeded (422)
	KindTooManyRequests             // rate limited or locked out; retry later (429)
)

var kindCodes = map[Kind]string{
	KindOther:           "internal",
	KindInvalid:         "invalid",
	KindNotFound:        "not_found",
	KindConflict:        "conflict",
	KindUnauthorized:    "unauthorized",
	KindForbidden:       "forbidden",
	KindTooLarge:        "too_large",
	KindUnplaceable:     "unplaceable",
	KindUnavailable:     "unavailable",
	KindInternal:        "internal",
	KindUnsupported:     "unsupported_media_type",
	KindQuotaExceeded:   "quota_exceeded",
	KindTooManyRequests: "too_many_requests",
}

// String returns the stable code of the kind, as sent to API clients.
func (k Kind) String() string {
	if c, ok := kindCodes[k]; ok {
		return c
	}
	return "internal"
}

// KindFromCode is the inverse of Kind.String; unknown codes are KindInternal.
func KindFromCode(code string) Kind {
	for k, c := range kindCodes {
		if c == code && k != KindOther {
			return k
		}
	}
	return KindInternal
}

// FieldError names one invalid field of a request and why it is invalid.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is dbplane's one error type: an operation, a kind, a message safe to
// show to clients, optional field details, and a wrapped internal cause that
// is logged but never sent to clients.
type Error struct {
	Op      string       // operation, e.g. "sqlstore.CreateCluster"
	Kind    Kind         // class of error
	Message string       // safe for clients
	Fields  []FieldError // field-level details, for KindInvalid
	Err     error        // internal cause
	// RetryAfter tells a KindTooManyRequests or KindUnavailable caller
	// when to try again; adapters send it as a Retry-After header.
	RetryAfter time.Duration
}

// Error renders the operation, message and cause for logs.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Message != "" {
		b.WriteString(e.Message)
	} else {
		b.WriteString(e.Kind.String())
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a formatted client-safe
// message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// E wraps cause as an internal error of operation op. If cause already is an
// *Error, its kind and message are kept and op is prepended.
func E(op string, cause error) error {
	if cause == nil {
		return nil
	}
	var de *Error
	if errors.As(cause, &de) {
		cp := *de
		if cp.Op == "" {
			cp.Op = op
		} else {
			cp.Op = op + ": " + cp.Op
		}
		cp.Err = de.Err
		return &cp
	}
	return &Error{Op: op, Kind: KindInternal, Err: cause}
}

// Invalid returns a KindInvalid error with the given field errors.
func Invalid(fields ...FieldError) *Error {
	msg := "invalid request"
	if len(fields) == 1 {
		msg = fmt.Sprintf("invalid %s: %s", fields[0].Field, fields[0].Message)
	} else if len(fields) > 1 {
		msg = fmt.Sprintf("invalid request: %d fields are invalid", len(fields))
	}
	return &Error{Kind: KindInvalid, Message: msg, Fields: fields}
}

// ErrorKind returns the kind of err: KindInternal for errors that are not
// *Error, and 0 only for nil.
func ErrorKind(err error) Kind {
	if err == nil {
		return KindOther
	}
	var de *Error
	if errors.As(err, &de) {
		if de.Kind == KindOther {
			return KindInternal
		}
		return de.Kind
	}
	return KindInternal
}

// ErrorMessage returns the client-safe message of err. Internal errors never
// reveal their cause.
func ErrorMessage(err error) string {
	var de *Error
	if errors.As(err, &de) && de.Kind != KindInternal && de.Kind != KindOther {
		if de.Message != "" {
			return de.Message
		}
		return de.Kind.String()
	}
	return "internal error"
}

// ErrorFields returns the field details of err, if any.
func ErrorFields(err error) []FieldError {
	var de *Error
	if errors.As(err, &de) {
		return de.Fields
	}
	return nil
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not retryable: the task engine fails the subtask at
// once instead of retrying it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err, or any error it wraps, was marked
// Permanent. Invalid, not-found and unplaceable errors are permanent too.
func IsPermanent(err error) bool {
	var p permanent
	if errors.As(err, &p) {
		return true
	}
	switch ErrorKind(err) {
	case KindInvalid, KindNotFound, KindUnplaceable, KindForbidden:
		return true
	}
	return false
}

// kindStatus is the one table from error kind to HTTP status, shared by
// every HTTP adapter (the REST API, the agent's API) and their clients.
var kindStatus = map[Kind]int{
	KindInvalid:         http.StatusBadRequest,
	KindNotFound:        http.StatusNotFound,
	KindConflict:        http.StatusConflict,
	KindUnauthorized:    http.StatusUnauthorized,
	KindForbidden:       http.StatusForbidden,
	KindTooLarge:        http.StatusRequestEntityTooLarge,
	KindUnplaceable:     http.StatusUnprocessableEntity,
	KindUnavailable:     http.StatusServiceUnavailable,
	KindUnsupported:     http.StatusUnsupportedMediaType,
	KindInternal:        http.StatusInternalServerError,
	KindQuotaExceeded:   http.StatusUnprocessableEntity,
	KindTooManyRequests: http.StatusTooManyRequests,
}

// statusKind inverts kindStatus where a status answers several kinds.
var statusKind = map[int]Kind{
	http.StatusUnprocessableEntity: KindUnplaceable,
}

// HTTPStatus returns the HTTP status that answers an error of kind k.
func (k Kind) HTTPStatus() int {
	if st, ok := kindStatus[k]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// KindFromHTTPStatus inverts HTTPStatus for answers that carry no error
// code: another 4xx is invalid, another 5xx (a proxy's 502, say) unavailable.
func KindFromHTTPStatus(status int) Kind {
	if k, ok := statusKind[status]; ok {
		return k
	}
	for k, st := range kindStatus {
		if st == status {
			return k
		}
	}
	if status >= 500 {
		return KindUnavailable
	}
	return KindInvalid
}
