package ocp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/compat/ocp"
	"github.com/dbplane/dbplane/frontdoor"
)

// fakeCompute keeps regions, IDCs and host types in memory as the service
// would, and answers host calls with the functions a test sets.
type fakeCompute struct {
	dbplane.ComputeService
	regions []*dbplane.Region
	idcs    []*dbplane.IDC
	types   []*dbplane.HostType
	hosts   []*dbplane.ComputeHost
	add     func(reg dbplane.HostRegistration) (*dbplane.Task, []*dbplane.ComputeHost, error)
	imp     func(address string, inv dbplane.HostInventory) (*dbplane.ComputeHost, *dbplane.Task, error)
	del     func(ids []int64) error
}

var created = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func (f *fakeCompute) CreateRegion(ctx context.Context, r *dbplane.Region) error {
	if r.Name == "" {
		return dbplane.Invalid(dbplane.FieldError{Field: "name", Message: "must not be blank"})
	}
	for _, o := range f.regions {
		if o.Name == r.Name {
			return dbplane.Errorf(dbplane.KindConflict, "a region named %q exists already", r.Name)
		}
	}
	r.ID, r.CreatedAt, r.UpdatedAt = int64(len(f.regions)+1), created.Add(time.Duration(len(f.regions))*time.Hour), created
	f.regions = append(f.regions, r)
	return nil
}

func (f *fakeCompute) FindRegions(ctx context.Context, fl dbplane.ComputeFilter) ([]*dbplane.Region, int, error) {
	return page(f.regions, fl), len(f.regions), nil
}

func (f *fakeCompute) FindRegionByID(ctx context.Context, id int64) (*dbplane.Region, error) {
	for _, r := range f.regions {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, dbplane.Errorf(dbplane.KindNotFound, "region %d not found", id)
}

func (f *fakeCompute) DeleteRegion(ctx context.Context, id int64) error {
	if _, err := f.FindRegionByID(ctx, id); err != nil {
		return err
	}
	for _, d := range f.idcs {
		if d.RegionID == id {
			return dbplane.Errorf(dbplane.KindConflict, "region %d is used by IDC(s)", id)
		}
	}
	f.regions = slices.DeleteFunc(f.regions, func(r *dbplane.Region) bool { return r.ID == id })
	return nil
}

func (f *fakeCompute) CreateIDC(ctx context.Context, d *dbplane.IDC) error {
	r, err := f.FindRegionByID(ctx, d.RegionID)
	if err != nil {
		return dbplane.Invalid(dbplane.FieldError{Field: "region_id", Message: "no region has this id"})
	}
	d.ID, d.RegionName, d.CreatedAt, d.UpdatedAt = int64(len(f.idcs)+1), r.Name, created, created
	f.idcs = append(f.idcs, d)
	return nil
}

func (f *fakeCompute) FindIDCs(ctx context.Context, fl dbplane.ComputeFilter) ([]*dbplane.IDC, int, error) {
	return page(f.idcs, fl), len(f.idcs), nil
}

func (f *fakeCompute) CreateHostType(ctx context.Context, t *dbplane.HostType) error {
	t.ID, t.CreatedAt, t.UpdatedAt = int64(len(f.types)+1), created, created
	f.types = append(f.types, t)
	return nil
}

func (f *fakeCompute) FindHostTypeByID(ctx context.Context, id int64) (*dbplane.HostType, error) {
	for _, t := range f.types {
		if t.ID == id {
			return t, nil
		}
	}
	return nil, dbplane.Errorf(dbplane.KindNotFound, "host type %d not found", id)
}

func (f *fakeCompute) FindComputeHosts(ctx context.Context, fl dbplane.ComputeFilter) ([]*dbplane.ComputeHost, int, error) {
	return page(f.hosts, fl), len(f.hosts), nil
}

func (f *fakeCompute) FindComputeHostByID(ctx context.Context, id int64) (*dbplane.ComputeHost, error) {
	for _, h := range f.hosts {
		if h.ID == id {
			return h, nil
		}
	}
	return nil, dbplane.Errorf(dbplane.KindNotFound, "host %d not found", id)
}

func (f *fakeCompute) AddHosts(ctx context.Context, reg dbplane.HostRegistration) (*dbplane.Task, []*dbplane.ComputeHost, error) {
	return f.add(reg)
}

func (f *fakeCompute) ImportHost(ctx context.Context, address string, inv dbplane.HostInventory) (*dbplane.ComputeHost, *dbplane.Task, error) {
	return f.imp(address, inv)
}

func (f *fakeCompute) DeleteHosts(ctx context.Context, ids []int64) error { return f.del(ids) }

// page is the page fl asks of items, as a store returns it.
func page[T any](items []T, fl dbplane.ComputeFilter) []T {
	from := min(fl.Offset, len(items))
	return items[from:min(from+fl.Limit, len(items))]
}

// newComputeFixture is newFixture with a compute service.
func newComputeFixture(t *testing.T) (*fixture, *fakeCompute) {
	t.Helper()
	f := &fixture{clusters: &fakeClusters{}, tasks: &fakeTasks{}, hosts: &fakeHosts{hosts: map[int64]*dbplane.Host{}}}
	c := &fakeCompute{}
	s := &ocp.Server{Clusters: f.clusters, Tasks: f.tasks, Hosts: f.hosts, Auth: fakeAuth{}, Compute: c,
		AuditRecorder: frontdoor.RecorderFunc(func(_ context.Context, e *dbplane.AuditEvent) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.audit = append(f.audit, *e)
		}),
		Security: frontdoor.Config{FailureLimit: frontdoor.Off}}
	f.srv = httptest.NewServer(s.Handler())
	t.Cleanup(f.srv.Close)
	return f, c
}

