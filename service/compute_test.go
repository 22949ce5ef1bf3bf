package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/dbplane/dbplane/taskengine"
)

// mustComputeInventory creates a region, an IDC and a host type as the
// system.
func mustComputeInventory(t *testing.T, c *service.Compute) (*dbplane.IDC, *dbplane.HostType) {
	t.Helper()
	r := &dbplane.Region{Name: "r1"}
	if err := c.CreateRegion(system(), r); err != nil {
		t.Fatal(err)
	}
	d := &dbplane.IDC{Name: "idc1", RegionID: r.ID}
	if err := c.CreateIDC(system(), d); err != nil {
		t.Fatal(err)
	}
	ht := &dbplane.HostType{Name: "t1"}
	if err := c.CreateHostType(system(), ht); err != nil {
		t.Fatal(err)
	}
	return d, ht
}

func registration(d *dbplane.IDC, ht *dbplane.HostType, addrs ...string) dbplane.HostRegistration {
	reg := dbplane.HostRegistration{Inventory: dbplane.HostInventory{IDCID: d.ID, TypeID: ht.ID,
		Kind: dbplane.HostKindPhysical, SSHPort: 22}}
	for _, a := range addrs {
		reg.Hosts = append(reg.Hosts, dbplane.HostAddress{Address: a})
	}
	return reg
}

func TestCompute_Authorization(t *testing.T) {
	w := newWorld(t)
	c := &service.Compute{Store: w.db}
	d, ht := mustComputeInventory(t, c)
	for _, tt := range []struct {
		name         string
		p            *dbplane.Principal
		read, manage dbplane.Kind
	}{
		{"GlobalViewer", w.gviewer, 0, dbplane.KindForbidden},
		{"ProjectAdmin", w.betaAdm, dbplane.KindForbidden, dbplane.KindForbidden},
		{"Nobody", w.nobody, dbplane.KindForbidden, dbplane.KindForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := as(tt.p)
			_, _, err := c.FindRegions(ctx, dbplane.ComputeFilter{})
			wantKind(t, err, tt.read, "")
			_, err = c.FindIDCByID(ctx, d.ID)
			wantKind(t, err, tt.read, "")
			_, _, err = c.FindHostTypes(ctx, dbplane.ComputeFilter{})
			wantKind(t, err, tt.read, "")
			_, _, err = c.FindComputeHosts(ctx, dbplane.ComputeFilter{})
			wantKind(t, err, tt.read, "")
			wantKind(t, c.CreateRegion(ctx, &dbplane.Region{Name: "r-" + tt.name}), tt.manage, "")
			wantKind(t, c.DeleteIDC(ctx, d.ID), tt.manage, "")
			wantKind(t, c.DeleteHostType(ctx, ht.ID), tt.manage, "")
			_, _, err = c.AddHosts(ctx, registration(d, ht, "10.1.0.1"))
			wantKind(t, err, tt.manage, "")
			_, _, err = c.ImportHost(ctx, "10.1.0.2", registration(d, ht).Inventory)
			wantKind(t, err, tt.manage, "")
			wantKind(t, c.DeleteHosts(ctx, []int64{1}), tt.manage, "")
		})
	}
	if _, total, err := c.FindComputeHosts(as(w.admin), dbplane.ComputeFilter{}); err != nil || total != 3 {
		t.Fatalf("refused calls changed the fleet: %d hosts, %v", total, err)
	}
}

func TestAddHosts_Validation(t *testing.T) {
	c := &service.Compute{Store: mustOpenStore(t)}
	d, ht := mustComputeInventory(t, c)
	many := registration(d, ht)
	for i := range dbplane.MaxHostsPerAdd + 1 {
		many.Hosts = append(many.Hosts, dbplane.HostAddress{Address: fmt.Sprintf("10.0.1.%d", i+1)})
	}
	container := registration(d, ht, "10.0.0.9")
	container.Inventory.Kind, container.Inventory.PublishPorts = dbplane.HostKindContainer, []string{"8080:8080", "80"}
	for _, tt := range []struct {
		name   string
		reg    dbplane.HostRegistration
		fields []string
	}{
		{"NoHosts", registration(d, ht), []string{"hosts"}},
		{"TooMany", many, []string{"hosts"}},
		{"NotIPs", registration(d, ht, "db1.example.com", "0.0.0.0"), []string{"hosts[0].address", "hosts[1].address"}},
		{"Twice", registration(d, ht, "10.0.0.1", "10.0.0.1"), []string{"hosts[1].address"}},
		{"Inventory", dbplane.HostRegistration{Hosts: []dbplane.HostAddress{{Address: "10.0.0.1", SerialNumber: strings.Repeat("s", 65)}},
			Inventory: dbplane.HostInventory{Kind: "VM", SSHPort: 70000, VpcID: -1, PublishPorts: []string{"1:1"}}},
			[]string{"hosts[0].serial_number", "kind", "ssh_port", "idc_id", "type_id", "vpc_id", "publish_ports"}},
		{"PublishPorts", container, []string{"publish_ports[1]"}},
		{"MissingIDC", registration(&dbplane.IDC{ID: 404}, ht, "10.0.0.1"), []string{"idc_id"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.AddHosts(system(), tt.reg)
			wantKind(t, err, dbplane.KindInvalid, "")
			for _, f := range tt.fields {
				wantField(t, err, f)
			}
		})
	}
	if _, total, _ := c.FindComputeHosts(system(), dbplane.ComputeFilter{}); total != 0 {
		t.Fatalf("invalid adds registered %d hosts", total)
	}
}

