package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// decodeJSON decodes the request body into v, strictly: JSON content type,
// no unknown fields, exactly one value. Every failure is a client error that
// names what is wrong, so callers can return it as is.
func decodeJSON(r *http.Request, v any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// A second value, or garbage after the first, means the client sent
	// something other than what it thinks.
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil && isTooLarge(err):
		return decodeError(err)
	default:
		return dbplane.Invalid(dbplane.FieldError{Field: "body", Message: "must hold a single JSON value"})
	}
}

// requireJSON refuses bodies that do not say they are JSON (415).
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return dbplane.Errorf(dbplane.KindUnsupported, "Content-Type must be application/json, not %q", ct)
	}
	return nil
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// decodeError maps encoding/json's errors to field-level Invalid errors.
func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.Is(err, io.EOF):
		return dbplane.Invalid(dbplane.FieldError{Field: "body", Message: "required"})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return dbplane.Invalid(dbplane.FieldError{Field: "body", Message: "malformed JSON: unexpected end of input"})
	case errors.As(err, &syn):
		return dbplane.Invalid(dbplane.FieldError{Field: "body", Message: fmt.Sprintf("malformed JSON at offset %d", syn.Offset)})
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return dbplane.Invalid(dbplane.FieldError{Field: field, Message: "must be " + jsonTypeName(typ.Type)})
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if uq, err := strconv.Unquote(name); err == nil {
			name = uq
		}
		return dbplane.Invalid(dbplane.FieldError{Field: name, Message: "unknown field"})
	}
	return dbplane.Invalid(dbplane.FieldError{Field: "body", Message: "malformed JSON"})
}

// jsonTypeName names a Go type as a JSON client would know it.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "a valid value"
}

// query reads query parameters strictly: unknown, repeated or malformed
// parameters are errors naming the parameter, collected so that one answer
// lists them all.
type query struct {
	vals url.Values
	errs []dbplane.FieldError
}

// parseQuery reads r's query and refuses parameters not in allowed.
func parseQuery(r *http.Request, allowed ...string) *query {
	q := &query{}
	if r.URL.RawQuery != "" { // most requests have none: skip the map
		q.vals = r.URL.Query()
	}
	for name, vs := range q.vals {
		switch {
		case !slices.Contains(allowed, name):
			q.fail(name, "unknown parameter")
		case len(vs) > 1:
			q.fail(name, "must be given once")
		}
	}
	return q
}

func (q *query) fail(name, msg string) {
	q.errs = append(q.errs, dbplane.FieldError{Field: name, Message: msg})
}

// get returns the parameter's value, "" when absent.
func (q *query) get(name string) string {
	if vs := q.vals[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// str returns a filter value: nil when absent or empty.
func (q *query) str(name string) *string {
	v := q.get(name)
	if v == "" {
		return nil
	}
	return &v
}

// oneOf returns a filter value that must be one of allowed.
func (q *query) oneOf(name string, allowed ...string) *string {
	v := q.str(name)
	if v != nil && !slices.Contains(allowed, *v) {
		q.fail(name, "must be one of "+strings.Join(allowed, ", "))
		return nil
	}
	return v
}

// int64 returns a non-negative integer parameter, def when absent.
func (q *query) int64(name string, def int64) int64 {
	v := q.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		q.fail(name, "must be a non-negative integer")
		return def
	}
	return n
}

// positiveID returns an optional id filter: nil when absent.
func (q *query) positiveID(name string) *int64 {
	v := q.get(name)
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		q.fail(name, "must be a positive integer")
		return nil
	}
	return &n
}

// bool returns a boolean parameter, false when absent.
func (q *query) bool(name string) bool {
	v := q.get(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		q.fail(name, "must be true or false")
	}
	return b
}

// page returns offset and limit: limit defaults to DefaultPageSize and is
// capped at MaxPageSize rather than refused, so a client asking for
// "everything" gets the largest page.
func (q *query) page() (offset, limit int) {
	off := q.int64("offset", 0)
	lim := q.int64("limit", dbplane.DefaultPageSize)
	if off > int64(maxOffset) {
		q.fail("offset", fmt.Sprintf("must be at most %d", maxOffset))
		off = 0
	}
	switch {
	case lim == 0:
		lim = dbplane.DefaultPageSize
	case lim > dbplane.MaxPageSize:
		lim = dbplane.MaxPageSize
	}
	return int(off), int(lim)
}

// maxOffset keeps offsets within what every store's integer type holds.
const maxOffset = 1<<31 - 1

// err returns the collected errors as one Invalid error, or nil.
func (q *query) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	// Map order must not leak into answers: sort for stable messages.
	slices.SortStableFunc(q.errs, func(a, b dbplane.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return dbplane.Invalid(q.errs...)
}

// pathID returns a positive integer path parameter.
func pathID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, dbplane.Invalid(dbplane.FieldError{Field: name, Message: "must be a positive integer"})
	}
	return n, nil
}

// time returns an optional RFC 3339 time parameter: nil when absent.
func (q *query) time(name string) *time.Time {
	v := q.get(name)
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		q.fail(name, "must be an RFC 3339 time, such as 2026-09-01T10:00:00Z")
		return nil
	}
	return &t
}

// maxPathKeyLen bounds string identifiers in paths; access key ids are 20
// characters.
const maxPathKeyLen = 128

// pathKey returns a string path parameter: non-empty, bounded, and made of
// letters, digits and -_. only, so that it is safe to pass on and to log.
func pathKey(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if v == "" || len(v) > maxPathKeyLen || !saneRequestID(v) || strings.Contains(v, ":") {
		return "", dbplane.Invalid(dbplane.FieldError{Field: name, Message: "must be 1 to 128 letters, digits, '-', '_' or '.'"})
	}
	return v, nil
}