func (f *fixture) del(t *testing.T, path string) *answer {
	t.Helper()
	return send(t, basic(f.request(t, http.MethodDelete, path, nil), testUser, testPassword))
}

// wantFields fails unless the sub errors name exactly fields.
func wantFields(t *testing.T, got []string, fields ...string) {
	t.Helper()
	if !slices.Equal(got, fields) {
		t.Fatalf("sub errors name %q, want %q", got, fields)
	}
}

// pageOf is a paginated list's data.
type pageOf[T any] struct {
	Contents []T
	Page     struct{ TotalElements, TotalPages, Number, Size int }
}

func TestRegions(t *testing.T) {
	f, _ := newComputeFixture(t)
	for _, name := range []string{"cn-hangzhou", "ap-singapore", "eu-frankfurt"} {
		a := f.post(t, "/api/v2/compute/regions", []byte(`{"name":"`+name+`","description":"d"}`))
		r := decodeData[map[string]any](t, a)
		if a.HTTPStatus != http.StatusOK || r["name"] != name || r["description"] != "d" || r["createTime"] == nil || r["updateTime"] == nil {
			t.Fatalf("create %s answered %d %v", name, a.HTTPStatus, r)
		}
	}
	wantError(t, f.post(t, "/api/v2/compute/regions", []byte(`{"name":"cn-hangzhou"}`)), http.StatusConflict, 10003)
	wantFields(t, wantError(t, f.post(t, "/api/v2/compute/regions", []byte(`{"description":"x"}`)), http.StatusBadRequest, 10001), "name")
	wantFields(t, wantError(t, f.post(t, "/api/v2/compute/regions", []byte(`{"name":"x","zone":"z"}`)), http.StatusBadRequest, 10001), "zone")

	a := f.get(t, "/api/v2/compute/regions?sort=name,desc&size=2&page=2")
	p := decodeData[pageOf[struct {
		ID   int64
		Name string
	}]](t, a)
	if len(p.Contents) != 1 || p.Contents[0].Name != "ap-singapore" || p.Page.TotalElements != 3 || p.Page.TotalPages != 2 || p.Page.Number != 2 {
		t.Fatalf("page 2 by name desc: %+v", p)
	}
	wantFields(t, wantError(t, f.get(t, "/api/v2/compute/regions?sort=color,asc"), http.StatusBadRequest, 10001), "sort")

	g := decodeData[struct {
		ID   int64
		Name string
	}](t, f.get(t, "/api/v2/compute/regions/2"))
	if g.ID != 2 || g.Name != "ap-singapore" {
		t.Fatalf("get region 2: %+v", g)
	}
	wantError(t, f.get(t, "/api/v2/compute/regions/99"), http.StatusNotFound, 10002)
	wantFields(t, wantError(t, f.get(t, "/api/v2/compute/regions/x"), http.StatusBadRequest, 10001), "regionId")

	// A region that holds an IDC cannot go; an IDC needs its region.
	a = f.post(t, "/api/v2/compute/idcs", []byte(`{"name":"hz1","regionId":1}`))
	d := decodeData[map[string]any](t, a)
	if d["regionName"] != "cn-hangzhou" || d["regionId"] != float64(1) {
		t.Fatalf("created IDC %v", d)
	}
	wantFields(t, wantError(t, f.post(t, "/api/v2/compute/idcs", []byte(`{"name":"x","regionId":42}`)), http.StatusBadRequest, 10001), "regionId")
	wantError(t, f.del(t, "/api/v2/compute/regions/1"), http.StatusConflict, 10003)
	if a := f.del(t, "/api/v2/compute/regions/3"); a.HTTPStatus != http.StatusOK || a.Raw["data"] != nil {
		t.Fatalf("delete answered %d with data %s", a.HTTPStatus, a.Data)
	}
	wantError(t, f.del(t, "/api/v2/compute/regions/3"), http.StatusNotFound, 10002)

	lst := decodeData[pageOf[map[string]any]](t, f.get(t, "/api/v2/compute/idcs?sort=updateTime,desc"))
	if len(lst.Contents) != 1 || lst.Contents[0]["name"] != "hz1" {
		t.Fatalf("IDC list %+v", lst)
	}
	ht := decodeData[map[string]any](t, f.post(t, "/api/v2/compute/hostTypes", []byte(`{"name":"x86","description":"big"}`)))
	if ht["name"] != "x86" || ht["id"] != float64(1) {
		t.Fatalf("host type %v", ht)
	}
	if g := decodeData[map[string]any](t, f.get(t, "/api/v2/compute/hostTypes/1")); g["description"] != "big" {
		t.Fatalf("get host type %v", g)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.audit[0]; e.Action != "region.create" {
		t.Fatalf("first audit event %+v", e)
	}
}

// computeHost is a host in IDC hz1 of region r1, of type x86.
func computeHost(id int64, name, address string, status dbplane.HostStatus, drained bool) *dbplane.ComputeHost {
	return &dbplane.ComputeHost{
		Host: dbplane.Host{ID: id, Name: name, Address: address, Status: status, Drained: drained, OS: "linux",
			Arch: "x86_64", Zone: "hz1", Region: "r1", CreatedAt: created.Add(time.Duration(id) * time.Minute), UpdatedAt: created},
		Inventory: dbplane.HostInventory{IDCID: 3, TypeID: 4, Kind: dbplane.HostKindPhysical, SSHPort: 22, Alias: "a" + name},
		IDCName:   "hz1", RegionID: 2, RegionName: "r1", TypeName: "x86",
	}
}

func TestHostList(t *testing.T) {
	f, c := newComputeFixture(t)
	c.hosts = []*dbplane.ComputeHost{
		computeHost(1, "db-a", "10.0.0.3", dbplane.HostOnline, false),
		computeHost(2, "db-b", "10.0.0.1", dbplane.HostOnline, true),
		computeHost(3, "10.0.0.2", "10.0.0.2", dbplane.HostNew, false),
		computeHost(4, "db-c", "10.0.1.9", dbplane.HostOffline, false),
	}
	type row struct {
		ID             int64
		Name, Status   string
		InnerIPAddress string `json:"innerIpAddress"`
	}
	ids := func(path string) []int64 {
		t.Helper()
		a := f.get(t, path)
		if a.HTTPStatus != http.StatusOK {
			t.Fatalf("%s answered %d %+v", path, a.HTTPStatus, a.Error)
		}
		var out []int64
		for _, r := range decodeData[pageOf[row]](t, a).Contents {
			out = append(out, r.ID)
		}
		return out
	}
	for path, want := range map[string][]int64{
		"/api/v2/compute/hosts":                                     {1, 2, 3, 4},
		"/api/v2/compute/hosts?status=AVAILABLE":                    {1},
		"/api/v2/compute/hosts?status=ONLINE,NEW":                   {2, 3},
		"/api/v2/compute/hosts?keyword=DB-":                         {1, 2, 4},
		"/api/v2/compute/hosts?keyword=10.0.0.2":                    {3},
		"/api/v2/compute/hosts?sort=innerIpAddress,desc":            {4, 1, 3, 2},
		"/api/v2/compute/hosts?sort=status,asc&sort=id,desc&size=2": {1, 3},
		"/api/v2/compute/hosts?size=3&page=2":                       {4},
	} {
		if got := ids(path); !slices.Equal(got, want) {
			t.Errorf("%s: hosts %v, want %v", path, got, want)
		}
	}
	wantFields(t, wantError(t, f.get(t, "/api/v2/compute/hosts?sort=cpu,asc"), http.StatusBadRequest, 10001), "sort")
	wantFields(t, wantError(t, f.get(t, "/api/v2/compute/hosts?status=UP"), http.StatusBadRequest, 10001), "status")
	wantFields(t, wantError(t, f.get(t, "/api/v2/compute/hosts?size=2001"), http.StatusBadRequest, 10001), "size")

	h := decodeData[map[string]any](t, f.get(t, "/api/v2/compute/hosts/2"))
	for k, want := range map[string]any{"name": "db-b", "alias": "adb-b", "innerIpAddress": "10.0.0.1", "status": "ONLINE",
		"idcId": float64(3), "idcName": "hz1", "regionId": float64(2), "regionName": "r1", "typeId": float64(4),
		"typeName": "x86", "kind": dbplane.HostKindPhysical, "sshPort": float64(22), "operatingSystem": "linux",
		"architecture": "x86_64"} {
		if h[k] != want {
			t.Errorf("host field %s = %v, want %v", k, h[k], want)
		}
	}
	if _, ok := h["services"].([]any); !ok {
		t.Errorf("services %v is not an array", h["services"])
	}
	wantError(t, f.get(t, "/api/v2/compute/hosts/9"), http.StatusNotFound, 10002)
}

// addTask is the task an add answers.
func addTask(hosts ...*dbplane.ComputeHost) *dbplane.Task {
	t := &dbplane.Task{ID: 70, Name: "Add hosts", Kind: dbplane.TaskKindHostAdd, Status: dbplane.TaskRunning,
		Operation: dbplane.OpExecute, CreatedAt: created}
	for _, h := range hosts {
		t.Subtasks = append(t.Subtasks, &dbplane.Subtask{ID: 700 + h.ID, Name: "Wait for the agent of host " + h.Address,
			Status: dbplane.SubtaskReady, Operation: dbplane.OpExecute})
	}
	return t
}

func TestHostBatchCreate(t *testing.T) {
	f, c := newComputeFixture(t)
	var got dbplane.HostRegistration
	c.add = func(reg dbplane.HostRegistration) (*dbplane.Task, []*dbplane.ComputeHost, error) {
		got = reg
		if reg.Hosts[0].Address == "bad" {
			return nil, nil, dbplane.Invalid(dbplane.FieldError{Field: "hosts[0].address", Message: "must be an IP"},
				dbplane.FieldError{Field: "ssh_port", Message: "must be between 1 and 65535"})
		}
		if reg.Hosts[0].Address == "10.0.0.9" {
			return nil, nil, dbplane.Errorf(dbplane.KindConflict, "address 10.0.0.9 is registered already")
		}
		var hosts []*dbplane.ComputeHost
		for i, h := range reg.Hosts {
			hosts = append(hosts, computeHost(int64(i+10), h.Address, h.Address, dbplane.HostNew, false))
		}
		return addTask(hosts...), hosts, nil
	}
	body := `{"hostBasicDataList":[{"innerIpAddress":"10.0.0.1","serialNumber":"SN1"},{"innerIpAddress":"10.0.0.2"}],
		"sshPort":22,"kind":"DEDICATED_CONTAINER","idcId":3,"typeId":4,"credentialId":1,"alias":"web","description":"d",
		"vpcId":1,"publishPorts":["8080:8080"]}`
	a := f.post(t, "/api/v2/compute/hosts/batchCreate", []byte(body))
	task := decodeData[struct {
		ID      int64
		Status  string
		HostIDs []int64 `json:"hostIds"`
		Tasks   []struct{ ID int64 }
	}](t, a)
	if task.ID != 70 || task.Status != "RUNNING" || !slices.Equal(task.HostIDs, []int64{10, 11}) || len(task.Tasks) != 2 {
		t.Fatalf("batch create answered %+v", task)
	}
	want := dbplane.HostRegistration{
		Hosts: []dbplane.HostAddress{{Address: "10.0.0.1", SerialNumber: "SN1"}, {Address: "10.0.0.2"}},
		Inventory: dbplane.HostInventory{IDCID: 3, TypeID: 4, Kind: dbplane.HostKindContainer, SSHPort: 22, Alias: "web",
			Description: "d", VpcID: 1, PublishPorts: []string{"8080:8080"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("registration %+v, want %+v", got, want)
	}

	bad := strings.Replace(body, `"10.0.0.1"`, `"bad"`, 1)
	wantFields(t, wantError(t, f.post(t, "/api/v2/compute/hosts/batchCreate", []byte(bad)), http.StatusBadRequest, 10001),
		"hostBasicDataList[0].innerIpAddress", "sshPort")
	noCred := strings.Replace(body, `"credentialId":1,`, "", 1)
	wantFields(t, wantError(t, f.post(t, "/api/v2/compute/hosts/batchCreate", []byte(noCred)), http.StatusBadRequest, 10001),
		"credentialId")
	wantFields(t, wantError(t, f.post(t, "/api/v2/compute/hosts/batchCreate", []byte(`{"sshPort":"22"}`)), http.StatusBadRequest, 10001),
		"sshPort")
	taken := strings.Replace(body, `"10.0.0.1"`, `"10.0.0.9"`, 1)
	wantError(t, f.post(t, "/api/v2/compute/hosts/batchCreate", []byte(taken)), http.StatusConflict, 10003)

	// A single add is a batch of one, by ipAddress.
	a = f.post(t, "/api/v2/compute/hosts", []byte(`{"ipAddress":"10.0.0.5","sshPort":22,"kind":"DEDICATED_ECS","idcId":3,"typeId":4,"credentialId":2}`))
	if one := decodeData[struct {
		HostIDs []int64 `json:"hostIds"`
	}](t, a); len(one.HostIDs) != 1 || got.Hosts[0].Address != "10.0.0.5" {
		t.Fatalf("single add answered %+v for %+v", one, got)
	}
	wantFields(t, wantError(t, f.post(t, "/api/v2/compute/hosts", []byte(`{"ipAddress":"bad","sshPort":0,"kind":"DEDICATED_ECS","idcId":3,"typeId":4,"credentialId":2}`)),
		http.StatusBadRequest, 10001), "ipAddress", "sshPort")
}

func TestHostImportAndDelete(t *testing.T) {
	f, c := newComputeFixture(t)
	c.imp = func(address string, inv dbplane.HostInventory) (*dbplane.ComputeHost, *dbplane.Task, error) {
		if inv.Kind != dbplane.HostKindPhysical || inv.SSHPort != 22 || inv.IDCID != 3 {
			return nil, nil, fmt.Errorf("inventory %+v lacks the defaults", inv)
		}
		h := computeHost(5, "db5", address, dbplane.HostOnline, false)
		if address == "10.0.0.5" {
			return h, nil, nil
		}
		h.Status = dbplane.HostNew
		return h, addTask(h), nil
	}
	a := f.post(t, "/api/v2/compute/hosts/import", []byte(`{"ipAddress":"10.0.0.5","hostname":"db5","status":"AVAILABLE",
		"hostAgent":{"version":"4.2"},"idcId":3,"typeId":4}`))
	if h := decodeData[map[string]any](t, a); h["status"] != "AVAILABLE" || h["innerIpAddress"] != "10.0.0.5" {
		t.Fatalf("import of a joined host answered %v", h)
	}
	a = f.post(t, "/api/v2/compute/hosts/import", []byte(`{"ipAddress":"10.0.0.6","idcId":3,"typeId":4}`))
	if task := decodeData[struct {
		Status  string
		HostIDs []int64 `json:"hostIds"`
	}](t, a); task.Status != "RUNNING" || len(task.HostIDs) != 1 {
		t.Fatalf("import of a new address answered %+v", task)
	}

	var deleted []int64
	c.del = func(ids []int64) error {
		if slices.Contains(ids, 9) {
			return dbplane.Errorf(dbplane.KindNotFound, "host 9 not found")
		}
		if slices.Contains(ids, 8) {
			return dbplane.Errorf(dbplane.KindConflict, "host 8 carries 1 node(s)")
		}
		if slices.Contains(ids, 0) {
			return dbplane.Invalid(dbplane.FieldError{Field: "ids[1]", Message: "must be a positive host id"})
		}
		deleted = append(deleted, ids...)
		return nil
	}
	if a := f.del(t, "/api/v2/compute/hosts/5"); a.HTTPStatus != http.StatusOK {
		t.Fatalf("delete answered %d", a.HTTPStatus)
	}
	wantError(t, f.del(t, "/api/v2/compute/hosts/9"), http.StatusNotFound, 10002)
	wantError(t, f.post(t, "/api/v2/compute/hosts/batchDelete", []byte(`{"hostIdList":[6,8]}`)), http.StatusConflict, 10003)
	wantFields(t, wantError(t, f.post(t, "/api/v2/compute/hosts/batchDelete", []byte(`{"hostIdList":[6,0]}`)), http.StatusBadRequest, 10001),
		"hostIdList[1]")
	if a := f.post(t, "/api/v2/compute/hosts/batchDelete", []byte(`{"hostIdList":[6,7]}`)); a.HTTPStatus != http.StatusOK || !slices.Equal(deleted, []int64{5, 6, 7}) {
		t.Fatalf("batch delete answered %d; deleted %v", a.HTTPStatus, deleted)
	}
}

func TestComputeRoutesNeedAComputeService(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.get(t, "/api/v2/compute/regions"), http.StatusNotFound, 10002)
}
