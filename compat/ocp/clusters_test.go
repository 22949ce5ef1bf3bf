package ocp_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dbplane/dbplane"
)

// threeIDCs puts hosts 1, 2 and 3 in IDCs hz1, hz2 and hz3.
func threeIDCs(f *fixture) {
	for i, idc := range []string{"hz1", "hz2", "hz3"} {
		id := int64(i + 1)
		f.hosts.hosts[id] = &dbplane.Host{ID: id, Address: "10.0.0." + string(rune('1'+i)), Zone: idc, Status: dbplane.HostOnline}
	}
}

func TestCreateRefusesTheSeedRequestOnRpmName(t *testing.T) {
	f := newFixture(t)
	// The seed's server 1, in its IDC hz2.
	f.hosts.hosts[1] = &dbplane.Host{ID: 1, Address: "10.0.0.1", Zone: "hz2", Status: dbplane.HostOnline}
	f.clusters.create = func(context.Context, dbplane.ClusterSpec, bool) (*dbplane.Cluster, *dbplane.Task, error) {
		t.Error("the seed's OceanBase request reached CreateCluster")
		return nil, nil, dbplane.Errorf(dbplane.KindInternal, "unreachable")
	}
	body, err := os.ReadFile("testdata/seed_create_cluster.json")
	if err != nil {
		t.Fatal(err)
	}
	a := f.post(t, "/api/v2/ob/clusters", body)
	fields := wantError(t, a, http.StatusBadRequest, 10001)
	if !slices.Equal(fields, []string{"rpmName"}) {
		t.Fatalf("sub errors on %v; want only rpmName: %+v", fields, a.Error.SubErrors)
	}
	se := a.Error.SubErrors[0]
	if se.Object != "createClusterParam" || se.RejectedValue != "oceanbase-2.2.73-20201211175814.el7.x86_64.rpm" ||
		!strings.Contains(se.Message, "mariadb-server") || !strings.Contains(se.Message, "galera-4") {
		t.Fatalf("sub error %+v: want the rejected RPM and the catalog's MariaDB packages", se)
	}
	if strings.Contains(string(a.Raw["error"]), "xxxxx") {
		t.Fatal("the error echoes the password")
	}
}

// createBody is the seed's request with a catalog package and three zones.
const createBody = `{"type":"PRIMARY","name":"terran","password":"Secret-Passw0rd","primaryZone":"zone2;zone1,zone3",
 "rpmName":"mariadb-server","obClusterId":25,"vpcId":1,"startupParameters":[{"name":"max_connections","value":"300"}],
 "zones":[{"name":"zone1","idcName":"hz1","servers":[1]},{"name":"zone2","idcName":"hz2","servers":[2],"architecture":"x86_64"},
          {"name":"zone3","idcName":"hz3","servers":[3],"rpmName":"mariadb-server"}]}`

// plannedCluster places spec's nodes on hosts, in order.
func plannedCluster(spec dbplane.ClusterSpec, id int64, hosts ...int64) *dbplane.Cluster {
	c := &dbplane.Cluster{ID: id, Name: spec.Name, Engine: spec.Engine, Version: spec.Version, Topology: spec.Topology,
		Status: dbplane.ClusterCreating, Spec: spec.Redacted(), CreatedAt: t0, UpdatedAt: t0}
	for i, h := range hosts {
		c.Nodes = append(c.Nodes, dbplane.Node{ID: int64(100 + i), Ordinal: i, HostID: h, Address: "10.0.0.1", Port: 3306, Status: "creating"})
	}
	return c
}

func TestCreateMapsToAGaleraSpecAndAnswersTheTask(t *testing.T) {
	f := newFixture(t)
	threeIDCs(f)
	var calls atomic.Int32
	f.clusters.create = func(_ context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
		calls.Add(1)
		if dryRun {
			t.Error("a dry run; want the create itself: the spec pins the nodes")
		}
		if spec.Engine != "mysql" || spec.Topology != "galera" || spec.Version != "10.11" || spec.Nodes != 3 ||
			!slices.Equal(spec.Zones, []string{"hz1", "hz2", "hz3"}) || spec.PrimaryZone != "hz2" ||
			spec.Password != "Secret-Passw0rd" || spec.Parameters["max_connections"] != "300" ||
			spec.Flavor != "dbp.c1.m2" || spec.VolumeGB != 10 || spec.Labels["ocp.zone.hz2"] != "zone2" ||
			!slices.Equal(spec.Hosts, []int64{1, 2, 3}) {
			t.Errorf("spec %+v", spec)
		}
		task := dagTask(77)
		task.Status = dbplane.TaskRunning
		return plannedCluster(spec, 19, 3, 1, 2), task, nil
	}
	a := f.post(t, "/api/v2/ob/clusters", []byte(createBody))
	if a.HTTPStatus != http.StatusOK {
		t.Fatalf("create: %d %+v", a.HTTPStatus, a.Error)
	}
	data := decodeData[struct {
		ID      int64
		Name    string
		Status  string
		Cluster map[string]any
		Tasks   []struct {
			ID                     int64
			Name, Operation        string
			Upstreams, Downstreams []int64
		}
		Subtasks any
	}](t, a)
	if data.ID != 77 || data.Status != "RUNNING" || len(data.Tasks) != 3 || data.Subtasks != nil {
		t.Fatalf("create answered %+v", data)
	}
	if len(data.Cluster) != 3 || data.Cluster["id"] != float64(19) || data.Cluster["name"] != "terran" || data.Cluster["obClusterId"] != float64(19) {
		t.Fatalf("cluster %v; want exactly id, name and obClusterId", data.Cluster)
	}
	if !slices.Equal(data.Tasks[1].Upstreams, []int64{100}) {
		t.Fatalf("tasks %+v", data.Tasks)
	}
	if strings.Contains(string(a.Data), "Secret-Passw0rd") {
		t.Fatal("the answer holds the password")
	}
	if calls.Load() != 1 {
		t.Fatalf("%d CreateCluster calls; want one", calls.Load())
	}
}

