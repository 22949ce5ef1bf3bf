package mysql_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest/realfleet"
	"github.com/dbplane/dbplane/engine/mysql"
	"github.com/dbplane/dbplane/pki"
)

const realPassword = "Adm1n-pw.secret"

// TestRealCluster builds 3-node clusters of real MariaDB on three loopback
// "hosts", each with its own agent (package agent, called in process: the
// engine's steps run against the real host operations and supervisor),
// checks them with go-sql-driver/mysql, runs every step a second time, and
// deletes them: a semi-synchronous replicated cluster and a galera cluster
// over three zones, in parallel.
func TestRealCluster(t *testing.T) {
	mariaDB.Skip(t)
	t.Run("ReplicationSync", func(t *testing.T) {
		t.Parallel()
		c, e, stop := realCluster(t, 1, dbplane.TopologyReplication, dbplane.ReplicationSync, 0, nil)
		defer stop()
		checkReplication(t, c, e.Endpoints(c))
	})
	t.Run("Galera", func(t *testing.T) {
		t.Parallel()
		c, e, stop := realCluster(t, 2, dbplane.TopologyGalera, "", 1, nil)
		defer stop()
		checkGalera(t, c, e.Endpoints(c))
	})
}

// mariaDB is MariaDB 10.11 on a real fleet. A node's processes name its
// home (mariadbd --defaults-file=<home>/my.cnf).
var mariaDB = realfleet.Database{
	Name: "MariaDB", User: "mysql", Packages: "MariaDB 10.11 with galera-4, mariadb-backup and socat",
	Needs: []string{"/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db", "/usr/bin/mariadb",
		"/usr/bin/mariadb-backup", "/usr/lib/galera/libgalera_smm.so", "/usr/bin/socat"},
	Dir: "mysql", Instance: "my",
	Runs: func(n dbplane.Node, cmdline string) bool { return strings.Contains(cmdline, n.DataDir) },
}

// realCluster creates a cluster on agents for 127.0.0.11-13 in zones
// z1-z3 (with primaryZone the index of the spec's primary zone), with SSL
// on and certificates of ca unless ca is nil, runs the plan twice, and
// returns a function that checks the cluster for leaked secrets, deletes
// it, and checks that nothing is left.
func realCluster(t *testing.T, id int64, topology, mode string, primaryZone int, ca *pki.CA) (*dbplane.Cluster, *mysql.Engine, func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	name := fmt.Sprintf("my%d%s", id, strings.ReplaceAll(topology, "-", ""))
	zones := []string{"z1", "z2", "z3"}
	c := newCluster(name, topology, mode, 3)
	c.ID, c.Spec.Flavor, c.Spec.VolumeGB = id, "dbp.c1.m2", 1
	c.Spec.Zones, c.Spec.PrimaryZone, c.Spec.SSL = zones, zones[primaryZone], ca != nil
	store := &fakeStore{TaskID: 1, Cluster: c, Password: realPassword, Zones: map[int64]string{}}
	port := freePort(t, topology == dbplane.TopologyGalera)
	for i := range c.Nodes {
		n := &c.Nodes[i]
		n.MemoryMB, n.Port = 512, port
		store.Zones[n.HostID] = zones[i]
	}
	f := realfleet.New(t, &mariaDB, 3)
	f.Place(t, c)
	e := &mysql.Engine{Deps: enginekit.Deps{Store: store, Dialer: f.Dialer}}
	if ca != nil {
		e.CA = ca
	}
	log := realfleet.NewLog(t)
	realfleet.Create(ctx, t, e, c, log)
	// Every step may run again, e.g. after the control plane died: the
	// whole plan run a second time changes nothing and still verifies.
	start := time.Now()
	if err := runPlan(ctx, t, e, 1, e.PlanCreate(c), log); err != nil {
		t.Fatalf("create again: %v", err)
	}
	t.Logf("%s plan ran again in %s", topology, time.Since(start).Round(time.Millisecond))
	return c, e, func() {
		if t.Failed() {
			return
		}
		checkNoSecrets(t, c)
		f.Remove(ctx, t, e, c, log, false)
	}
}

