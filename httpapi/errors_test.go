package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/google/go-cmp/cmp"
)

func TestErrorRoundTrip(t *testing.T) {
	e := newEnv(t)
	kinds := []struct {
		kind   dbplane.Kind
		status int
	}{
		{dbplane.KindInvalid, 400},
		{dbplane.KindUnauthorized, 401},
		{dbplane.KindForbidden, 403},
		{dbplane.KindNotFound, 404},
		{dbplane.KindConflict, 409},
		{dbplane.KindTooLarge, 413},
		{dbplane.KindUnsupported, 415},
		{dbplane.KindUnplaceable, 422},
		{dbplane.KindUnavailable, 503},
	}
	for _, k := range kinds {
		t.Run(k.kind.String(), func(t *testing.T) {
			fields := []dbplane.FieldError{{Field: "zones", Message: "must list 3 zones"}, {Field: "nodes", Message: "must be 3"}}
			sent := &dbplane.Error{Op: "service.CreateCluster", Kind: k.kind, Message: "the message " + k.kind.String(),
				Fields: fields, Err: errors.New("a cause that stays on the server")}
			e.clusters.CreateClusterFn = func(context.Context, dbplane.ClusterSpec, bool) (*dbplane.Cluster, *dbplane.Task, error) {
				return nil, nil, fmt.Errorf("while creating: %w", sent)
			}
			_, _, err := e.client.CreateCluster(t.Context(), sampleSpec(), false)
			de := mustKind(t, err, k.kind)
			if de.Message != sent.Message {
				t.Errorf("message = %q, want %q", de.Message, sent.Message)
			}
			if diff := cmp.Diff(fields, de.Fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "stays on the server") {
				t.Errorf("client error %q reveals the internal cause", err)
			}
			if httpapi.RequestID(err) == "" {
				t.Error("RequestID(err) is empty")
			}
			resp, data := e.request(t, "POST", "/v1/clusters", `{"name":"x"}`)
			ae := mustErrorBody(t, resp, data, k.status)
			if ae.Error.Code != k.kind.String() {
				t.Errorf("code = %q, want %q", ae.Error.Code, k.kind)
			}
		})
	}
	t.Run("internal", func(t *testing.T) {
		e.clusters.FindClusterByIDFn = func(context.Context, int64) (*dbplane.Cluster, error) {
			return nil, dbplane.E("sqlstore.FindClusterByID", errors.New("disk I/O error at page 7"))
		}
		_, err := e.client.FindClusterByID(t.Context(), 1)
		de := mustKind(t, err, dbplane.KindInternal)
		if de.Message != "internal error" || de.Fields != nil {
			t.Errorf("internal error sent as %q %v, want only \"internal error\"", de.Message, de.Fields)
		}
		// The cause is logged once, at Error, with the request id.
		id := httpapi.RequestID(err)
		var hits []string
		for _, line := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(line, "disk I/O error at page 7") {
				hits = append(hits, line)
			}
		}
		if len(hits) != 1 || !strings.Contains(hits[0], `"level":"ERROR"`) || !strings.Contains(hits[0], id) {
			t.Errorf("log lines with the cause = %q, want one ERROR line with request id %s", hits, id)
		}
	})
	t.Run("PlainErrorIsInternal", func(t *testing.T) {
		e.clusters.FindClusterByIDFn = func(context.Context, int64) (*dbplane.Cluster, error) {
			return nil, errors.New("password=hunter2 leaked in a driver error")
		}
		resp, data := e.request(t, "GET", "/v1/clusters/1", "")
		ae := mustErrorBody(t, resp, data, http.StatusInternalServerError)
		if ae.Error.Code != "internal" || ae.Error.Message != "internal error" || strings.Contains(string(data), "hunter2") {
			t.Errorf("body = %s, want a bare internal error", data)
		}
	})
	t.Run("ClientErrorsLoggedAtDebug", func(t *testing.T) {
		e.clusters.FindClusterByIDFn = func(context.Context, int64) (*dbplane.Cluster, error) {
			return nil, dbplane.Errorf(dbplane.KindNotFound, "cluster 4242 not found")
		}
		e.client.FindClusterByID(t.Context(), 4242)
		for _, line := range strings.Split(e.logs.String(), "\n") {
			if strings.Contains(line, "cluster 4242 not found") && !strings.Contains(line, `"level":"DEBUG"`) {
				t.Errorf("4xx logged above debug: %s", line)
			}
		}
	})
}

