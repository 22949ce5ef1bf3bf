package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
)

func TestHealth(t *testing.T) {
	ready := errors.New("store: connection refused")
	e := newEnv(t, func(s *httpapi.Server) {
		s.Ready = func(context.Context) error { return ready }
	})
	// No token: probes and scrapers do not authenticate.
	noAuth := []string{"Authorization", ""}

	resp, data := e.request(t, "GET", "/healthz", "", noAuth...)
	if resp.StatusCode != http.StatusOK || string(data) != `{"status":"ok"}`+"\n" {
		t.Errorf("healthz = %d %s", resp.StatusCode, data)
	}
	resp, data = e.request(t, "GET", "/readyz", "", noAuth...)
	ae := mustErrorBody(t, resp, data, http.StatusServiceUnavailable)
	if ae.Error.Code != "unavailable" || strings.Contains(string(data), "connection refused") {
		t.Errorf("readyz while not ready = %s, want unavailable without the cause", data)
	}
	if !strings.Contains(e.logs.String(), "connection refused") {
		t.Error("the readiness failure was not logged")
	}
	ready = nil
	resp, data = e.request(t, "GET", "/readyz", "", noAuth...)
	if resp.StatusCode != http.StatusOK || string(data) != `{"status":"ready"}`+"\n" {
		t.Errorf("readyz = %d %s", resp.StatusCode, data)
	}
	resp, data = e.request(t, "GET", "/v1/openapi.json", "", noAuth...)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || string(data) != string(httpapi.OpenAPISpec()) {
		t.Errorf("openapi.json = %d %q, want the embedded document", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.clusters.FindClusterByIDFn = func(context.Context, int64) (*dbplane.Cluster, error) {
		return sampleCluster(3), nil
	}
	if _, err := e.client.FindClusterByID(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	e.request(t, "GET", "/v1/no-such-route", "")
	resp, data := e.request(t, "GET", "/metrics", "", "Authorization", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics = %d", resp.StatusCode)
	}
	for _, want := range []string{
		`dbplane_http_request_duration_seconds_count{code="200",route="GET /v1/clusters/{cluster_id}"}`,
		`dbplane_http_request_duration_seconds_count{code="404",route="unmatched"}`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(data), `route="GET /v1/clusters/3"`) {
		t.Error("a metric is labelled with a concrete path, not the route pattern")
	}
}

// TestCA: the CA certificate is served without credentials, and a control
// plane without one says so.
func TestCA(t *testing.T) {
	const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	e := newEnv(t, func(s *httpapi.Server) { s.CACert = []byte(pem) })
	resp, data := e.request(t, "GET", "/v1/ca", "", "Authorization", "")
	if resp.StatusCode != http.StatusOK || string(data) != pem || resp.Header.Get("Content-Type") != "application/x-pem-file" {
		t.Errorf("GET /v1/ca = %d %q %s", resp.StatusCode, data, resp.Header.Get("Content-Type"))
	}
	e = newEnv(t)
	resp, data = e.request(t, "GET", "/v1/ca", "", "Authorization", "")
	mustErrorBody(t, resp, data, http.StatusNotFound)
}
