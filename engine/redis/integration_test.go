package redis_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest/realfleet"
	"github.com/dbplane/dbplane/engine/redis"
	"github.com/dbplane/dbplane/pki"
)

const realPassword = "Adm1n-pw.secret"

// TestRealCluster builds clusters of real Redis 7 on six loopback "hosts"
// (127.0.0.11–16), each with its own agent (package agent, called in
// process: the steps run against the real host operations and supervisor),
// checks them with go-redis, and removes them: a replication cluster of a
// primary and two replicas, a Redis cluster of 3 shards × 1 replica, both
// deleted; and a standalone node with AOF, rolled back.
func TestRealCluster(t *testing.T) {
	redisDB.Skip(t)
	f := realfleet.New(t, &redisDB, 6)
	t.Run("Replication", func(t *testing.T) {
		t.Parallel()
		c := placeReal(t, f, 1, "rrepl", dbplane.TopologyReplication, 3, 0, 0)
		e, log := create(t, f, c, nil)
		checkReplication(t, e.Endpoints(c))
		checkACL(t, e.Endpoints(c).Primary)
		checkNoSecrets(t, f, c)
		remove(t, f, e, c, log, false)
	})
	t.Run("RedisCluster", func(t *testing.T) {
		t.Parallel()
		c := placeReal(t, f, 2, "rshards", dbplane.TopologyRedisCluster, 0, 3, 1)
		e, log := create(t, f, c, nil)
		// Every step may run again, e.g. after the control plane died:
		// the whole plan a second time finds the cluster in place.
		if err := runPlan(context.Background(), t, e, 1, e.PlanCreate(c), log); err != nil {
			t.Fatalf("create again: %v", err)
		}
		checkRedisCluster(t, c, e.Endpoints(c))
		checkACL(t, e.Endpoints(c).Replicas[0])
		remove(t, f, e, c, log, false)
	})
	t.Run("StandaloneAOFRolledBack", func(t *testing.T) {
		t.Parallel()
		c := placeReal(t, f, 3, "rsolo", dbplane.TopologyStandalone, 1, 0, 0)
		c.Spec.Persistence = redis.PersistenceAOF
		e, log := create(t, f, c, nil)
		client := newClient(e.Endpoints(c).Primary, redis.AdminUser, realPassword)
		defer client.Close()
		ctx := context.Background()
		if got, err := client.ConfigGet(ctx, "appendonly").Result(); err != nil || got["appendonly"] != "yes" {
			t.Errorf("appendonly = %v (%v), want yes", got, err)
		}
		if err := client.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(c.Nodes[0].DataDir, "appendonlydir")); err != nil {
			t.Errorf("no append-only directory in the data directory: %v", err)
		}
		remove(t, f, e, c, log, true)
	})
}

// redisDB is Redis 7 on a real fleet. A node's processes name a file of
// its home (redis-server keeps its command line: set-proc-title no).
var redisDB = realfleet.Database{
	Name: "Redis", User: "redis", Packages: "redis-server",
	Needs: []string{"/usr/bin/redis-server"},
	Dir:   "redis", Instance: "redis",
	Runs: func(n dbplane.Node, cmdline string) bool { return strings.Contains(cmdline, n.DataDir+".d/") },
}

// placeReal returns a cluster placed on f one node per host from host 1,
// on ports whose cluster bus port, 10000 above, is free too.
func placeReal(t *testing.T, f *realfleet.Fleet, id int64, name, topology string, nodes, shards, replicas int) *dbplane.Cluster {
	t.Helper()
	c := newCluster(name, topology, nodes, shards, replicas)
	c.ID, c.Spec.Flavor, c.Spec.VolumeGB = id, "dbp.c1.m2", 1
	for i := range c.Nodes {
		n := &c.Nodes[i]
		n.MemoryMB, n.Port = 256, realfleet.FreePort(t, realfleet.Addr(n.HostID), 10000)
	}
	f.Place(t, c)
	return c
}

// create runs the create plan of c on f, with SSL on and certificates of
// ca unless ca is nil, and returns its engine and step log.
func create(t *testing.T, f *realfleet.Fleet, c *dbplane.Cluster, ca *pki.CA) (*redis.Engine, *stepLog) {
	t.Helper()
	e := &redis.Engine{Deps: enginekit.Deps{Store: &fakeStore{TaskID: 1, Cluster: c, Password: realPassword}, Dialer: f.Dialer}}
	if ca != nil {
		e.CA, c.Spec.SSL = ca, true
	}
	log := realfleet.NewLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	realfleet.Create(ctx, t, e, c, log)
	return e, log
}

