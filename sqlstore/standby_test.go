package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
)

// TestStandbyReplication: a standby is recorded with its source, pending
// until checked; the monitor's findings show on the standby and the
// standby on its source; an unknown check keeps the last answer; the row
// goes with the standby.
func TestStandbyReplication(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		src := mustCreateCluster(t, db, newCluster("source"))
		sc := newCluster("standby")
		sc.Spec.StandbyOf = src.ID
		standby := mustCreateCluster(t, db, sc)

		got, err := db.FindClusterByID(ctx, standby.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r := got.Replication; r == nil || r.State != dbplane.ReplicationPending || r.Source != (dbplane.ClusterRef{ID: src.ID, Name: "source"}) || r.CheckedAt != nil {
			t.Fatalf("new standby's replication %+v; want pending from source", r)
		}
		cs, _, err := db.FindClusters(ctx, dbplane.ClusterFilter{})
		if err != nil || len(cs) != 2 {
			t.Fatal(cs, err)
		}
		if len(cs[0].Standbys) != 1 || cs[0].Standbys[0] != (dbplane.ClusterRef{ID: standby.ID, Name: "standby"}) || cs[0].Replication != nil {
			t.Fatalf("source lists standbys %+v, replication %+v", cs[0].Standbys, cs[0].Replication)
		}

		lag, at := int64(3), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := db.SetReplicationStatus(ctx, standby.ID, dbplane.ReplicationStatus{State: dbplane.ReplicationStreaming,
			IORunning: true, SQLRunning: true, LagSeconds: &lag, Position: "1-1-9", CheckedAt: &at}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetReplicationStatus(ctx, standby.ID, dbplane.ReplicationStatus{State: dbplane.ReplicationUnknown, LastError: "host away"}); err != nil {
			t.Fatal(err)
		}
		got, err = db.FindClusterByID(ctx, standby.ID)
		if err != nil {
			t.Fatal(err)
		}
		r := got.Replication
		if r.State != dbplane.ReplicationUnknown || !r.IORunning || !r.SQLRunning || r.LagSeconds == nil || *r.LagSeconds != 3 ||
			r.Position != "1-1-9" || r.LastError != "host away" || r.CheckedAt == nil || !r.CheckedAt.Equal(at) {
			t.Fatalf("replication %+v; want unknown keeping the last answer", r)
		}
		if err := db.SetReplicationStatus(ctx, src.ID, dbplane.ReplicationStatus{State: dbplane.ReplicationStopped}); dbplane.ErrorKind(err) != dbplane.KindNotFound {
			t.Fatalf("setting a non-standby's replication: %v; want not found", err)
		}
		mustExec(t, db, `DELETE FROM clusters WHERE id = ?`, standby.ID)
		got, err = db.FindClusterByID(ctx, src.ID)
		if err != nil || len(got.Standbys) != 0 {
			t.Fatalf("source lists %+v after the standby is gone (%v)", got.Standbys, err)
		}
	})
}
