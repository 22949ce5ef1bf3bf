package service_test

import (
	"context"
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/sqlstore"
)

// fakeEngine plans one step per node, so that tests see how the service
// composes an engine's steps with its own.
type fakeEngine struct{}

func (fakeEngine) PlanCreate(c *dbplane.Cluster) []dbplane.PlanStep {
	var steps []dbplane.PlanStep
	for _, n := range c.Nodes {
		steps = append(steps, dbplane.PlanStep{Key: "start-" + n.Role + string(rune('0'+n.Ordinal)), Name: "start", Handler: "fake.start"})
	}
	return steps
}

func (fakeEngine) PlanDelete(c *dbplane.Cluster) []dbplane.PlanStep {
	return []dbplane.PlanStep{{Key: "stop", Name: "stop", Handler: "fake.stop"}}
}

func (fakeEngine) Endpoints(c *dbplane.Cluster) *dbplane.Endpoints {
	return &dbplane.Endpoints{Primary: c.Nodes[0].Address}
}

// CheckParameters refuses the port, as the real engines do, so that tests
// see a refused parameter answer at once.
func (fakeEngine) CheckParameters(params map[string]string) error {
	if _, ok := params["port"]; ok {
		return dbplane.Permanent(dbplane.Invalid(dbplane.FieldError{Field: "parameters[port]", Message: "is set by dbplane"}))
	}
	return nil
}

func newService(t *testing.T) (*service.Service, *sqlstore.DB) {
	t.Helper()
	db := mustOpenStore(t)
	return &service.Service{Store: db, Catalog: dbplane.DefaultCatalog(),
		Engines: map[string]service.ClusterEngine{dbplane.EnginePostgreSQL: fakeEngine{}}}, db
}

func addHost(t *testing.T, db *sqlstore.DB, addr, zone string) {
	t.Helper()
	if _, err := db.SQL().Exec(`INSERT INTO hosts (name, address, agent_port, data_root, zone, cpus, memory_mb, disk_gb,
		status, created_at, updated_at) VALUES (?, ?, 7070, '/data', ?, 4, 16384, 500, 'ONLINE', 1, 1)`, addr, addr, zone); err != nil {
		t.Fatal(err)
	}
}

func spec(name string, nodes int) dbplane.ClusterSpec {
	return dbplane.ClusterSpec{Name: name, Engine: dbplane.EnginePostgreSQL, Version: "15", Topology: dbplane.TopologyReplication,
		Nodes: nodes, ReplicationMode: dbplane.ReplicationSync, Flavor: "dbp.c2.m4", VolumeGB: 20, Password: "Secret-Passw0rd"}
}

func TestCreateClusterPlacesAndPlans(t *testing.T) {
	svc, db := newService(t)
	for i, z := range []string{"z1", "z2", "z3"} {
		addHost(t, db, "127.0.0."+string(rune('1'+i)), z)
	}
	ctx := service.SystemContext(context.Background())
	c, task, err := svc.CreateCluster(ctx, spec("orders", 3), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Nodes) != 3 || c.Nodes[0].Role != "primary" || c.Endpoints == nil || c.Endpoints.Primary != c.Nodes[0].Address {
		t.Fatalf("cluster nodes %+v endpoints %+v; want 3 placed nodes and the primary's endpoint", c.Nodes, c.Endpoints)
	}
	last := task.Subtasks[len(task.Subtasks)-1]
	if last.Handler != service.HandlerMarkRunning || len(last.Upstreams) != 3 {
		t.Fatalf("last step %s after %v; want mark_running after the 3 engine steps", last.Handler, last.Upstreams)
	}
	got, err := svc.FindClusterByID(ctx, c.ID)
	if err != nil || len(got.Nodes) != 3 || got.Endpoints == nil {
		t.Fatalf("stored cluster %+v, %v; want its 3 nodes and endpoints", got, err)
	}

	del, err := svc.DeleteCluster(ctx, c.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	handlers := []string{}
	for _, s := range del.Subtasks {
		handlers = append(handlers, s.Handler)
	}
	if !slices.Equal(handlers, []string{"fake.stop", service.HandlerReleaseNodes}) || !del.ProhibitRollback {
		t.Fatalf("delete plan %v (prohibit rollback %v); want the engine's stop, then release, no rollback", handlers, del.ProhibitRollback)
	}
}

// TestCreateClusterUnplaceable: a fleet too small for the cluster answers
// unplaceable at once, and nothing is stored.
func TestCreateClusterUnplaceable(t *testing.T) {
	svc, db := newService(t)
	addHost(t, db, "127.0.0.1", "z1")
	_, _, err := svc.CreateCluster(service.SystemContext(context.Background()), spec("orders", 3), false)
	if dbplane.ErrorKind(err) != dbplane.KindUnplaceable {
		t.Fatalf("err %v; want unplaceable", err)
	}
	if _, total, _ := svc.FindClusters(service.SystemContext(context.Background()), dbplane.ClusterFilter{}); total != 0 {
		t.Fatalf("%d clusters stored after an unplaceable create", total)
	}
}

// TestCreateClusterSharesHostsWithFreePorts: a second cluster on the same
// hosts gets the next free ports.
func TestCreateClusterSharesHostsWithFreePorts(t *testing.T) {
	svc, db := newService(t)
	addHost(t, db, "127.0.0.1", "z1")
	ctx := service.SystemContext(context.Background())
	s1 := spec("first", 1)
	s1.Topology, s1.ReplicationMode = dbplane.TopologyStandalone, ""
	a, _, err := svc.CreateCluster(ctx, s1, false)
	if err != nil {
		t.Fatal(err)
	}
	s1.Name = "second"
	b, _, err := svc.CreateCluster(ctx, s1, false)
	if err != nil {
		t.Fatal(err)
	}
	if a.Nodes[0].Port == b.Nodes[0].Port {
		t.Fatalf("both clusters got port %d on one host", a.Nodes[0].Port)
	}
}

func TestCreateClusterUnknownEngine(t *testing.T) {
	svc, _ := newService(t)
	s := spec("cache", 1)
	s.Engine, s.Topology, s.ReplicationMode, s.Version = dbplane.EngineRedis, dbplane.TopologyStandalone, "", ""
	_, _, err := svc.CreateCluster(service.SystemContext(context.Background()), s, false)
	if fields := dbplane.ErrorFields(err); len(fields) != 1 || fields[0].Field != "engine" {
		t.Fatalf("err %v; want an invalid engine field naming what is available", err)
	}
}
