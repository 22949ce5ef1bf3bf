package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest/realfleet"
	"github.com/dbplane/dbplane/engine/postgres"
)

// postgresDB is PostgreSQL 15 on a real fleet. A node's processes name its
// data directory or carry its process title, postgres: <cluster>-<ordinal>:.
var postgresDB = realfleet.Database{
	Name: "PostgreSQL", User: "postgres", Packages: "PostgreSQL 15",
	Needs: []string{"/usr/lib/postgresql/15/bin/postgres"},
	Dir:   "postgresql", Instance: "pg",
	Runs: func(n dbplane.Node, cmdline string) bool {
		return strings.Contains(cmdline, n.DataDir+" ") || strings.HasSuffix(strings.TrimSpace(cmdline), n.DataDir) ||
			strings.Contains(cmdline, "postgres: "+filepath.Base(n.DataDir)+":")
	},
}

// TestRealCluster builds 3-node clusters of real PostgreSQL 15 on three
// loopback "hosts", each with its own agent (package agent, called in
// process: the engine's steps run against the real host operations and
// supervisor), checks replication with pgx, and removes them: the sync
// cluster by deleting it, the quorum one by rolling its creation back.
func TestRealCluster(t *testing.T) {
	postgresDB.Skip(t)
	for i, tc := range []struct {
		mode     string
		want     map[string]string // sync_state by application_name
		rollback bool
	}{
		{dbplane.ReplicationSync, map[string]string{"node1": "sync", "node2": "potential"}, false},
		{dbplane.ReplicationQuorum, map[string]string{"node1": "quorum", "node2": "quorum"}, true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			realCluster(t, int64(i+1), tc.mode, tc.want, tc.rollback)
		})
	}
}

// realCluster creates a cluster, checks it, and removes it with the delete
// plan or, with rollback, with the undo steps of the create plan.
func realCluster(t *testing.T, id int64, mode string, wantSync map[string]string, rollback bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const adminPassword = "Adm1n-pw.secret"
	c, f := placeReal(t, id, "pg"+mode, 3)
	c.Spec.ReplicationMode = mode
	e := &postgres.Engine{Deps: enginekit.Deps{Store: &fakeStore{TaskID: 1, Cluster: c, Password: adminPassword}, Dialer: f.Dialer}}
	log := realfleet.NewLog(t)
	realfleet.Create(ctx, t, e, c, log)

	ep := e.Endpoints(c)
	checkReplication(ctx, t, ep, adminPassword, wantSync)

	// Every step may run again, e.g. after the control plane died: the
	// whole plan run a second time changes nothing and still verifies
	// streaming.
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), log); err != nil {
		t.Fatalf("create again: %v", err)
	}
	checkServerLogs(t, c, adminPassword)
	f.Remove(ctx, t, e, c, log, rollback)
}

// placeReal returns a replicated cluster of count nodes, node 0 the
// primary, placed on a fleet of as many hosts, and the fleet.
func placeReal(t *testing.T, id int64, name string, count int) (*dbplane.Cluster, *realfleet.Fleet) {
	t.Helper()
	c := newCluster(name, dbplane.TopologyReplication, "", count)
	c.ID, c.Spec.Flavor, c.Spec.VolumeGB = id, "dbp.c1.m2", 1
	for i := range c.Nodes {
		n := &c.Nodes[i]
		n.MemoryMB, n.Port = 512, realfleet.FreePort(t, realfleet.Addr(n.HostID))
	}
	f := realfleet.New(t, &postgresDB, count)
	f.Place(t, c)
	return c, f
}

// checkServerLogs checks that no node's server log holds password or a
// SCRAM secret.
func checkServerLogs(t *testing.T, c *dbplane.Cluster, password string) {
	t.Helper()
	for _, n := range c.Nodes {
		serverLog, err := os.ReadFile(n.DataDir + ".d/postgresql.log")
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{password, "SCRAM-SHA-256$"} {
			if strings.Contains(string(serverLog), secret) {
				t.Errorf("the server log of node %d holds %q", n.Ordinal, secret)
			}
		}
	}
}

// checkReplication writes on the primary through the cluster's URI, reads
// the row on both replicas, and compares pg_stat_replication with the sync
// states the mode asks for.
func checkReplication(ctx context.Context, t *testing.T, ep *dbplane.Endpoints, password string, wantSync map[string]string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(ep.URI)
	if err != nil {
		t.Fatalf("parse URI %s: %v", ep.URI, err)
	}
	if strings.Contains(ep.URI, password) {
		t.Fatalf("the URI holds the password: %s", ep.URI)
	}
	cfg.Password = password
	primary, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect to %s: %v", ep.URI, err)
	}
	defer primary.Close(ctx)
	var inRecovery bool
	if err := primary.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || inRecovery {
		t.Fatalf("the URI reached a node in recovery (%v): want the primary", err)
	}
	if _, err := primary.Exec(ctx, "CREATE TABLE probe (id int PRIMARY KEY, note text); INSERT INTO probe VALUES (1, 'written on the primary')"); err != nil {
		t.Fatalf("write on the primary: %v", err)
	}

	got := map[string]string{}
	rows, err := primary.Query(ctx, "SELECT application_name, sync_state FROM pg_stat_replication WHERE state = 'streaming'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var app, state string
		if err := rows.Scan(&app, &state); err != nil {
			t.Fatal(err)
		}
		got[app] = state
	}
	if rows.Err() != nil || fmt.Sprint(got) != fmt.Sprint(wantSync) {
		t.Errorf("pg_stat_replication sync states %v (%v), want %v", got, rows.Err(), wantSync)
	}

	for _, hp := range ep.Replicas {
		rc, err := pgx.ParseConfig("postgresql://" + postgres.AdminUser + "@" + hp + "/postgres")
		if err != nil {
			t.Fatal(err)
		}
		rc.Password = password
		conn, err := pgx.ConnectConfig(ctx, rc)
		if err != nil {
			t.Fatalf("connect to replica %s: %v", hp, err)
		}
		note := waitForRow(ctx, t, conn)
		conn.Close(ctx)
		if note != "written on the primary" {
			t.Errorf("replica %s reads %q", hp, note)
		}
	}

	bad := cfg.Copy()
	bad.Password = "wrong-Passw0rd"
	if conn, err := pgx.ConnectConfig(ctx, bad); err == nil {
		conn.Close(ctx)
		t.Error("connected with a wrong password")
	} else if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "28P01" {
		t.Errorf("wrong password: %v, want SQLSTATE 28P01", err)
	}
}

