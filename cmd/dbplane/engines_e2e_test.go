package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dbplane/dbplane"
	_ "github.com/go-sql-driver/mysql"
	goredis "github.com/redis/go-redis/v9"
)

// createCluster creates a cluster through the API and waits until it runs.
func createCluster(tb testing.TB, cp *testControlPlane, spec dbplane.ClusterSpec) *dbplane.Cluster {
	tb.Helper()
	ctx := context.Background()
	c, task, err := cp.client.CreateCluster(ctx, spec, false)
	if err != nil {
		tb.Fatalf("CreateCluster: %v", err)
	}
	if task = waitTask(tb, cp.client, task.ID); task.Status != dbplane.TaskSuccessful {
		tb.Fatalf("create task ended %s: %v", task.Status, failedSubtasks(task))
	}
	if c, err = cp.client.FindClusterByID(ctx, c.ID); err != nil {
		tb.Fatal(err)
	}
	if c.Status != dbplane.ClusterRunning || c.Endpoints == nil {
		tb.Fatalf("cluster %s with endpoints %+v; want running with endpoints", c.Status, c.Endpoints)
	}
	return c
}

// deleteAndCheckGone deletes a cluster and checks that no process, data
// directory or port of it is left.
func deleteAndCheckGone(tb testing.TB, cp *testControlPlane, root string, c *dbplane.Cluster) {
	tb.Helper()
	deleteCluster(tb, cp.client, c.ID)
	if pids := processesUnder(root); len(pids) != 0 {
		tb.Errorf("processes %v still run after delete", pids)
	}
	for _, n := range c.Nodes {
		if _, err := os.Stat(n.DataDir); !os.IsNotExist(err) {
			tb.Errorf("data dir %s of node %d is still there (%v)", n.DataDir, n.Ordinal, err)
		}
	}
	loads, err := cp.db.HostLoads(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range loads {
		if len(l.Ports) != 0 {
			tb.Errorf("host %s still has ports %v allocated", l.Host.Address, l.Ports)
		}
	}
}

func mysqlSpec(name, topology string, nodes int, zones ...string) dbplane.ClusterSpec {
	s := validSpec(name)
	s.Engine, s.Version, s.Topology, s.Nodes, s.Zones = dbplane.EngineMySQL, "", topology, nodes, zones
	if topology != dbplane.TopologyReplication {
		s.ReplicationMode = ""
	}
	return s
}

func openMySQL(tb testing.TB, addr string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("mysql", fmt.Sprintf("admin:%s@tcp(%s)/?timeout=10s", clusterPassword, addr))
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		tb.Fatalf("connecting to %s: %v", addr, err)
	}
	return db
}

// TestMariaDBReplication: a 3-node MariaDB cluster with lossless semi-sync
// replication; a write on the primary reaches both replicas, the replicas
// refuse writes, and the primary's semi-sync is on.
func TestMariaDBReplication(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 3)
	c := createCluster(t, cp, mysqlSpec("shop", dbplane.TopologyReplication, 3))

	primary := openMySQL(t, c.Endpoints.Primary)
	for _, q := range []string{`CREATE DATABASE shop`, `CREATE TABLE shop.orders (id int PRIMARY KEY, item text)`,
		`INSERT INTO shop.orders VALUES (1, 'book')`} {
		if _, err := primary.Exec(q); err != nil {
			t.Fatalf("%s on the primary: %v", q, err)
		}
	}
	var name, status string
	if err := primary.QueryRow(`SHOW STATUS LIKE 'Rpl_semi_sync_master_status'`).Scan(&name, &status); err != nil || status != "ON" {
		t.Fatalf("Rpl_semi_sync_master_status = %q, %v; want ON", status, err)
	}
	for _, r := range c.Endpoints.Replicas {
		replica := openMySQL(t, r)
		waitFor(t, "the row on replica "+r, func() (bool, error) {
			var item string
			err := replica.QueryRow(`SELECT item FROM shop.orders WHERE id = 1`).Scan(&item)
			return item == "book", err
		})
		if _, err := replica.Exec(`INSERT INTO shop.orders VALUES (2, 'pen')`); err == nil {
			t.Errorf("replica %s accepted a write", r)
		}
	}
	deleteAndCheckGone(t, cp, root, c)
}