// checkReplication writes on the primary through the cluster's URI, reads
// the row on both replicas, has both refuse a write by the admin, and
// checks semi-synchronous replication on the primary.
func checkReplication(t *testing.T, c *dbplane.Cluster, ep *dbplane.Endpoints) {
	primary := open(t, uriAddr(t, ep))
	if _, err := primary.Exec("CREATE DATABASE probe"); err != nil {
		t.Fatalf("write on the primary: %v", err)
	}
	if _, err := primary.Exec("CREATE TABLE probe.t (id int PRIMARY KEY, note text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.Exec("INSERT INTO probe.t VALUES (1, 'written on the primary')"); err != nil {
		t.Fatal(err)
	}
	var name, status, clients string
	if err := primary.QueryRow("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'").Scan(&name, &status); err != nil || status != "ON" {
		t.Errorf("Rpl_semi_sync_master_status = %q (%v), want ON", status, err)
	}
	if err := primary.QueryRow("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'").Scan(&name, &clients); err != nil || clients != "2" {
		t.Errorf("Rpl_semi_sync_master_clients = %q (%v), want 2", clients, err)
	}
	var waitPoint string
	if err := primary.QueryRow("SELECT @@rpl_semi_sync_master_wait_point").Scan(&waitPoint); err != nil || waitPoint != "AFTER_SYNC" {
		t.Errorf("rpl_semi_sync_master_wait_point = %q (%v), want AFTER_SYNC", waitPoint, err)
	}
	var yes int
	if err := primary.QueryRow("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_yes_tx'").Scan(&name, &yes); err != nil || yes < 3 {
		t.Errorf("Rpl_semi_sync_master_yes_tx = %d (%v): the writes were not acknowledged by a replica", yes, err)
	}
	if len(ep.Replicas) != 2 {
		t.Fatalf("replicas %v, want 2", ep.Replicas)
	}
	for _, hp := range ep.Replicas {
		db := open(t, hp)
		if note := waitForRow(t, db, "SELECT note FROM probe.t WHERE id = 1"); note != "written on the primary" {
			t.Errorf("replica %s reads %q", hp, note)
		}
		_, err := db.Exec("INSERT INTO probe.t VALUES (2, 'written on a replica')")
		if me := (*gomysql.MySQLError)(nil); !errors.As(err, &me) || me.Number != 1290 {
			t.Errorf("write on replica %s as %s: %v, want error 1290 (read-only)", hp, mysql.AdminUser, err)
		}
	}
	checkAccess(t, c)
}

// checkGalera checks that every member counts 3 and that a write on each
// member is visible on the others, and that the endpoints put the member
// of the primary zone first.
func checkGalera(t *testing.T, c *dbplane.Cluster, ep *dbplane.Endpoints) {
	if want := fmt.Sprintf("127.0.0.12:%d", c.Nodes[1].Port); ep.Primary != want {
		t.Errorf("primary endpoint %s, want the member in the primary zone z2, %s", ep.Primary, want)
	}
	all := append([]string{ep.Primary}, ep.Replicas...)
	if len(all) != 3 {
		t.Fatalf("endpoints %+v, want 3 members", ep)
	}
	dbs := make([]*sql.DB, len(all))
	for i, hp := range all {
		dbs[i] = open(t, hp)
		var name, size string
		if err := dbs[i].QueryRow("SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'").Scan(&name, &size); err != nil || size != "3" {
			t.Errorf("member %s: wsrep_cluster_size = %q (%v), want 3", hp, size, err)
		}
	}
	if _, err := dbs[0].Exec("CREATE DATABASE probe"); err != nil {
		t.Fatal(err)
	}
	if _, err := dbs[0].Exec("CREATE TABLE probe.t (id int PRIMARY KEY, note text)"); err != nil {
		t.Fatal(err)
	}
	for i, db := range dbs {
		if _, err := db.Exec("INSERT INTO probe.t VALUES (?, ?)", i, "written on "+all[i]); err != nil {
			t.Fatalf("write on member %s: %v", all[i], err)
		}
	}
	for i, db := range dbs {
		for j := range dbs {
			q := fmt.Sprintf("SELECT note FROM probe.t WHERE id = %d", j)
			if note := waitForRow(t, db, q); note != "written on "+all[j] {
				t.Errorf("member %s reads %q for the write on %s", all[i], note, all[j])
			}
		}
	}
	checkAccess(t, c)
}