func TestCreateRefusesWhatItCannotHonour(t *testing.T) {
	f := newFixture(t)
	threeIDCs(f)
	f.clusters.create = func(_ context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
		if dryRun {
			t.Error("a dry run; want the create itself")
		}
		if spec.Nodes == 1 {
			// What ValidateClusterSpec says of a single galera node.
			return nil, nil, dbplane.Invalid(dbplane.FieldError{Field: "nodes", Message: "galera needs an odd number of nodes from 3 to 9"})
		}
		// What dbplane.Place says when a listed host cannot take a node.
		return nil, nil, dbplane.Errorf(dbplane.KindUnplaceable, "cluster terran cannot have a node on each of hosts %v: host 1 (10.0.0.1) is drained", spec.Hosts)
	}
	for name, tc := range map[string]struct {
		body   string
		status int
		fields []string
	}{
		"unknown field":  {`{"name":"terran","surprise":1}`, 400, []string{"surprise"}},
		"wrong type":     {`{"name":"terran","zones":[{"servers":["one"]}]}`, 400, []string{"zones.servers"}},
		"standby":        {strings.Replace(createBody, `"PRIMARY"`, `"STANDBY"`, 1), 400, []string{"primaryClusterInfo"}},
		"wrong idc":      {strings.Replace(createBody, `"hz2","servers":[2]`, `"hz2","servers":[3]`, 1), 400, []string{"zones[1].idcName", "zones[2].servers[0]"}},
		"no host":        {strings.Replace(createBody, `"servers":[1]`, `"servers":[99]`, 1), 400, []string{"zones[0].servers[0]"}},
		"bad primary":    {strings.Replace(createBody, `"zone2;zone1,zone3"`, `"zone9"`, 1), 400, []string{"primaryZone"}},
		"zone rpm":       {strings.Replace(createBody, `"servers":[3],"rpmName":"mariadb-server"`, `"servers":[3],"rpmName":"galera-4"`, 1), 400, []string{"zones[2].rpmName"}},
		"missing fields": {`{"zones":[]}`, 400, []string{"name", "type", "password", "rpmName", "zones"}},
		"one node":       {`{"type":"PRIMARY","name":"solo","password":"Secret-Passw0rd","rpmName":"mariadb-server","zones":[{"name":"z","idcName":"hz1","servers":[1]}]}`, 400, []string{"zones"}},
		"host refused":   {createBody, 422, nil},
	} {
		a := f.post(t, "/api/v2/ob/clusters", []byte(tc.body))
		code := 10001
		if tc.status == 422 {
			code = 10006
		}
		fields := wantError(t, a, tc.status, code)
		if !slices.Equal(fields, tc.fields) {
			t.Errorf("%s: sub errors on %v; want %v (%s)", name, fields, tc.fields, a.Error.Message)
		}
	}
	a := send(t, basic(f.request(t, http.MethodPost, "/api/v2/ob/clusters", nil), testUser, testPassword))
	wantError(t, a, http.StatusUnsupportedMediaType, 10005)
}

func galera(id int64, name string, st dbplane.ClusterStatus) *dbplane.Cluster {
	spec := dbplane.ClusterSpec{Name: name, Engine: "mysql", Version: "10.11", Topology: "galera", Zones: []string{"hz1", "hz2", "hz3"},
		PrimaryZone: "hz2", Labels: map[string]string{"ocp.zone.hz1": "zone1", "ocp.zone.hz2": "zone2", "ocp.rpmName": "mariadb-server"}}
	c := plannedCluster(spec, id, 1, 2, 3)
	c.Status = st
	return c
}

