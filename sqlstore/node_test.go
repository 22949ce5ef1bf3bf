package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
)

// placedCluster returns a cluster with one node placed on each given host.
func placedCluster(name string, port int, hosts ...int64) *dbplane.Cluster {
	c := newCluster(name)
	for i, h := range hosts {
		c.Nodes = append(c.Nodes, dbplane.Node{Ordinal: i, HostID: h, Role: "replica", Port: port,
			DataDir: "/data/" + name, Status: "creating", MemoryMB: 4096, VolumeGB: 20})
	}
	return c
}

func TestCreateClusterStoresNodes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		h1 := mustInsertHost(t, db, "h1", "zone-a", dbplane.HostOnline)
		h2 := mustInsertHost(t, db, "h2", "zone-b", dbplane.HostOnline)
		c := placedCluster("orders", 5432, h1, h2)
		if _, err := db.CreateCluster(ctx, c, "Secret-Passw0rd", createPlan()); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindClusterByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Nodes) != 2 || got.Nodes[1].Ordinal != 1 || got.Nodes[1].HostID != h2 || got.Nodes[1].Address != "h2.example:7070" {
			t.Fatalf("nodes = %+v; want ordinals 0, 1 on h1, h2 with the host address", got.Nodes)
		}

		loads, err := db.HostLoads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(loads) != 2 || !loads[0].Ports[5432] || loads[0].MemoryMB != 4096 || loads[1].VolumeGB != 20 {
			t.Fatalf("loads = %+v; want port 5432, 4096 MB and 20 GB taken on each host", loads)
		}

		pw, err := db.ClusterPassword(ctx, c.ID)
		if err != nil || pw != "Secret-Passw0rd" {
			t.Fatalf("ClusterPassword = %q, %v", pw, err)
		}
		if _, err := db.ClusterPassword(ctx, 999); dbplane.ErrorKind(err) != dbplane.KindNotFound {
			t.Fatalf("ClusterPassword(999): %v; want not_found", err)
		}

		if err := db.DeleteNodes(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.FindClusterByID(ctx, c.ID); len(got.Nodes) != 0 {
			t.Fatalf("nodes after DeleteNodes: %+v", got.Nodes)
		}
	})
}

// TestCreateClusterPlacementRace: a cluster placed on a port another cluster
// took meanwhile is refused with ErrPlacementRace, and nothing is written.
func TestCreateClusterPlacementRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		h1 := mustInsertHost(t, db, "h1", "zone-a", dbplane.HostOnline)
		if _, err := db.CreateCluster(ctx, placedCluster("first", 5432, h1), "Secret-Passw0rd", createPlan()); err != nil {
			t.Fatal(err)
		}
		_, err := db.CreateCluster(ctx, placedCluster("second", 5432, h1), "Secret-Passw0rd", createPlan())
		if dbplane.ErrorKind(err) != dbplane.KindConflict || !errors.Is(err, dbplane.ErrPlacementRace) {
			t.Fatalf("err %v; want a conflict wrapping ErrPlacementRace", err)
		}
		if _, total, _ := db.FindClusters(ctx, dbplane.ClusterFilter{}); total != 1 {
			t.Fatalf("%d clusters stored; the refused one must leave nothing", total)
		}
	})
}