// remove deletes c with its delete plan or, with rollback, with the undo
// steps of its create plan, and checks nothing of it is left.
func remove(t *testing.T, f *realfleet.Fleet, e *redis.Engine, c *dbplane.Cluster, log *stepLog, rollback bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f.Remove(ctx, t, e, c, log, rollback)
}

// newClient returns a go-redis client of one node.
func newClient(addr, user, password string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: addr, Username: user, Password: password,
		Protocol: 2, DisableIdentity: true, MaxRetries: -1, DialTimeout: 5 * time.Second})
}

// checkReplication checks the replicas report their link up, the primary
// counts them, a write on the primary reaches both, and replicas refuse
// writes.
func checkReplication(t *testing.T, ep *dbplane.Endpoints) {
	t.Helper()
	ctx := context.Background()
	opts, err := goredis.ParseURL(ep.URI)
	if err != nil {
		t.Fatalf("parse URI %s: %v", ep.URI, err)
	}
	if opts.Password != "" || opts.Username != redis.AdminUser {
		t.Fatalf("the URI %s names user %q and holds a password: want admin and none", ep.URI, opts.Username)
	}
	opts.Password, opts.Protocol, opts.DisableIdentity = realPassword, 2, true
	primary := goredis.NewClient(opts)
	defer primary.Close()
	if got := infoField(t, primary, "replication", "connected_slaves"); got != "2" {
		t.Errorf("the primary has connected_slaves:%s, want 2", got)
	}
	if err := primary.Set(ctx, "probe", "written on the primary", 0).Err(); err != nil {
		t.Fatalf("write on the primary: %v", err)
	}
	if n, err := primary.Wait(ctx, 2, 5*time.Second).Result(); err != nil || n != 2 {
		t.Errorf("WAIT 2: %d replicas acknowledged (%v), want 2", n, err)
	}
	for _, hp := range ep.Replicas {
		r := newClient(hp, redis.AdminUser, realPassword)
		if got := infoField(t, r, "replication", "master_link_status"); got != "up" {
			t.Errorf("replica %s reports master_link_status:%s", hp, got)
		}
		if got, err := r.Get(ctx, "probe").Result(); err != nil || got != "written on the primary" {
			t.Errorf("replica %s reads %q (%v)", hp, got, err)
		}
		if err := r.Set(ctx, "probe", "written on a replica", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
			t.Errorf("a write on replica %s: %v, want READONLY", hp, err)
		}
		r.Close()
	}
}

// checkRedisCluster checks every node reports cluster_state:ok and that a
// cluster client's keys land on every shard.
func checkRedisCluster(t *testing.T, c *dbplane.Cluster, ep *dbplane.Endpoints) {
	t.Helper()
	ctx := context.Background()
	for _, n := range c.Nodes {
		client := newClient(net.JoinHostPort(n.Address, fmt.Sprint(n.Port)), redis.AdminUser, realPassword)
		ci, err := client.ClusterInfo(ctx).Result()
		client.Close()
		if err != nil || !strings.Contains(ci, "cluster_state:ok") || !strings.Contains(ci, "cluster_slots_assigned:16384") {
			t.Errorf("node %d: CLUSTER INFO %q (%v), want cluster_state:ok with 16384 slots", n.Ordinal, ci, err)
		}
	}
	opts, err := goredis.ParseClusterURL(ep.URI)
	if err != nil {
		t.Fatalf("parse URI %s: %v", ep.URI, err)
	}
	if len(opts.Addrs) != 3 || opts.Password != "" {
		t.Fatalf("the URI %s seeds %v and holds a password %v: want the 3 primaries and none", ep.URI, opts.Addrs, opts.Password != "")
	}
	clusterWrites(t, opts, 300)
	hosts := append([]string{ep.Primary}, opts.Addrs[1:]...)
	for _, hp := range hosts {
		p := newClient(hp, redis.AdminUser, realPassword)
		size, err := p.DBSize(ctx).Result()
		p.Close()
		if err != nil || size == 0 {
			t.Errorf("shard primary %s holds %d keys (%v): want some of the 300", hp, size, err)
		}
	}
}

