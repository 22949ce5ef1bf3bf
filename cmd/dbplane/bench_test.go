package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
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

// BenchmarkCreatePostgres measures the time from a create request to a
// running PostgreSQL cluster, standalone and 3-node synchronous replication,
// on three local agents; and, in the same run, the time a minimal shell
// script (scripts/bootstrap-pg.sh: initdb, start, pg_basebackup, start)
// takes to bootstrap the same topology by hand: the physical limit. Goal:
// dbplane within 1.25x of the script.
func BenchmarkCreatePostgres(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: agents run PostgreSQL as the postgres user")
	}
	cp := mustRunControlPlane(b)
	root := mustFleetRoot(b)
	mustStartAgents(b, cp, root, 3)
	for _, tc := range []struct {
		name  string
		nodes int
	}{{"standalone", 1}, {"replication3", 3}} {
		b.Run(tc.name+"/dbplane", func(b *testing.B) {
			for i := range b.N {
				b.StopTimer()
				spec := validSpec(fmt.Sprintf("bench-%s-%d", tc.name, i))
				spec.Nodes = tc.nodes
				if tc.nodes == 1 {
					spec.Topology, spec.ReplicationMode = dbplane.TopologyStandalone, ""
				}
				b.StartTimer()
				c, task, err := cp.client.CreateCluster(context.Background(), spec, false)
				if err != nil {
					b.Fatal(err)
				}
				if task = waitTask(b, cp.client, task.ID); task.Status != dbplane.TaskSuccessful {
					b.Fatalf("create ended %s: %v", task.Status, failedSubtasks(task))
				}
				b.StopTimer()
				deleteCluster(b, cp.client, c.ID)
			}
		})
		b.Run(tc.name+"/script", func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				dir := filepath.Join(root, "script")
				b.StartTimer()
				out, err := exec.Command("../../scripts/bootstrap-pg.sh", dir, strconv.Itoa(tc.nodes)).CombinedOutput()
				b.StopTimer()
				if err != nil {
					b.Fatalf("bootstrap-pg.sh: %v\n%s", err, out)
				}
				if out, err := exec.Command("../../scripts/bootstrap-pg.sh", "stop", dir).CombinedOutput(); err != nil {
					b.Fatalf("bootstrap-pg.sh stop: %v\n%s", err, out)
				}
			}
		})
	}
}