// TestMariaDBGalera: a 3-member Galera cluster on 3 zones; every member
// sees the cluster of 3 and the writes made on the others.
func TestMariaDBGalera(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 3)
	c := createCluster(t, cp, mysqlSpec("ledger", dbplane.TopologyGalera, 3, "zone-1", "zone-2", "zone-3"))

	var members []*sql.DB
	for _, n := range c.Nodes {
		members = append(members, openMySQL(t, fmt.Sprintf("%s:%d", n.Address, n.Port)))
	}
	for i, m := range members {
		var name, size string
		if err := m.QueryRow(`SHOW STATUS LIKE 'wsrep_cluster_size'`).Scan(&name, &size); err != nil || size != "3" {
			t.Fatalf("member %d: wsrep_cluster_size = %q, %v; want 3", i, size, err)
		}
	}
	if _, err := members[0].Exec(`CREATE DATABASE ledger`); err != nil {
		t.Fatal(err)
	}
	if _, err := members[0].Exec(`CREATE TABLE ledger.entries (id int PRIMARY KEY, member int)`); err != nil {
		t.Fatal(err)
	}
	for i, m := range members {
		if _, err := m.Exec(`INSERT INTO ledger.entries VALUES (?, ?)`, i+1, i); err != nil {
			t.Fatalf("write on member %d: %v", i, err)
		}
	}
	for i, m := range members {
		waitFor(t, fmt.Sprintf("every write on member %d", i), func() (bool, error) {
			var n int
			err := m.QueryRow(`SELECT COUNT(*) FROM ledger.entries`).Scan(&n)
			return n == len(members), err
		})
	}
	deleteAndCheckGone(t, cp, root, c)
}

func redisSpec(name, topology string, nodes int) dbplane.ClusterSpec {
	s := validSpec(name)
	s.Engine, s.Version, s.Topology, s.Nodes, s.ReplicationMode = dbplane.EngineRedis, "", topology, nodes, ""
	return s
}

func redisClient(tb testing.TB, addr string) *goredis.Client {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, Username: "admin", Password: clusterPassword})
	tb.Cleanup(func() { c.Close() })
	return c
}

// TestRedisReplication: a primary and 2 replicas; each replica's link to
// the primary is up and it serves the primary's writes.
func TestRedisReplication(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 3)
	c := createCluster(t, cp, redisSpec("sessions", dbplane.TopologyReplication, 3))
	ctx := context.Background()

	if err := redisClient(t, c.Endpoints.Primary).Set(ctx, "user:1", "ada", 0).Err(); err != nil {
		t.Fatalf("SET on the primary: %v", err)
	}
	for _, r := range c.Endpoints.Replicas {
		replica := redisClient(t, r)
		info, err := replica.Info(ctx, "replication").Result()
		if err != nil || !strings.Contains(info, "master_link_status:up") {
			t.Fatalf("replica %s: INFO replication = %q, %v; want master_link_status:up", r, info, err)
		}
		waitFor(t, "the key on replica "+r, func() (bool, error) {
			v, err := replica.Get(ctx, "user:1").Result()
			return v == "ada", err
		})
	}
	deleteAndCheckGone(t, cp, root, c)
}

// TestRedisCluster: 3 shards of a primary and a replica each; the cluster
// is ok with all slots assigned, and a cluster-aware client's keys land on
// every shard.
func TestRedisCluster(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 6)
	spec := redisSpec("cache", dbplane.TopologyRedisCluster, 0)
	spec.Shards, spec.ReplicasPerShard = 3, 1
	c := createCluster(t, cp, spec)
	ctx := context.Background()

	var seeds []string
	for _, n := range c.Nodes {
		seeds = append(seeds, fmt.Sprintf("%s:%d", n.Address, n.Port))
	}
	cluster := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: seeds, Username: "admin", Password: clusterPassword})
	defer cluster.Close()
	info, err := cluster.ClusterInfo(ctx).Result()
	if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") {
		t.Fatalf("CLUSTER INFO = %q, %v; want cluster_state:ok with 16384 slots", info, err)
	}
	for i := range 300 {
		if err := cluster.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET key:%d: %v", i, err)
		}
	}
	var shards atomic.Int32 // ForEachMaster calls in parallel
	err = cluster.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
		n, err := m.DBSize(ctx).Result()
		if n > 0 {
			shards.Add(1)
		}
		return err
	})
	if err != nil || shards.Load() != 3 {
		t.Fatalf("keys landed on %d shards (err %v); want all 3", shards.Load(), err)
	}
	deleteAndCheckGone(t, cp, root, c)
}
