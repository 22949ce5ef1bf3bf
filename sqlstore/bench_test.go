package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/sqlstore"
)

// BenchmarkFindClusters lists 50-cluster pages, with their nodes, out of
// 10,000 stored clusters (one node each), on every dialect. Besides ns/op
// it reports the 99th percentile of one call, which the list API's latency
// goal (p99 under 20 ms) bounds.
func BenchmarkFindClusters(b *testing.B) {
	const clusters = 10_000
	running, redis := dbplane.ClusterRunning, dbplane.EngineRedis
	for _, d := range testdb.Dialects() {
		b.Run(d.Name, func(b *testing.B) {
			db := MustOpen(b, d.DSN(b))
			seedClusters(b, db, clusters)
			seedNodes(b, db, clusters)
			mustExec(b, db, `ANALYZE`)
			for _, bc := range []struct {
				name   string
				filter dbplane.ClusterFilter
			}{
				{"status", dbplane.ClusterFilter{Status: &running, Offset: 1000, Limit: 50}},
				{"engine+status", dbplane.ClusterFilter{Engine: &redis, Status: &running, Limit: 50}},
				{"unfiltered-last", dbplane.ClusterFilter{Offset: clusters - 50, Limit: 50}},
			} {
				b.Run(bc.name, func(b *testing.B) { benchmarkFindClusters(b, db, bc.filter) })
			}
		})
	}
}

func benchmarkFindClusters(b *testing.B, db *sqlstore.DB, filter dbplane.ClusterFilter) {
	ctx := context.Background()
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		cs, _, err := db.FindClusters(ctx, filter)
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		} else if len(cs) != 50 {
			b.Fatalf("%d clusters, want a page of 50", len(cs))
		} else if len(cs[0].Nodes) != 1 {
			b.Fatalf("%d nodes, want 1", len(cs[0].Nodes))
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds()), "p99-ns")
}

// seedNodes gives each of the first n clusters one node, spread over 100
// hosts, so that listing pays for loading nodes.
func seedNodes(tb testing.TB, db *sqlstore.DB, n int) {
	tb.Helper()
	const hosts = 100
	hostIDs := make([]int64, hosts)
	for i := range hosts {
		hostIDs[i] = mustInsertHost(tb, db, fmt.Sprintf("bench-host-%03d", i), fmt.Sprintf("zone-%d", i%3), dbplane.HostOnline)
	}
	clusterIDs := make([]int64, 0, n)
	rows, err := db.SQL().Query(`SELECT id FROM clusters ORDER BY id`)
	if err != nil {
		tb.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		clusterIDs = append(clusterIDs, id)
	}
	rows.Close()
	tx, err := db.SQL().Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	const batch = 100
	for first := 0; first < len(clusterIDs); first += batch {
		var (
			values []string
			args   []any
		)
		for i := first; i < min(first+batch, len(clusterIDs)); i++ {
			values = append(values, "(?, ?, 'primary', ?, '/data', 'running', 1000)")
			args = append(args, clusterIDs[i], hostIDs[i%hosts], 10000+i/hosts)
		}
		query := `INSERT INTO nodes (cluster_id, host_id, role, port, data_dir, status, created_at) VALUES ` +
			strings.Join(values, ", ")
		if _, err := tx.Exec(rebind(db, query), args...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}
