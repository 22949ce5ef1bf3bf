package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
)

// mustInventory creates a region, an IDC in it and a host type.
func mustInventory(t *testing.T, db *sqlstore.DB) (*dbplane.Region, *dbplane.IDC, *dbplane.HostType) {
	t.Helper()
	ctx := context.Background()
	r := &dbplane.Region{Name: "cn-hangzhou", Description: "east"}
	if err := db.CreateRegion(ctx, r); err != nil {
		t.Fatal(err)
	}
	d := &dbplane.IDC{Name: "hz1", RegionID: r.ID}
	if err := db.CreateIDC(ctx, d); err != nil {
		t.Fatal(err)
	}
	ht := &dbplane.HostType{Name: "x86-large"}
	if err := db.CreateHostType(ctx, ht); err != nil {
		t.Fatal(err)
	}
	return r, d, ht
}

func TestRegionsIDCsAndHostTypes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		now := testNow.Truncate(time.Microsecond)
		r, d, ht := mustInventory(t, db)
		if r.ID == 0 || !r.CreatedAt.Equal(now) || d.RegionName != r.Name || ht.ID == 0 {
			t.Fatalf("created %+v %+v %+v", r, d, ht)
		}
		assertError(t, db.CreateRegion(ctx, &dbplane.Region{Name: r.Name}), dbplane.KindConflict,
			`a region named "cn-hangzhou" exists already`)
		assertError(t, db.CreateIDC(ctx, &dbplane.IDC{Name: "hz1", RegionID: r.ID}), dbplane.KindConflict,
			`an IDC named "hz1" exists already`)
		assertError(t, db.CreateHostType(ctx, &dbplane.HostType{Name: ht.Name}), dbplane.KindConflict,
			`a host type named "x86-large" exists already`)
		assertError(t, db.CreateIDC(ctx, &dbplane.IDC{Name: "nowhere", RegionID: 999}), dbplane.KindInvalid,
			"invalid region_id: no region has id 999")

		got, err := db.FindIDCByID(ctx, d.ID)
		if err != nil || got.Name != "hz1" || got.RegionName != "cn-hangzhou" || !got.UpdatedAt.Equal(now) {
			t.Fatalf("FindIDCByID = %+v, %v", got, err)
		}
		d2 := &dbplane.IDC{Name: "hz2", RegionID: r.ID}
		if err := db.CreateIDC(ctx, d2); err != nil {
			t.Fatal(err)
		}
		page, total, err := db.FindIDCs(ctx, dbplane.ComputeFilter{Offset: 1, Limit: 1})
		if err != nil || total != 2 || len(page) != 1 || page[0].Name != "hz2" {
			t.Fatalf("FindIDCs page 2 = %+v, %d, %v", page, total, err)
		}
		regions, total, err := db.FindRegions(ctx, dbplane.ComputeFilter{})
		if err != nil || total != 1 || regions[0].Description != "east" {
			t.Fatalf("FindRegions = %+v, %d, %v", regions, total, err)
		}

		assertError(t, db.DeleteRegion(ctx, r.ID), dbplane.KindConflict,
			fmt.Sprintf("region %d is used by 2 IDC(s): delete or move them first", r.ID))
		for _, id := range []int64{d.ID, d2.ID} {
			if err := db.DeleteIDC(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteRegion(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		assertError(t, db.DeleteRegion(ctx, r.ID), dbplane.KindNotFound, fmt.Sprintf("region %d not found", r.ID))
		_, err = db.FindRegionByID(ctx, r.ID)
		assertError(t, err, dbplane.KindNotFound, fmt.Sprintf("region %d not found", r.ID))
		if err := db.DeleteHostType(ctx, ht.ID); err != nil {
			t.Fatal(err)
		}
		_, err = db.FindHostTypeByID(ctx, ht.ID)
		assertError(t, err, dbplane.KindNotFound, fmt.Sprintf("host type %d not found", ht.ID))
	})
}

// addPlan is a task plan with one step per host, as the service makes.
func addPlan(hosts []*dbplane.ComputeHost) dbplane.TaskPlan {
	p := dbplane.TaskPlan{Name: "Add hosts", Kind: dbplane.TaskKindHostAdd}
	for _, h := range hosts {
		p.Steps = append(p.Steps, dbplane.PlanStep{Key: h.Address, Name: "wait " + h.Address, Handler: "noop",
			Params: []byte(fmt.Sprintf(`{"host_id":%d}`, h.ID))})
	}
	return p
}

