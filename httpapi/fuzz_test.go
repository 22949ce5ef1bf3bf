package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
)

// FuzzCreateClusterBody feeds arbitrary bodies to the strict decoder: the
// answer is the service's 202 or a client error in the error shape, never a
// 500 or a panic.
func FuzzCreateClusterBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"orders","engine":"postgresql","nodes":3,"zones":["z1"]}`,
		`{"name":"orders","nodes":"3"}`,
		`{"labels":{"a":1}}`,
		`{"name":"a"}{"name":"b"}`,
		`{"parameters":{"x":"y"},"volume_gb":1e400}`,
		`[1,2,3]`, `null`, ``, `{`, `"\ud800"`, `{"name":"\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	s := &httpapi.Server{
		Clusters: &clusterService{CreateClusterFn: func(context.Context, dbplane.ClusterSpec, bool) (*dbplane.Cluster, *dbplane.Task, error) {
			return sampleCluster(1), sampleTask(2), nil
		}},
		Auth:         &authService{AuthenticateFn: func(context.Context, string) (*dbplane.User, error) { return testUser, nil }},
		MaxBodyBytes: 4096,
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/clusters", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer x")
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusAccepted:
			return
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body)
		}
		var ae apiError
		if err := json.Unmarshal(w.Body.Bytes(), &ae); err != nil || ae.Error.Code == "" || ae.Error.Message == "" {
			t.Fatalf("error body %s: %v", w.Body, err)
		}
		if w.Code == http.StatusBadRequest && len(ae.Error.Details) == 0 {
			t.Fatalf("400 without details for %q: %s", body, w.Body)
		}
	})
}

// endEvent follows the fuzzed stream so that most runs end without waiting
// for a reconnection; streams that break the parser still take that path.
const endEvent = "\n\nevent: end\ndata: {}\n\n"

// roundTripFunc serves a client's requests without a network.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzWatchTaskStream feeds an arbitrary event stream to the client: it must
// not panic, must deliver events in increasing id order, and must close its
// channel.
func FuzzWatchTaskStream(f *testing.F) {
	for _, seed := range []string{
		"id: 1\nevent: task\ndata: {\"id\":1,\"task_id\":9,\"status\":\"RUNNING\",\"at\":\"2026-09-01T10:00:00Z\"}\n\nevent: end\ndata: {}\n\n",
		"event: task\ndata: {\"id\":2}\n\nevent: task\ndata: {\"id\":1}\n\n: ping\n\n",
		"event: task\r\ndata: {\"id\":\r\ndata: 3}\r\n\r\n",
		"event: task\ndata: not json\n\n",
		"data\n\nevent\n\n::::\n\n",
		strings.Repeat("x", 70000),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		var calls atomic.Int32
		c := httpapi.NewClient("http://dbplane.test")
		c.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if calls.Add(1) == 1 {
				return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
					Body: io.NopCloser(io.MultiReader(bytes.NewReader(stream), strings.NewReader(endEvent))), Request: r}, nil
			}
			// Reconnections are refused for good, so the watch ends.
			return &http.Response{StatusCode: 404, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(`{"error":{"code":"not_found","message":"gone"}}`)), Request: r}, nil
		})}
		ch, err := c.WatchTask(t.Context(), 9, 0)
		if err != nil {
			t.Fatal(err)
		}
		var last int64
		for ev := range ch {
			if ev.ID <= last {
				t.Fatalf("event %d after %d", ev.ID, last)
			}
			last = ev.ID
		}
	})
}
