package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
)

// benchServer serves fake services without a network, so the benchmarks
// measure the adapter: routing, middleware, auth, encoding.
func benchServer(b *testing.B, clusters []*dbplane.Cluster) http.Handler {
	s := &httpapi.Server{
		Clusters: &clusterService{
			FindClusterByIDFn: func(context.Context, int64) (*dbplane.Cluster, error) { return clusters[0], nil },
			FindClustersFn: func(_ context.Context, f dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
				return clusters, len(clusters), nil
			},
		},
		Auth: &authService{AuthenticateFn: func(context.Context, string) (*dbplane.User, error) { return testUser, nil }},
		// Access logs go through a real handler that filters them out, as
		// a production logger at Warn would.
		Logger: slog.New(slog.NewJSONHandler(nopWriter{}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	return s.Handler()
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func benchRequest(b *testing.B, h http.Handler, path string) {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkGetCluster(b *testing.B) {
	benchRequest(b, benchServer(b, []*dbplane.Cluster{sampleCluster(1)}), "/v1/clusters/1")
}

func BenchmarkListClusters50(b *testing.B) {
	cs := make([]*dbplane.Cluster, dbplane.DefaultPageSize)
	for i := range cs {
		cs[i] = sampleCluster(int64(i + 1))
	}
	benchRequest(b, benchServer(b, cs), "/v1/clusters?status=running&limit=50")
}

func BenchmarkNotFound(b *testing.B) {
	h := benchServer(b, []*dbplane.Cluster{sampleCluster(1)})
	req := httptest.NewRequest("GET", "/v1/nope", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
}
