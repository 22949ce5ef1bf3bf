package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest/realfleet"
	"github.com/dbplane/dbplane/engine/postgres"
)

// TestRealChange changes the admin password and parameters of a real
// replicated PostgreSQL 15 cluster: the new password works on every node
// and the old one no longer does, and never reaches a server log; a
// reloadable parameter (work_mem) and one that needs a restart, lowered
// (max_connections, so the primary restarts first), are in force on every
// node, which streams again; a value PostgreSQL refuses fails the check
// naming the parameter.
func TestRealChange(t *testing.T) {
	postgresDB.Skip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const oldPassword, newPassword = "Adm1n-pw.secret", "N3w-Adm1n.pw"
	c, f := placeReal(t, 5, "pgchange", 3)
	c.Spec.ReplicationMode = dbplane.ReplicationAsync
	store := &fakeStore{TaskID: 1, Cluster: c, Password: oldPassword}
	e := &postgres.Engine{Deps: enginekit.Deps{Store: store, Dialer: f.Dialer}}
	log := realfleet.NewLog(t)
	realfleet.Create(ctx, t, e, c, log)
	defer f.Remove(ctx, t, e, c, log, false)

	store.NewPW = newPassword
	if err := runPlan(ctx, t, e, 1, e.PlanPassword(c), log); err != nil {
		t.Fatalf("password: %v", err)
	}
	ep := e.Endpoints(c)
	for _, hp := range append([]string{ep.Primary}, ep.Replicas...) {
		if conn := connectAs(ctx, t, hp, newPassword); conn != nil {
			conn.Close(ctx)
		}
		_, err := pgx.Connect(ctx, "postgresql://"+postgres.AdminUser+":"+oldPassword+"@"+hp+"/postgres")
		if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "28P01" {
			t.Errorf("%s with the old password: %v, want SQLSTATE 28P01", hp, err)
		}
	}
	store.Password = newPassword // as the service commits it

	realfleet.RefuseParameter(ctx, t, e, c, "work_mem", "lots", log)
	realfleet.ChangeParameters(ctx, t, e, c, map[string]string{"work_mem": "12MB", "max_connections": "42"}, log)
	for _, hp := range append([]string{ep.Primary}, ep.Replicas...) {
		conn := connectAs(ctx, t, hp, newPassword)
		for name, want := range map[string]string{"work_mem": "12MB", "max_connections": "42"} {
			var got string
			if err := conn.QueryRow(ctx, "SHOW "+name).Scan(&got); err != nil || got != want {
				t.Errorf("%s: %s = %q (%v), want %s", hp, name, got, err, want)
			}
		}
		conn.Close(ctx)
	}
	checkReplication(ctx, t, ep, newPassword, map[string]string{"node1": "async", "node2": "async"})
	checkServerLogs(t, c, newPassword)
}

// connectAs connects to a node as the admin with password.
func connectAs(ctx context.Context, t *testing.T, hostPort, password string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig("postgresql://" + postgres.AdminUser + "@" + hostPort + "/postgres")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect to %s with the new password: %v", hostPort, err)
	}
	return conn
}