// checkAccess checks that a wrong password and root over TCP are refused.
func checkAccess(t *testing.T, c *dbplane.Cluster) {
	hp := net.JoinHostPort(c.Nodes[0].Address, fmt.Sprint(c.Nodes[0].Port))
	for _, tc := range []struct{ user, password string }{{mysql.AdminUser, "wrong-Passw0rd"}, {"root", ""}, {"root", realPassword}} {
		cfg := gomysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.Timeout = tc.user, tc.password, "tcp", hp, 5*time.Second
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		err = db.Ping()
		db.Close()
		// 1698: root matched root@localhost, whose unix_socket cannot
		// authenticate a TCP connection.
		if me := (*gomysql.MySQLError)(nil); !errors.As(err, &me) || (me.Number != 1045 && me.Number != 1130 && me.Number != 1698) {
			t.Errorf("%s over TCP with a wrong or no password: %v, want access denied", tc.user, err)
		}
	}
}

// checkNoSecrets checks that the admin password is in no file of a node.
func checkNoSecrets(t *testing.T, c *dbplane.Cluster) {
	for _, n := range c.Nodes {
		for _, dir := range []string{n.DataDir, n.DataDir + ".d"} {
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), realPassword) {
					t.Errorf("%s holds the admin password", p)
				}
				return nil
			})
		}
	}
}

// uriAddr returns the host:port of the cluster's URI, after checking it
// names the admin and no password.
func uriAddr(t *testing.T, ep *dbplane.Endpoints) string {
	t.Helper()
	u, err := url.Parse(ep.URI)
	if err != nil || u.Scheme != "mysql" || u.User.Username() != mysql.AdminUser {
		t.Fatalf("URI %s (%v): want mysql://admin@host:port/", ep.URI, err)
	}
	if _, set := u.User.Password(); set || strings.Contains(ep.URI, realPassword) {
		t.Fatalf("the URI holds a password: %s", ep.URI)
	}
	return u.Host
}

// open connects to a node as the admin.
func open(t *testing.T, hostPort string) *sql.DB {
	t.Helper()
	db := openAs(t, hostPort, realPassword)
	if err := db.Ping(); err != nil {
		t.Fatalf("connect to %s as %s: %v", hostPort, mysql.AdminUser, err)
	}
	return db
}

