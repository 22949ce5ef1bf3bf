package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkListClustersHTTP measures GET /v1/clusters through the whole
// wired control plane (HTTP, auth, service, SQLite store) with 10,000
// clusters stored, and reports the 99th percentile latency. Goal: p99 under
// 20 ms.
func BenchmarkListClustersHTTP(b *testing.B) {
	cp := mustRunControlPlane(b)
	seedClustersSQL(b, cp, 10000)
	for _, q := range []string{"limit=50", "limit=50&status=running&offset=1000", "limit=50&offset=9950"} {
		b.Run(q, func(b *testing.B) {
			req, _ := http.NewRequest("GET", cp.URL+"/v1/clusters?"+q, nil)
			req.Header.Set("Authorization", "Bearer "+cp.client.Token)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// seedClustersSQL stores n clusters directly, without tasks, so that the
// engine has nothing to run while the benchmark measures reads.
func seedClustersSQL(tb testing.TB, cp *testControlPlane, n int) {
	tb.Helper()
	tx, err := cp.db.SQL().Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	for i := range n {
		status := "creating"
		if i%4 == 0 {
			status = "running"
		}
		name := fmt.Sprintf("seed-%05d", i)
		spec := fmt.Sprintf(`{"name":%q,"engine":"postgresql","version":"15","topology":"standalone","nodes":1,"flavor":"dbp.c2.m4","volume_gb":20}`, name)
		if _, err := tx.Exec(`INSERT INTO clusters (name, engine, version, topology, status, spec, created_at, updated_at)
			VALUES ($1, 'postgresql', '15', 'standalone', $2, $3, 1000, 1000)`, name, status, spec); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}