func TestClusterListGetAndDelete(t *testing.T) {
	f := newFixture(t)
	threeIDCs(f)
	pg := &dbplane.Cluster{ID: 9, Name: "pgsql", Engine: "postgresql", Topology: "replication", Status: dbplane.ClusterRunning}
	all := []*dbplane.Cluster{
		galera(1, "alpha", dbplane.ClusterRunning), galera(2, "Beta", dbplane.ClusterCreating),
		galera(3, "gamma", dbplane.ClusterDegraded), galera(4, "delta", dbplane.ClusterFailed),
		{ID: 5, Name: "mysqlrep", Engine: "mysql", Topology: "replication", Status: dbplane.ClusterRunning},
	}
	f.clusters.list = func(_ context.Context, fl dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
		if fl.Engine == nil || *fl.Engine != "mysql" {
			t.Errorf("list without the mysql engine filter")
		}
		return all[min(fl.Offset, len(all)):], len(all), nil
	}
	f.clusters.byID = func(_ context.Context, id int64) (*dbplane.Cluster, error) {
		if id == 9 {
			return pg, nil
		}
		for _, c := range all {
			if c.ID == id {
				return c, nil
			}
		}
		return nil, dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
	}
	type listed struct {
		Contents []struct {
			ID     int64
			Name   string
			Status string
		}
		Page struct{ TotalElements int }
	}
	names := func(l listed) (out []string) {
		for _, c := range l.Contents {
			out = append(out, c.Name+":"+c.Status)
		}
		return out
	}
	l := decodeData[listed](t, f.get(t, "/api/v2/ob/clusters?sort=name,desc"))
	if want := []string{"gamma:RUNNING", "delta:ABNORMAL", "alpha:RUNNING", "Beta:CREATING"}; !slices.Equal(names(l), want) || l.Page.TotalElements != 4 {
		t.Fatalf("list: %v; want %v", names(l), want)
	}
	l = decodeData[listed](t, f.get(t, "/api/v2/ob/clusters?name=BET"))
	if want := []string{"Beta:CREATING"}; !slices.Equal(names(l), want) {
		t.Fatalf("name=BET: %v", names(l))
	}
	l = decodeData[listed](t, f.get(t, "/api/v2/ob/clusters?status=RUNNING,CREATING&sort=id,asc&size=2&page=2"))
	if want := []string{"gamma:RUNNING"}; !slices.Equal(names(l), want) || l.Page.TotalElements != 3 {
		t.Fatalf("status filter page 2: %v (%d)", names(l), l.Page.TotalElements)
	}
	wantError(t, f.get(t, "/api/v2/ob/clusters?sort=rpmName,asc"), 400, 10001)
	wantError(t, f.get(t, "/api/v2/ob/clusters?status=BROKEN"), 400, 10001)

	oc := decodeData[struct {
		ID, ObClusterID int64 `json:"-"`
		Name            string
		Status          string
		DbplaneStatus   string
		Type            string
		ObVersion       string
		RpmName         string
		PrimaryZone     string
		Zones           []struct {
			Name, IdcName string
			Servers       []struct {
				HostID  int64
				SQLPort int `json:"sqlPort"`
			}
		}
	}](t, f.get(t, "/api/v2/ob/clusters/3"))
	if oc.Status != "RUNNING" || oc.DbplaneStatus != "degraded" || oc.Type != "PRIMARY" || oc.ObVersion != "10.11" ||
		oc.RpmName != "mariadb-server" || oc.PrimaryZone != "zone2" || len(oc.Zones) != 3 {
		t.Fatalf("cluster %+v", oc)
	}
	if z := oc.Zones[1]; z.Name != "zone2" || z.IdcName != "hz2" || len(z.Servers) != 1 || z.Servers[0].HostID != 2 || z.Servers[0].SQLPort != 3306 {
		t.Fatalf("zone %+v", z)
	}
	if z := oc.Zones[2]; z.Name != "hz3" {
		t.Fatalf("a zone without an OCP name is named after its IDC: %+v", z)
	}
	wantError(t, f.get(t, "/api/v2/ob/clusters/9"), 404, 10002)
	wantError(t, f.get(t, "/api/v2/ob/clusters/77"), 404, 10002)

	f.clusters.del = func(_ context.Context, id int64, dryRun bool) (*dbplane.Task, error) {
		if id == 4 {
			return nil, dbplane.Errorf(dbplane.KindConflict, "cluster 4 is being changed by task 8")
		}
		return dagTask(88), nil
	}
	a := send(t, basic(f.request(t, http.MethodDelete, "/api/v2/ob/clusters/1", nil), testUser, testPassword))
	del := decodeData[struct {
		ID      int64
		Cluster struct{ ID int64 }
		Tasks   []any
	}](t, a)
	if del.ID != 88 || del.Cluster.ID != 1 || len(del.Tasks) != 3 {
		t.Fatalf("delete answered %+v", del)
	}
	wantError(t, send(t, basic(f.request(t, http.MethodDelete, "/api/v2/ob/clusters/4", nil), testUser, testPassword)), 409, 50002)
	wantError(t, send(t, basic(f.request(t, http.MethodDelete, "/api/v2/ob/clusters/9", nil), testUser, testPassword)), 404, 10002)
}

func TestCreateByACallerWhoMayNotReadHostsIsForbidden(t *testing.T) {
	f := newFixture(t)
	threeIDCs(f)
	f.hosts.refuse = dbplane.Errorf(dbplane.KindForbidden, "alice may not read the fleet")
	a := f.post(t, "/api/v2/ob/clusters", []byte(createBody))
	if fields := wantError(t, a, http.StatusForbidden, 30014); len(fields) != 0 {
		t.Fatalf("a refusal with sub errors %v", fields)
	}
}
