package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest/realfleet"
	"github.com/dbplane/dbplane/engine/mysql"
)

// TestRealChange changes the admin password and parameters of a real
// replicated MariaDB cluster: the new password works on every node and the
// old one no longer does; a dynamic parameter is live on every node
// without a restart, one that needs a restart is live after a rolling
// restart with the replicas replicating again, and a value MariaDB refuses
// fails the check naming the parameter.
func TestRealChange(t *testing.T) {
	mariaDB.Skip(t)
	c, e, stop := realCluster(t, 3, dbplane.TopologyReplication, dbplane.ReplicationAsync, 0, nil)
	defer stop()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	log := realfleet.NewLog(t)
	store := e.Store.(*fakeStore)

	const newPassword = "N3w-Adm1n.pw"
	store.NewPW = newPassword
	if err := runPlan(ctx, t, e, 1, e.PlanPassword(c), log); err != nil {
		t.Fatalf("password: %v", err)
	}
	for _, n := range c.Nodes {
		hp := net.JoinHostPort(n.Address, fmt.Sprint(n.Port))
		if err := pingAs(hp, newPassword); err != nil {
			t.Errorf("node %d with the new password: %v", n.Ordinal, err)
		}
		var me *gomysql.MySQLError
		if err := pingAs(hp, realPassword); !errors.As(err, &me) || me.Number != 1045 {
			t.Errorf("node %d with the old password: %v, want access denied", n.Ordinal, err)
		}
	}
	for _, l := range log.All() {
		if strings.Contains(l, newPassword) || strings.Contains(l, mysql.NativeHash(newPassword)) {
			t.Fatalf("a log line holds the new password or its hash: %s", l)
		}
	}
	store.Password = newPassword // as the service commits it

	realfleet.RefuseParameter(ctx, t, e, c, "max_connections", "many", log)
	realfleet.ChangeParameters(ctx, t, e, c, map[string]string{"max_connections": "123", "back_log": "77"}, log)
	for _, n := range c.Nodes {
		db := openAs(t, net.JoinHostPort(n.Address, fmt.Sprint(n.Port)), newPassword)
		for name, want := range map[string]string{"max_connections": "123", "back_log": "77"} {
			var got string
			if err := db.QueryRow("SELECT @@GLOBAL." + name).Scan(&got); err != nil || got != want {
				t.Errorf("node %d: %s = %q (%v), want %s", n.Ordinal, name, got, err, want)
			}
		}
		conf, err := os.ReadFile(n.DataDir + ".d/my.cnf")
		if err != nil || !strings.Contains(string(conf), "max_connections = 123\n") {
			t.Errorf("my.cnf of node %d lacks the parameter (%v)", n.Ordinal, err)
		}
	}
	// The replicas replicate again after their restart.
	ep := e.Endpoints(c)
	primary := openAs(t, ep.Primary, newPassword)
	if _, err := primary.Exec("CREATE DATABASE after_change"); err != nil {
		t.Fatal(err)
	}
	for _, hp := range ep.Replicas {
		if name := waitForRow(t, openAs(t, hp, newPassword), "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'after_change'"); name != "after_change" {
			t.Errorf("replica %s reads %q", hp, name)
		}
	}
}

// pingAs connects to a node as the admin with password.
func pingAs(hostPort, password string) error {
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.Timeout = mysql.AdminUser, password, "tcp", hostPort, 5*time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Ping()
}

// openAs is open with another password.
func openAs(t *testing.T, hostPort, password string) *sql.DB {
	t.Helper()
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.Timeout = mysql.AdminUser, password, "tcp", hostPort, 5*time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
