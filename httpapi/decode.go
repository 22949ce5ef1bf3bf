package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
)

// decodeJSON decodes the request body into v with the doors' strict
// decoder. Its errors already say what is wrong in the native shape (a
// *frontdoor.BodyError is a field error), so callers return them as they are.
func decodeJSON(r *http.Request, v any) error {
	return frontdoor.DecodeJSON(r, v)
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
	if v == "" || len(v) > maxPathKeyLen || !frontdoor.SaneRequestID(v) || strings.Contains(v, ":") {
		return "", dbplane.Invalid(dbplane.FieldError{Field: name, Message: "must be 1 to 128 letters, digits, '-', '_' or '.'"})
	}
	return v, nil
}