// clusterWrites connects a cluster client with opts as the admin, writes
// keys keys key:0.. through it, reads one back, and returns the client,
// closed when t ends.
func clusterWrites(t *testing.T, opts *goredis.ClusterOptions, keys int) *goredis.ClusterClient {
	t.Helper()
	ctx := context.Background()
	opts.Password, opts.Protocol, opts.DisableIdentity = realPassword, 2, true
	cc := goredis.NewClusterClient(opts)
	t.Cleanup(func() { cc.Close() })
	for i := range keys {
		if err := cc.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatalf("cluster write %d: %v", i, err)
		}
	}
	probe := fmt.Sprint(keys / 2)
	if got, err := cc.Get(ctx, "key:"+probe).Result(); err != nil || got != probe {
		t.Errorf("cluster read key:%s = %q (%v)", probe, got, err)
	}
	return cc
}

// checkACL checks that a client without credentials, the default user and
// the admin user with a wrong password are all refused.
func checkACL(t *testing.T, addr string) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range []struct{ user, password, want string }{
		{"", "", "NOAUTH"},
		{"default", "", "NOAUTH"},
		{"default", realPassword, "WRONGPASS"},
		{redis.AdminUser, "wrong-Passw0rd", "WRONGPASS"},
		{"replicator", realPassword, "WRONGPASS"},
	} {
		client := newClient(addr, tc.user, tc.password)
		err := client.Ping(ctx).Err()
		client.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PING as %q with password %v: %v, want %s", tc.user, tc.password != "", err, tc.want)
		}
	}
	admin := newClient(addr, redis.AdminUser, realPassword)
	defer admin.Close()
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Errorf("PING as admin: %v", err)
	}
	if err := admin.ConfigSet(ctx, "dir", "/tmp").Err(); err == nil || !strings.Contains(err.Error(), "protected config") {
		t.Errorf("CONFIG SET dir as admin: %v, want a protected config refused", err)
	}
}

// checkNoSecrets checks the admin password is in no node's file, log or
// command line.
func checkNoSecrets(t *testing.T, f *realfleet.Fleet, c *dbplane.Cluster) {
	t.Helper()
	for _, n := range c.Nodes {
		for _, dir := range []string{n.DataDir + ".d"} {
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				if strings.Contains(string(b), realPassword) {
					t.Errorf("%s holds the admin password", filepath.Join(dir, e.Name()))
				}
				if info, err := e.Info(); err == nil && e.Name() != "redis.pid" && e.Name() != "redis.log" && info.Mode().Perm() != 0o600 {
					t.Errorf("%s has mode %o, want 0600", e.Name(), info.Mode().Perm())
				}
			}
		}
		for _, p := range f.Processes(t, n) {
			if strings.Contains(p, realPassword) {
				t.Errorf("a process of node %d shows the admin password: %s", n.Ordinal, p)
			}
		}
	}
}