// waitForRow reads one value, waiting for replication to bring it.
func waitForRow(t *testing.T, db *sql.DB, query string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var v string
		err := db.QueryRow(query).Scan(&v)
		if err == nil {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", query, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort returns a port free on every address (and, for galera, with
// its state transfer and group ports free): every node of a cluster gets
// it, as on real hosts, where every node may have 3306. Each node binds
// its address only, so that they do not collide.
func freePort(t *testing.T, galera bool) int {
	t.Helper()
	if galera {
		return realfleet.FreePort(t, "", 1138, 1261, 1361)
	}
	return realfleet.FreePort(t, "")
}

// TestRealClusterSSL builds a replicated cluster of real MariaDB with SSL
// on and checks with go-sql-driver/mysql that clients connect over TLS
// verified against the control plane's CA and the node's address, that
// the replicas replicate over TLS having verified the primary, that a
// client without TLS is refused, and that one trusting another CA, or
// expecting another name, refuses the server.
func TestRealClusterSSL(t *testing.T) {
	mariaDB.Skip(t)
	ca := realfleet.NewCA(t)
	c, e, stop := realCluster(t, 3, dbplane.TopologyReplication, dbplane.ReplicationAsync, 0, ca)
	defer stop()
	ep := e.Endpoints(c)
	if !strings.HasSuffix(ep.URI, "?ssl-mode=VERIFY_IDENTITY") || ep.CACert != string(ca.CertPEM()) {
		t.Fatalf("endpoints URI %s, CA %q: want ssl-mode and the CA certificate", ep.URI, ep.CACert)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(ep.CACert)) {
		t.Fatal("the endpoints' CA certificate does not parse")
	}
	primaryAddr := uriAddr(t, ep)
	primary := openTLS(t, primaryAddr, &tls.Config{RootCAs: roots, ServerName: c.Nodes[0].Address})
	if err := primary.Ping(); err != nil {
		t.Fatalf("connect to %s over TLS: %v", primaryAddr, err)
	}
	var name, cipher string
	if err := primary.QueryRow("SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil || cipher == "" {
		t.Fatalf("Ssl_cipher %q (%v): the session does not use TLS", cipher, err)
	}
	var secure int
	if err := primary.QueryRow("SELECT @@require_secure_transport").Scan(&secure); err != nil || secure != 1 {
		t.Errorf("require_secure_transport = %d (%v), want 1", secure, err)
	}
	for _, q := range []string{"CREATE DATABASE probe", "CREATE TABLE probe.t (id int PRIMARY KEY, note text)",
		"INSERT INTO probe.t VALUES (1, 'written on the primary')"} {
		if _, err := primary.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, hp := range ep.Replicas {
		n := c.Nodes[i+1]
		db := openTLS(t, hp, &tls.Config{RootCAs: roots, ServerName: n.Address})
		if note := waitForRow(t, db, "SELECT note FROM probe.t WHERE id = 1"); note != "written on the primary" {
			t.Errorf("replica %s reads %q", hp, note)
		}
		checkReplicaTLS(t, db, hp)
	}

	otherRoots := realfleet.NewCA(t).Pool()
	for _, tc := range []struct {
		what string
		cfg  *tls.Config
		want string
	}{
		// REQUIRE SSL refuses the admin before require_secure_transport
		// would refuse the connection.
		{"without TLS", nil, "Error 1045 (28000): Access denied"},
		{"trusting another CA", &tls.Config{RootCAs: otherRoots, ServerName: c.Nodes[0].Address}, "certificate signed by unknown authority"},
		{"expecting another name", &tls.Config{RootCAs: roots, ServerName: c.Nodes[1].Address}, "certificate is valid for " + c.Nodes[0].Address},
	} {
		err := openTLS(t, primaryAddr, tc.cfg).Ping()
		if err == nil {
			t.Errorf("a client %s connected", tc.what)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("a client %s: %v, want %q", tc.what, err, tc.want)
		}
	}
}

// checkReplicaTLS checks that a replica replicates over TLS and verifies
// its primary's certificate.
func checkReplicaTLS(t *testing.T, db *sql.DB, hp string) {
	t.Helper()
	rows, err := db.Query("SHOW REPLICA STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatalf("replica %s has no replication", hp)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i, c := range cols {
		got[c] = vals[i].String
	}
	for k, want := range map[string]string{"Master_SSL_Allowed": "Yes", "Master_SSL_Verify_Server_Cert": "Yes", "Slave_IO_Running": "Yes"} {
		if got[k] != want {
			t.Errorf("replica %s: %s = %q, want %s (%s)", hp, k, got[k], want, got["Last_IO_Error"])
		}
	}
}

// openTLS returns a handle on a node as the admin, over TLS with cfg (none
// if nil), without connecting yet.
func openTLS(t *testing.T, hostPort string, cfg *tls.Config) *sql.DB {
	t.Helper()
	mc := gomysql.NewConfig()
	mc.User, mc.Passwd, mc.Net, mc.Addr, mc.Timeout = mysql.AdminUser, realPassword, "tcp", hostPort, 5*time.Second
	if cfg != nil {
		// A registered configuration, as a client that names it in its
		// DSN (tls=<name>) would use.
		name := fmt.Sprintf("dbplane-%p", cfg)
		if err := gomysql.RegisterTLSConfig(name, cfg); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gomysql.DeregisterTLSConfig(name) })
		mc.TLSConfig = name
	}
	db, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