func TestDecodeErrors(t *testing.T) {
	e := newEnv(t, func(s *httpapi.Server) { s.MaxBodyBytes = 1024 })
	e.clusters.CreateClusterFn = func(context.Context, dbplane.ClusterSpec, bool) (*dbplane.Cluster, *dbplane.Task, error) {
		t.Error("the service was called for a bad body")
		return nil, nil, errors.New("unreachable")
	}
	for _, tc := range []struct {
		name, body string
		want       dbplane.FieldError
	}{
		{"UnknownField", `{"name":"orders","colour":"blue"}`, dbplane.FieldError{Field: "colour", Message: "unknown field"}},
		{"WrongType", `{"name":"orders","nodes":"three"}`, dbplane.FieldError{Field: "nodes", Message: "must be an integer"}},
		{"WrongTypeString", `{"name":42}`, dbplane.FieldError{Field: "name", Message: "must be a string"}},
		{"WrongTypeArray", `{"zones":"z1"}`, dbplane.FieldError{Field: "zones", Message: "must be an array"}},
		{"WrongTypeNested", `{"labels":{"team":1}}`, dbplane.FieldError{Field: "labels", Message: "must be a string"}},
		{"WrongTypeBody", `["orders"]`, dbplane.FieldError{Field: "body", Message: "must be an object"}},
		{"Malformed", `{"name":"orders",}`, dbplane.FieldError{Field: "body", Message: "malformed JSON at offset 18"}},
		{"Truncated", `{"name":"ord`, dbplane.FieldError{Field: "body", Message: "malformed JSON: unexpected end of input"}},
		{"Empty", ``, dbplane.FieldError{Field: "body", Message: "required"}},
		{"Blank", "  \n", dbplane.FieldError{Field: "body", Message: "required"}},
		{"TrailingValue", `{"name":"a"}{"name":"b"}`, dbplane.FieldError{Field: "body", Message: "must hold a single JSON value"}},
		{"TrailingGarbage", `{"name":"a"} x`, dbplane.FieldError{Field: "body", Message: "must hold a single JSON value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := e.request(t, "POST", "/v1/clusters", tc.body, "Content-Type", "application/json")
			ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
			if diff := cmp.Diff([]dbplane.FieldError{tc.want}, ae.Error.Details); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
			if want := "invalid " + tc.want.Field + ": " + tc.want.Message; ae.Error.Message != want {
				t.Errorf("message = %q, want %q", ae.Error.Message, want)
			}
		})
	}
	t.Run("ErrTooLarge", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("a", 2000) + `"}`
		resp, data := e.request(t, "POST", "/v1/clusters", big)
		if ae := mustErrorBody(t, resp, data, http.StatusRequestEntityTooLarge); ae.Error.Code != "too_large" {
			t.Errorf("code = %q, want too_large", ae.Error.Code)
		}
		// Without a Content-Length the limit bites while decoding.
		req, _ := http.NewRequestWithContext(t.Context(), "POST", e.ts.URL+"/v1/clusters", io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if ae := mustErrorBody(t, resp, data, http.StatusRequestEntityTooLarge); ae.Error.Code != "too_large" {
			t.Errorf("chunked: code = %q, want too_large", ae.Error.Code)
		}
		// Through the client, the kind survives.
		spec := sampleSpec()
		spec.Labels = map[string]string{"blob": strings.Repeat("x", 2000)}
		_, _, err = e.client.CreateCluster(t.Context(), spec, false)
		mustKind(t, err, dbplane.KindTooLarge)
	})
	t.Run("ErrMediaType", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "", "application/json-patch+json"} {
			resp, data := e.request(t, "POST", "/v1/clusters", `{"name":"orders"}`, "Content-Type", ct)
			ae := mustErrorBody(t, resp, data, http.StatusUnsupportedMediaType)
			if ae.Error.Code != "unsupported_media_type" {
				t.Errorf("%q: code = %q, want unsupported_media_type", ct, ae.Error.Code)
			}
		}
		// Parameters of the media type are fine.
		e.auth.IssueTokenFn = func(context.Context, string, string) (*dbplane.Token, error) {
			return &dbplane.Token{Secret: "s"}, nil
		}
		resp, data := e.request(t, "POST", "/v1/auth/token", `{"user":"a","password":"b"}`, "Content-Type", "application/json; charset=utf-8")
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("with charset: status = %d, want 201: %s", resp.StatusCode, data)
		}
	})
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, p := range []string{"/v1/nope", "/v1/clusters/1/nodes", "/v2/clusters", "/v1/clusters/"} {
			resp, data := e.request(t, "GET", p, "")
			if ae := mustErrorBody(t, resp, data, http.StatusNotFound); ae.Error.Code != "not_found" {
				t.Errorf("%s: code = %q, want not_found", p, ae.Error.Code)
			}
		}
	})
	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		for _, tc := range []struct{ method, path, allow string }{
			{"PUT", "/v1/clusters", "GET, HEAD, POST"},
			{"PATCH", "/v1/clusters/3", "GET, HEAD, DELETE"},
			{"GET", "/v1/tasks/3/retry", "POST"},
			{"DELETE", "/healthz", "GET, HEAD"},
		} {
			resp, data := e.request(t, tc.method, tc.path, "")
			ae := mustErrorBody(t, resp, data, http.StatusMethodNotAllowed)
			if ae.Error.Code != "method_not_allowed" {
				t.Errorf("%s %s: code = %q, want method_not_allowed", tc.method, tc.path, ae.Error.Code)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("%s %s: Allow = %q, want %q", tc.method, tc.path, got, tc.allow)
			}
		}
	})
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	e.clusters.FindClusterByIDFn = func(context.Context, int64) (*dbplane.Cluster, error) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "no such cluster")
	}
	resp, data := e.request(t, "GET", "/v1/clusters/1", "", "X-Request-Id", "trace-42.a:b_c")
	if ae := mustErrorBody(t, resp, data, http.StatusNotFound); ae.Error.RequestID != "trace-42.a:b_c" {
		t.Errorf("request_id = %q, want the client's", ae.Error.RequestID)
	}
	for _, bad := range []string{"has space", "quote\"", strings.Repeat("x", 129), "new\u00e9"} {
		resp, data := e.request(t, "GET", "/v1/clusters/1", "", "X-Request-Id", bad)
		if ae := mustErrorBody(t, resp, data, http.StatusNotFound); ae.Error.RequestID == bad || len(ae.Error.RequestID) < 16 {
			t.Errorf("request id %q was adopted or not replaced: %q", bad, ae.Error.RequestID)
		}
	}
	// Two requests without an id get different ones.
	r1, _ := e.request(t, "GET", "/healthz", "")
	r2, _ := e.request(t, "GET", "/healthz", "")
	if a, b := r1.Header.Get("X-Request-Id"), r2.Header.Get("X-Request-Id"); a == "" || a == b {
		t.Errorf("generated ids %q and %q, want distinct and set", a, b)
	}
	if !strings.Contains(e.logs.String(), `"request_id":"trace-42.a:b_c"`) {
		t.Error("the access log does not carry the request id")
	}
}

func TestPanicRecovered(t *testing.T) {
	e := newEnv(t)
	e.hosts.FindHostsFn = func(context.Context, dbplane.HostFilter) ([]*dbplane.Host, int, error) {
		panic("nil map write in a service")
	}
	_, _, err := e.client.FindHosts(t.Context(), dbplane.HostFilter{})
	if de := mustKind(t, err, dbplane.KindInternal); de.Message != "internal error" {
		t.Errorf("message = %q, want internal error", de.Message)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "handler panicked") || !strings.Contains(logs, "nil map write in a service") {
		t.Errorf("panic not logged: %s", logs)
	}
	// The server survives.
	if resp, _ := e.request(t, "GET", "/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz after panic = %d", resp.StatusCode)
	}
}