func TestRegisterHostsAndJoin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		r, d, ht := mustInventory(t, db)
		inv := dbplane.HostInventory{IDCID: d.ID, TypeID: ht.ID, Kind: dbplane.HostKindContainer, SSHPort: 22,
			Alias: "web", VpcID: 1, PublishPorts: []string{"8080:8080", "2881:2881"}}
		hosts := []*dbplane.ComputeHost{
			{Host: dbplane.Host{Address: "10.0.0.1"}, Inventory: inv},
			{Host: dbplane.Host{Address: "10.0.0.2"}, Inventory: inv},
		}
		task, err := db.RegisterHosts(ctx, hosts, addPlan)
		if err != nil {
			t.Fatal(err)
		}
		if len(task.Subtasks) != 2 || string(task.Subtasks[0].Params) != fmt.Sprintf(`{"host_id":%d}`, hosts[0].ID) {
			t.Fatalf("task %+v: the plan did not see the hosts' ids", task.Subtasks)
		}
		h := hosts[0]
		if h.ID == 0 || h.Status != dbplane.HostNew || h.Joined() || h.Name != "10.0.0.1" || h.Zone != "hz1" ||
			h.Region != "cn-hangzhou" || h.IDCName != "hz1" || h.RegionID != r.ID || h.TypeName != "x86-large" ||
			len(h.Inventory.PublishPorts) != 2 || h.Inventory.Alias != "web" {
			t.Fatalf("registered %+v", h)
		}

		// Taken addresses and missing references write nothing.
		_, err = db.RegisterHosts(ctx, []*dbplane.ComputeHost{{Host: dbplane.Host{Address: "10.0.0.3"}, Inventory: inv},
			{Host: dbplane.Host{Address: "10.0.0.2"}, Inventory: inv}}, addPlan)
		assertError(t, err, dbplane.KindConflict, fmt.Sprintf("address 10.0.0.2 is registered already, as host %d", hosts[1].ID))
		bad := inv
		bad.IDCID, bad.TypeID = 404, 405
		_, err = db.RegisterHosts(ctx, []*dbplane.ComputeHost{{Host: dbplane.Host{Address: "10.0.0.4"}, Inventory: bad}}, addPlan)
		if dbplane.ErrorKind(err) != dbplane.KindInvalid || len(dbplane.ErrorFields(err)) != 2 {
			t.Fatalf("missing IDC and type: %v %+v", err, dbplane.ErrorFields(err))
		}
		if _, total, _ := db.FindComputeHosts(ctx, dbplane.ComputeFilter{}); total != 2 {
			t.Fatalf("%d hosts after refused registrations, want 2", total)
		}

		// The IDC and type are in use; the region holds the IDC.
		assertError(t, db.DeleteIDC(ctx, d.ID), dbplane.KindConflict,
			fmt.Sprintf("IDC %d is used by 2 host(s): delete or move them first", d.ID))
		assertError(t, db.DeleteHostType(ctx, ht.ID), dbplane.KindConflict,
			fmt.Sprintf("host type %d is used by 2 host(s): delete or move them first", ht.ID))

		// The agent that joins from the address adopts the record, and the
		// IDC's zone and region win over the agent's labels.
		mustJoinToken(t, db, "hash-1", testNow.Add(time.Hour))
		joined := joinHost("db1", "10.0.0.1")
		if err := db.JoinHost(ctx, "hash-1", testNow, joined); err != nil {
			t.Fatal(err)
		}
		if joined.ID != h.ID || joined.Zone != "hz1" || joined.Region != "cn-hangzhou" || !joined.Joined() {
			t.Fatalf("joined %+v; want host %d in hz1", joined, h.ID)
		}
		got, err := db.FindComputeHostByAddress(ctx, "10.0.0.1")
		if err != nil || got.ID != h.ID || got.Name != "db1" || got.Inventory.TypeID != ht.ID || got.Inventory.SSHPort != 22 {
			t.Fatalf("FindComputeHostByAddress = %+v, %v", got, err)
		}

		// Rollback forgets only hosts still NEW.
		if err := db.SetHostOnline(ctx, h.ID, dbplane.HostFacts{OS: "linux"}, testNow); err != nil {
			t.Fatal(err)
		}
		if gone, err := db.ForgetNewHost(ctx, h.ID); err != nil || gone {
			t.Fatalf("ForgetNewHost of an online host = %v, %v", gone, err)
		}
		if gone, err := db.ForgetNewHost(ctx, hosts[1].ID); err != nil || !gone {
			t.Fatalf("ForgetNewHost of a NEW host = %v, %v", gone, err)
		}
		if gone, err := db.ForgetNewHost(ctx, hosts[1].ID); err != nil || gone {
			t.Fatalf("ForgetNewHost of a gone host = %v, %v", gone, err)
		}
	})
}

func TestSetHostInventoryAndDeleteHosts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		_, d, ht := mustInventory(t, db)
		mustJoinToken(t, db, "hash-1", time.Now().Add(time.Hour))
		h := joinHost("db1", "127.0.0.11")
		if err := db.JoinHost(ctx, "hash-1", time.Now(), h); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindComputeHostByID(ctx, h.ID)
		if err != nil || got.Inventory.IDCID != 0 || got.IDCName != "" || got.Zone != "z1" {
			t.Fatalf("a host that joined on its own: %+v, %v", got, err)
		}
		inv := dbplane.HostInventory{IDCID: d.ID, TypeID: ht.ID, Kind: dbplane.HostKindPhysical, SSHPort: 22}
		got, err = db.SetHostInventory(ctx, h.ID, inv)
		if err != nil || got.Zone != "hz1" || got.Region != "cn-hangzhou" || got.IDCName != "hz1" || got.TypeName != "x86-large" {
			t.Fatalf("SetHostInventory = %+v, %v", got, err)
		}
		_, err = db.SetHostInventory(ctx, 999, inv)
		assertError(t, err, dbplane.KindNotFound, "host 999 not found")

		busy := mustInsertHost(t, db, "busy", "z1", dbplane.HostOnline)
		mustPlaceNode(t, db, busy)
		assertError(t, db.DeleteHosts(ctx, []int64{h.ID, busy}), dbplane.KindConflict,
			fmt.Sprintf("host %d carries 1 node(s): delete their clusters first", busy))
		if _, err := db.FindHostByID(ctx, h.ID); err != nil {
			t.Fatalf("a refused batch delete removed a host: %v", err)
		}
		if err := db.DeleteHosts(ctx, []int64{h.ID}); err != nil {
			t.Fatal(err)
		}
		if n := mustQueryInt(t, db, `SELECT COUNT(*) FROM host_inventory`); n != 0 {
			t.Fatalf("%d inventory rows outlive their host", n)
		}
		if err := db.DeleteIDC(ctx, d.ID); err != nil {
			t.Fatalf("the IDC of no host left: %v", err)
		}
	})
}