// addFixture is a Compute and Hosts service on one store, with a task
// engine running the host add steps, which poll every 50ms for up to
// 500ms.
type addFixture struct {
	db      *sqlstore.DB
	compute *service.Compute
	hosts   *hostsFixture
}

func newAddFixture(t *testing.T) *addFixture {
	t.Helper()
	hf := newHostsFixture(t)
	e := taskengine.New(hf.db, taskengine.Config{Poll: 10 * time.Millisecond, Lease: time.Second,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }, Logger: slog.New(slog.DiscardHandler)})
	(&service.HostAddSteps{Store: hf.db, JoinURL: "https://cp.example:8443", CAFingerprint: "AB:CD"}).Register(e)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
	})
	return &addFixture{db: hf.db, hosts: hf, compute: &service.Compute{Store: hf.db, Wake: e.Notify,
		AgentWait: 500 * time.Millisecond, AgentWaitInterval: 50 * time.Millisecond}}
}

// waitTaskStatus polls a task until it has status.
func waitTaskStatus(t *testing.T, db *sqlstore.DB, id int64, status dbplane.TaskStatus) *dbplane.Task {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		task, err := db.FindTaskByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if task.Status == status {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %d is %s, want %s: %+v", id, task.Status, status, task.Subtasks[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subtaskLog returns the log of a task's first subtask as one text.
func subtaskLog(t *testing.T, db *sqlstore.DB, task *dbplane.Task) string {
	t.Helper()
	lines, err := db.SubtaskLog(context.Background(), task.ID, task.Subtasks[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Message + "\n")
	}
	return b.String()
}

// TestAddHostsWaitsForTheAgent adds a host whose agent joins while the
// task waits: the join adopts the registered record, and once the agent
// answers a health check the task succeeds. The waiting step's log says
// what to run on the host, without a token.
func TestAddHostsWaitsForTheAgent(t *testing.T) {
	f := newAddFixture(t)
	f.compute.AgentWait = time.Minute
	d, ht := mustComputeInventory(t, f.compute)
	reg := registration(d, ht, "10.0.0.1")
	reg.Inventory.Alias = "db-one"
	task, hosts, err := f.compute.AddHosts(system(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if task.Kind != dbplane.TaskKindHostAdd || len(task.Subtasks) != 1 || task.Context["host_ids"] != fmt.Sprint(hosts[0].ID) ||
		hosts[0].Status != dbplane.HostNew || hosts[0].Zone != "idc1" || hosts[0].Inventory.Alias != "db-one" {
		t.Fatalf("task %+v, hosts %+v", task, hosts[0])
	}
	_, _, err = f.compute.AddHosts(system(), reg)
	wantKind(t, err, dbplane.KindConflict, fmt.Sprintf("address 10.0.0.1 is registered already, as host %d", hosts[0].ID))

	var log string
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(log, "dbplane agent") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		log = subtaskLog(t, f.db, task)
	}
	for _, want := range []string{"dbplane host join-token create",
		"dbplane agent --join https://cp.example:8443 --ca-sha256 AB:CD --token TOKEN --listen 10.0.0.1:7070"} {
		if !strings.Contains(log, want) {
			t.Fatalf("log lacks %q:\n%s", want, log)
		}
	}

	token := f.hosts.mustToken(t)
	joined, err := f.hosts.svc.Join(context.Background(), joinRequest(t, token, "db1", "10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if joined.HostID != hosts[0].ID {
		t.Fatalf("the join made host %d; want it to adopt host %d", joined.HostID, hosts[0].ID)
	}
	if err := f.db.SetHostOnline(context.Background(), joined.HostID, dbplane.HostFacts{OS: "linux"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	done := waitTaskStatus(t, f.db, task.ID, dbplane.TaskSuccessful)
	if log := subtaskLog(t, f.db, done); strings.Contains(log, token) || !strings.Contains(log, "joined and answers") {
		t.Fatalf("log after the join:\n%s", log)
	}
	h, err := f.compute.FindComputeHostByID(system(), joined.HostID)
	if err != nil || h.Name != "db1" || h.Zone != "idc1" || h.Region != "r1" || h.IDCName != "idc1" || h.TypeName != "t1" {
		t.Fatalf("host %+v, %v", h, err)
	}
}

// TestAddHostsTimesOutAndRollsBack adds a host whose agent never joins:
// the wait ends FAILED, and the rollback removes the host, still NEW.
func TestAddHostsTimesOutAndRollsBack(t *testing.T) {
	f := newAddFixture(t)
	d, ht := mustComputeInventory(t, f.compute)
	task, hosts, err := f.compute.AddHosts(system(), registration(d, ht, "10.0.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	failed := waitTaskStatus(t, f.db, task.ID, dbplane.TaskFailed)
	if st := failed.Subtasks[0]; st.Error != "no dbplane agent has joined from 10.0.0.2 yet" || st.Attempts != 10 {
		t.Fatalf("subtask failed after %d attempts with %q", st.Attempts, st.Error)
	}
	if _, err := f.db.RollbackTask(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	waitTaskStatus(t, f.db, task.ID, dbplane.TaskSuccessful)
	_, err = f.compute.FindComputeHostByID(system(), hosts[0].ID)
	wantKind(t, err, dbplane.KindNotFound, "")
}

func TestImportHost(t *testing.T) {
	f := newAddFixture(t)
	d, ht := mustComputeInventory(t, f.compute)
	inv := registration(d, ht).Inventory

	// An agent that joined on its own is taken in, moved to the IDC.
	joined, err := f.hosts.svc.Join(context.Background(), joinRequest(t, f.hosts.mustToken(t), "db1", "10.0.0.5"))
	if err != nil {
		t.Fatal(err)
	}
	h, task, err := f.compute.ImportHost(system(), "10.0.0.5", inv)
	if err != nil || task != nil || h.ID != joined.HostID || h.Zone != "idc1" || h.TypeName != "t1" {
		t.Fatalf("import of a joined host = %+v, %+v, %v", h, task, err)
	}

	// An address without an agent is registered, with a task.
	h, task, err = f.compute.ImportHost(system(), "10.0.0.6", inv)
	if err != nil || task == nil || h.Status != dbplane.HostNew || h.Address != "10.0.0.6" {
		t.Fatalf("import of an unknown address = %+v, %+v, %v", h, task, err)
	}
	_, _, err = f.compute.ImportHost(system(), "10.0.0.6", inv)
	wantKind(t, err, dbplane.KindConflict, "")
	_, _, err = f.compute.ImportHost(system(), "nowhere", inv)
	wantField(t, err, "hosts[0].address")
}

func TestDeleteHostsValidation(t *testing.T) {
	c := &service.Compute{Store: mustOpenStore(t)}
	for _, ids := range [][]int64{nil, {0}, {1, 1}} {
		err := c.DeleteHosts(system(), ids)
		wantKind(t, err, dbplane.KindInvalid, "")
	}
	wantKind(t, c.DeleteHosts(system(), []int64{42}), dbplane.KindNotFound, "host 42 not found")
}

// TestHealthSkipsHostsWithoutAgent checks that a host registered by
// address, whose agent has not joined, is not dialed and stays NEW.
func TestHealthSkipsHostsWithoutAgent(t *testing.T) {
	db := mustOpenStore(t)
	c := &service.Compute{Store: db}
	d, ht := mustComputeInventory(t, c)
	_, hosts, err := c.AddHosts(system(), registration(d, ht, "10.0.0.7"))
	if err != nil {
		t.Fatal(err)
	}
	dialer := &fakeDialer{agents: map[int64]*fakeAgent{}, calls: map[int64]int{}}
	m := &service.HealthMonitor{Store: db, Dialer: dialer}
	if err := m.CheckAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := db.FindHostByID(context.Background(), hosts[0].ID)
	if err != nil || h.Status != dbplane.HostNew || dialer.calls[h.ID] != 0 {
		t.Fatalf("host %+v (%v) dialed %d times", h, err, dialer.calls[hosts[0].ID])
	}
}