// infoField returns one field of INFO section.
func infoField(t *testing.T, c *goredis.Client, section, field string) string {
	t.Helper()
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	for line := range strings.Lines(s) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// TestRealClusterSSL builds clusters of real Redis 7 with SSL on: a
// replication cluster, and a Redis cluster, whose bus asks nodes for
// certificates of the CA. It checks with go-redis that clients reach the
// nodes over TLS verified against the control plane's CA and the node's
// address, that replicas replicate (over TLS, as the nodes serve nothing
// else), that a client without TLS gets no answer, and that one trusting
// another CA, or expecting another name, refuses the server.
func TestRealClusterSSL(t *testing.T) {
	redisDB.Skip(t)
	f := realfleet.New(t, &redisDB, 6)
	ca := realfleet.NewCA(t)
	t.Run("Replication", func(t *testing.T) {
		t.Parallel()
		c := placeReal(t, f, 4, "rssl", dbplane.TopologyReplication, 2, 0, 0)
		e, log := create(t, f, c, ca)
		defer remove(t, f, e, c, log, false)
		checkReplicationTLS(t, c, e.Endpoints(c), ca)
	})
	t.Run("RedisCluster", func(t *testing.T) {
		t.Parallel()
		c := placeReal(t, f, 5, "rcssl", dbplane.TopologyRedisCluster, 0, 3, 1)
		e, log := create(t, f, c, ca)
		defer remove(t, f, e, c, log, false)
		checkRedisClusterTLS(t, e.Endpoints(c), ca)
	})
}

// rootsOf returns the pool of the endpoints' CA certificate, after
// checking it is ca's.
func rootsOf(t *testing.T, ep *dbplane.Endpoints, ca *pki.CA) *x509.CertPool {
	t.Helper()
	if ep.CACert != string(ca.CertPEM()) {
		t.Fatal("the endpoints' CA certificate is not the CA's")
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(ep.CACert)) {
		t.Fatal("the endpoints' CA certificate does not parse")
	}
	return roots
}

// checkReplicationTLS checks a replication cluster of a primary and one
// replica with SSL on, and that clients that do not use TLS or do not
// verify the primary as the CA's get no answer.
func checkReplicationTLS(t *testing.T, c *dbplane.Cluster, ep *dbplane.Endpoints, ca *pki.CA) {
	t.Helper()
	ctx := context.Background()
	roots := rootsOf(t, ep, ca)
	opts, err := goredis.ParseURL(ep.URI)
	if err != nil || opts.TLSConfig == nil {
		t.Fatalf("parse URI %s: %v, TLS %v: want rediss://", ep.URI, err, opts.TLSConfig)
	}
	opts.TLSConfig.RootCAs = roots
	opts.Password, opts.Protocol, opts.DisableIdentity, opts.MaxRetries = realPassword, 2, true, -1
	primary := goredis.NewClient(opts)
	defer primary.Close()
	if err := primary.Set(ctx, "probe", "written on the primary", 0).Err(); err != nil {
		t.Fatalf("write on the primary over TLS: %v", err)
	}
	if n, err := primary.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
		t.Errorf("WAIT 1: %d replicas acknowledged (%v), want 1", n, err)
	}
	replicaHost := c.Nodes[1].Address
	replica := tlsClient(ep.Replicas[0], &tls.Config{RootCAs: roots, ServerName: replicaHost})
	if got := infoField(t, replica, "replication", "master_link_status"); got != "up" {
		t.Errorf("the replica reports master_link_status:%s", got)
	}
	if got, err := replica.Get(ctx, "probe").Result(); err != nil || got != "written on the primary" {
		t.Errorf("the replica reads %q (%v)", got, err)
	}
	replica.Close()

	for _, tc := range []struct {
		what string
		cfg  *tls.Config
		want string
	}{
		{"without TLS", nil, ""},
		{"trusting another CA", &tls.Config{RootCAs: realfleet.NewCA(t).Pool(), ServerName: c.Nodes[0].Address}, "certificate signed by unknown authority"},
		{"expecting another name", &tls.Config{RootCAs: roots, ServerName: replicaHost}, "certificate is valid for " + c.Nodes[0].Address},
	} {
		client := tlsClient(ep.Primary, tc.cfg)
		err := client.Ping(ctx).Err()
		client.Close()
		if err == nil {
			t.Errorf("a client %s got an answer", tc.what)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("a client %s: %v, want %q", tc.what, err, tc.want)
		}
	}
}

// checkRedisClusterTLS writes and reads through a cluster client over TLS.
// The client leaves the server name empty, so that each node it dials is
// verified against the address it dialed, not the first seed's.
func checkRedisClusterTLS(t *testing.T, ep *dbplane.Endpoints, ca *pki.CA) {
	t.Helper()
	ctx := context.Background()
	opts, err := goredis.ParseClusterURL(ep.URI)
	if err != nil || opts.TLSConfig == nil || len(opts.Addrs) != 3 {
		t.Fatalf("parse URI %s: %v, TLS %v, seeds %v: want rediss:// and 3 seeds", ep.URI, err, opts.TLSConfig, opts.Addrs)
	}
	opts.TLSConfig.RootCAs, opts.TLSConfig.ServerName = rootsOf(t, ep, ca), ""
	cc := clusterWrites(t, opts, 100)
	err = cc.ForEachShard(ctx, func(ctx context.Context, shard *goredis.Client) error {
		ci, err := shard.ClusterInfo(ctx).Result()
		if err == nil && !strings.Contains(ci, "cluster_state:ok") {
			err = fmt.Errorf("CLUSTER INFO %q", ci)
		}
		return err
	})
	if err != nil {
		t.Errorf("every node over TLS: %v", err)
	}
}

// tlsClient returns a go-redis client of one node as the admin, over TLS
// with cfg (none if nil).
func tlsClient(addr string, cfg *tls.Config) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: addr, Username: redis.AdminUser, Password: realPassword, TLSConfig: cfg,
		Protocol: 2, DisableIdentity: true, MaxRetries: -1, DialTimeout: 5 * time.Second, ReadTimeout: 2 * time.Second})
}