// waitForRow reads the probe row on a replica, waiting for it to replay.
func waitForRow(ctx context.Context, t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var note string
		err := conn.QueryRow(ctx, "SELECT note FROM probe WHERE id = 1").Scan(&note)
		if err == nil {
			return note
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica does not show the row: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRealClusterSSL builds a 2-node cluster of real PostgreSQL 15 with SSL
// on and checks with pgx that clients and the replica use TLS verified
// against the control plane's CA and the node's address, that a client
// without TLS is rejected, and that one trusting another CA, or expecting
// another name, refuses the server.
func TestRealClusterSSL(t *testing.T) {
	postgresDB.Skip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const adminPassword = "Adm1n-pw.secret"
	c, f := placeReal(t, 3, "pgssl", 2)
	c.Spec.SSL = true
	ca := realfleet.NewCA(t)
	e := &postgres.Engine{Deps: enginekit.Deps{Store: &fakeStore{TaskID: 1, Cluster: c, Password: adminPassword}, Dialer: f.Dialer, CA: ca}}
	log := realfleet.NewLog(t)
	realfleet.Create(ctx, t, e, c, log)
	defer f.Remove(ctx, t, e, c, log, false)

	ep := e.Endpoints(c)
	if ep.CACert != string(ca.CertPEM()) {
		t.Fatalf("the endpoints' CA certificate is not the CA's")
	}
	caFile := filepath.Join(t.TempDir(), "root.crt")
	if err := os.WriteFile(caFile, []byte(ep.CACert), 0o600); err != nil {
		t.Fatal(err)
	}
	connect := func(uri string) (*pgx.Conn, error) {
		cfg, err := pgx.ParseConfig(uri)
		if err != nil {
			t.Fatalf("parse %s: %v", uri, err)
		}
		cfg.Password = adminPassword
		return pgx.ConnectConfig(ctx, cfg)
	}
	primary, err := connect(ep.URI + "&sslrootcert=" + caFile)
	if err != nil {
		t.Fatalf("connect with %s and the CA: %v", ep.URI, err)
	}
	defer primary.Close(ctx)
	var ssl bool
	var version string
	if err := primary.QueryRow(ctx, "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl, &version); err != nil || !ssl {
		t.Fatalf("pg_stat_ssl of the session: ssl %v (%v), want TLS", ssl, err)
	}
	t.Logf("the session uses %s", version)
	if _, err := primary.Exec(ctx, "CREATE TABLE probe (id int PRIMARY KEY, note text); INSERT INTO probe VALUES (1, 'written on the primary')"); err != nil {
		t.Fatal(err)
	}
	// The replica streams over TLS too, having verified the primary.
	if err := primary.QueryRow(ctx, "SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.application_name = 'node1' AND r.state = 'streaming'").Scan(&ssl); err != nil || !ssl {
		t.Errorf("the replica's stream: ssl %v (%v), want a streaming TLS connection", ssl, err)
	}
	replicaURI := "postgresql://" + postgres.AdminUser + "@" + ep.Replicas[0] + "/postgres?sslmode=verify-full&sslrootcert=" + caFile
	replica, err := connect(replicaURI)
	if err != nil {
		t.Fatalf("connect to the replica over TLS: %v", err)
	}
	if note := waitForRow(ctx, t, replica); note != "written on the primary" {
		t.Errorf("the replica reads %q", note)
	}
	replica.Close(ctx)

	otherCA := filepath.Join(t.TempDir(), "other.crt")
	if err := os.WriteFile(otherCA, realfleet.NewCA(t).CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	hp := ep.Primary
	for _, tc := range []struct{ what, uri, want string }{
		{"without TLS", "postgresql://admin@" + hp + "/postgres?sslmode=disable", "no encryption"},
		{"trusting another CA", "postgresql://admin@" + hp + "/postgres?sslmode=verify-full&sslrootcert=" + otherCA, "certificate signed by unknown authority"},
	} {
		conn, err := connect(tc.uri)
		if err == nil {
			conn.Close(ctx)
			t.Errorf("a client %s connected", tc.what)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("a client %s: %v, want %q", tc.what, err, tc.want)
		}
	}
	// A client that expects another server's name refuses this one.
	cfg, err := pgx.ParseConfig("postgresql://admin@" + hp + "/postgres?sslmode=verify-full&sslrootcert=" + caFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password, cfg.TLSConfig.ServerName = adminPassword, c.Nodes[1].Address
	if conn, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		conn.Close(ctx)
		t.Errorf("a client expecting %s accepted the certificate of %s", c.Nodes[1].Address, hp)
	} else if !strings.Contains(err.Error(), "certificate is valid for "+c.Nodes[0].Address) {
		t.Errorf("a client expecting another name: %v, want a name mismatch", err)
	}
}
