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
				resp, err := cp.http.Do(req)
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

// BenchmarkCreateCluster measures, for each engine and topology, the time
// from a create request to a running cluster on local agents (one "host"
// per node, as dev --hosts); and, in the same run, the time a minimal shell
// script (scripts/bootstrap-*.sh) takes to bootstrap the same topology by
// hand: the physical limit. Goal: dbplane within 1.25x of the script.
func BenchmarkCreateCluster(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: agents run databases as their own OS users")
	}
	cp := mustRunControlPlane(b)
	root := mustFleetRoot(b)
	mustStartAgents(b, cp, root, 6)
	pg := func(name string, nodes int) dbplane.ClusterSpec {
		s := validSpec(name)
		s.Nodes = nodes
		if nodes == 1 {
			s.Topology, s.ReplicationMode = dbplane.TopologyStandalone, ""
		}
		return s
	}
	redisCluster := func(name string) dbplane.ClusterSpec {
		s := redisSpec(name, dbplane.TopologyRedisCluster, 0)
		s.Shards, s.ReplicasPerShard = 3, 1
		return s
	}
	for _, tc := range []struct {
		name   string
		spec   func(name string) dbplane.ClusterSpec
		script []string // bootstrap script and its arguments after the root
	}{
		{"postgresql/standalone", func(n string) dbplane.ClusterSpec { return pg(n, 1) }, []string{"bootstrap-pg.sh", "1"}},
		{"postgresql/replication3", func(n string) dbplane.ClusterSpec { return pg(n, 3) }, []string{"bootstrap-pg.sh", "3"}},
		{"mysql/standalone", func(n string) dbplane.ClusterSpec { return mysqlSpec(n, dbplane.TopologyStandalone, 1) },
			[]string{"bootstrap-mysql.sh", "standalone"}},
		{"mysql/replication3", func(n string) dbplane.ClusterSpec { return mysqlSpec(n, dbplane.TopologyReplication, 3) },
			[]string{"bootstrap-mysql.sh", "replication"}},
		{"mysql/galera3", func(n string) dbplane.ClusterSpec { return mysqlSpec(n, dbplane.TopologyGalera, 3) },
			[]string{"bootstrap-mysql.sh", "galera"}},
		{"redis/standalone", func(n string) dbplane.ClusterSpec { return redisSpec(n, dbplane.TopologyStandalone, 1) },
			[]string{"bootstrap-redis.sh", "standalone"}},
		{"redis/replication3", func(n string) dbplane.ClusterSpec { return redisSpec(n, dbplane.TopologyReplication, 3) },
			[]string{"bootstrap-redis.sh", "replication"}},
		{"redis/cluster3x1", redisCluster, []string{"bootstrap-redis.sh", "cluster"}},
	} {
		b.Run(tc.name+"/dbplane", func(b *testing.B) {
			for i := range b.N {
				b.StopTimer()
				// Short names: a PostgreSQL socket path under the data root
				// must stay within the kernel's 107 bytes.
				spec := tc.spec(fmt.Sprintf("bench%d", i))
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
			script := "../../scripts/" + tc.script[0]
			for range b.N {
				b.StopTimer()
				dir := filepath.Join(root, "script")
				b.StartTimer()
				out, err := exec.Command(script, append([]string{dir}, tc.script[1:]...)...).CombinedOutput()
				b.StopTimer()
				if err != nil {
					b.Fatalf("%s: %v\n%s", tc.script[0], err, out)
				}
				if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
					b.Fatalf("%s stop: %v\n%s", tc.script[0], err, out)
				}
			}
		})
	}
}
