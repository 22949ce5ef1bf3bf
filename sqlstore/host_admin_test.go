package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
)

// mustPlaceNode puts a node of a new cluster on a host, directly: placement
// is not what these tests are about.
func mustPlaceNode(t *testing.T, db *sqlstore.DB, hostID int64) int64 {
	t.Helper()
	mustExec(t, db, `INSERT INTO clusters (name, project_id, engine, version, topology, status, spec, created_at, updated_at)
		VALUES ('c1', (SELECT id FROM projects WHERE name = 'default'), 'postgresql', '15', 'standalone', 'running',
		'{}', 1000, 1000)`)
	clusterID := mustQueryInt(t, db, `SELECT id FROM clusters WHERE name = 'c1'`)
	mustExec(t, db, `INSERT INTO nodes (cluster_id, host_id, role, port, data_dir, status, created_at)
		VALUES (?, ?, 'primary', 5432, '/data', 'running', 1000)`, clusterID, hostID)
	return clusterID
}

func TestDeleteHost(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		busy := mustInsertHost(t, db, "busy", "z1", dbplane.HostOnline)
		idle := mustInsertHost(t, db, "idle", "z1", dbplane.HostOnline)
		clusterID := mustPlaceNode(t, db, busy)

		err := db.DeleteHost(ctx, busy)
		assertError(t, err, dbplane.KindConflict, fmt.Sprintf("host %d carries 1 node(s): delete their clusters first", busy))
		if _, err := db.FindHostByID(ctx, busy); err != nil {
			t.Fatalf("the refused delete removed the host: %v", err)
		}

		if err := db.DeleteHost(ctx, idle); err != nil {
			t.Fatal(err)
		}
		gone := fmt.Sprintf("host %d not found", idle)
		_, err = db.FindHostByID(ctx, idle)
		assertError(t, err, dbplane.KindNotFound, gone)
		assertError(t, db.DeleteHost(ctx, idle), dbplane.KindNotFound, gone)

		// Once its nodes are gone, the host can go too.
		mustExec(t, db, `DELETE FROM clusters WHERE id = ?`, clusterID)
		if err := db.DeleteHost(ctx, busy); err != nil {
			t.Fatalf("after its cluster was deleted: %v", err)
		}
	})
}

func TestSetHostDrained(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		id := mustInsertHost(t, db, "h1", "z1", dbplane.HostOnline)
		h, err := db.SetHostDrained(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Drained || !h.UpdatedAt.Equal(testNow.Truncate(time.Microsecond)) {
			t.Fatalf("host = %+v, want drained and updated now", h)
		}
		db.Now = func() time.Time { return testNow.Add(time.Hour) }
		if h, err = db.SetHostDrained(ctx, id, true); err != nil {
			t.Fatal(err)
		} else if !h.UpdatedAt.Equal(testNow.Truncate(time.Microsecond)) {
			t.Fatalf("draining a drained host moved updated_at to %v", h.UpdatedAt)
		}
		if h, err = db.SetHostDrained(ctx, id, false); err != nil {
			t.Fatal(err)
		} else if h.Drained {
			t.Fatal("undrain left the host drained")
		}
		_, err = db.SetHostDrained(ctx, 999, true)
		assertError(t, err, dbplane.KindNotFound, "host 999 not found")
	})
}

func TestHostHealth(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		seen := testNow.Truncate(time.Microsecond)
		id := mustInsertHost(t, db, "h1", "z1", dbplane.HostNew)
		status := func() dbplane.HostStatus {
			t.Helper()
			h, err := db.FindHostByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return h.Status
		}

		// A NEW host never seen is not marked offline.
		if changed, err := db.SetHostOffline(ctx, id, seen); err != nil || changed {
			t.Fatalf("SetHostOffline on a NEW host: changed=%v err=%v", changed, err)
		}
		if st := status(); st != dbplane.HostNew {
			t.Fatalf("status %s, want NEW", st)
		}

		facts := dbplane.HostFacts{Hostname: "ignored", Address: "10.0.0.1", OS: "debian", Arch: "arm64", CPUs: 16,
			MemoryMB: 65536, DiskGB: 900}
		if err := db.SetHostOnline(ctx, id, facts, seen); err != nil {
			t.Fatal(err)
		}
		h, err := db.FindHostByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if h.Status != dbplane.HostOnline || h.LastSeenAt == nil || !h.LastSeenAt.Equal(seen) {
			t.Fatalf("after a success: status %s, last seen %v", h.Status, h.LastSeenAt)
		}
		if h.OS != "debian" || h.Arch != "arm64" || h.CPUs != 16 || h.MemoryMB != 65536 || h.DiskGB != 900 {
			t.Fatalf("facts not refreshed: %+v", h)
		}
		if h.Name != "h1" || h.Address != "h1.example:7070" {
			t.Fatalf("identity changed by a health check: name %q address %q", h.Name, h.Address)
		}
		if !h.UpdatedAt.Equal(seen) {
			t.Fatalf("updated_at %v, want %v: the status changed", h.UpdatedAt, seen)
		}

		// The same facts again only move last_seen_at.
		db.Now = func() time.Time { return testNow.Add(time.Minute) }
		if err := db.SetHostOnline(ctx, id, facts, seen.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if h, _ := db.FindHostByID(ctx, id); !h.UpdatedAt.Equal(seen) || !h.LastSeenAt.Equal(seen.Add(time.Second)) {
			t.Fatalf("updated_at %v last_seen_at %v after an unchanged check", h.UpdatedAt, h.LastSeenAt)
		}

		// Seen at or after the bound: stays online.
		if changed, err := db.SetHostOffline(ctx, id, seen.Add(time.Second)); err != nil || changed {
			t.Fatalf("seen at the bound: changed=%v err=%v", changed, err)
		}
		if changed, err := db.SetHostOffline(ctx, id, seen.Add(2*time.Second)); err != nil || !changed {
			t.Fatalf("seen before the bound: changed=%v err=%v", changed, err)
		}
		if st := status(); st != dbplane.HostOffline {
			t.Fatalf("status %s, want OFFLINE", st)
		}
		if changed, err := db.SetHostOffline(ctx, id, seen.Add(time.Hour)); err != nil || changed {
			t.Fatalf("an OFFLINE host changed again: changed=%v err=%v", changed, err)
		}

		// A DELETING host keeps its status.
		mustExec(t, db, `UPDATE hosts SET status = 'DELETING' WHERE id = ?`, id)
		if err := db.SetHostOnline(ctx, id, facts, seen); err != nil {
			t.Fatal(err)
		}
		if st := status(); st != dbplane.HostDeleting {
			t.Fatalf("status %s, want DELETING", st)
		}
		assertError(t, db.SetHostOnline(ctx, 999, facts, seen), dbplane.KindNotFound, "host 999 not found")
	})
}
