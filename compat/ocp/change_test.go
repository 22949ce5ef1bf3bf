package ocp_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
)

// changeFixture serves galera cluster 1 with two parameters, and
// PostgreSQL cluster 9, over a fake service that validates as dbplane's
// does: the password's rules, and parameters it sets itself.
func changeFixture(t *testing.T) (*fixture, *string, *map[string]string) {
	f := newFixture(t)
	threeIDCs(f)
	c := galera(1, "alpha", dbplane.ClusterRunning)
	c.Spec.Parameters = map[string]string{"max_connections": "300", "wait_timeout": "60", "sql_mode": "ANSI"}
	f.clusters.byID = func(_ context.Context, id int64) (*dbplane.Cluster, error) {
		switch id {
		case 1:
			return c, nil
		case 9:
			return &dbplane.Cluster{ID: 9, Name: "pgsql", Engine: "postgresql", Topology: "replication"}, nil
		}
		return nil, dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
	}
	var gotPW string
	var gotParams map[string]string
	f.clusters.password = func(_ context.Context, id int64, pw string, dryRun bool) (*dbplane.Task, error) {
		gotPW = pw
		if err := dbplane.ValidateClusterPassword("password", pw); err != nil {
			return nil, err
		}
		task := dagTask(80)
		task.Name = "Change the admin password of mysql cluster alpha"
		return task, nil
	}
	f.clusters.params = func(_ context.Context, id int64, p map[string]string, dryRun bool) (*dbplane.Task, error) {
		gotParams = p
		if _, ok := p["port"]; ok {
			return nil, dbplane.Invalid(dbplane.FieldError{Field: "parameters[port]", Message: "is set by dbplane"})
		}
		task := dagTask(81)
		task.Name = "Change the parameters of mysql cluster alpha"
		return task, nil
	}
	return f, &gotPW, &gotParams
}

func TestChangePassword(t *testing.T) {
	f, gotPW, _ := changeFixture(t)
	a := f.post(t, "/api/v2/ob/clusters/1/changePassword", []byte(`{"newPassword":"N3w-Password","saveToCredential":true}`))
	ti := decodeData[struct {
		ID      int64
		Name    string
		Cluster struct{ ID int64 }
	}](t, a)
	if ti.ID != 80 || ti.Cluster.ID != 1 || *gotPW != "N3w-Password" {
		t.Fatalf("answered %s (service got %q)", a.Data, *gotPW)
	}
	for _, body := range []string{`{"newPassword":"weak"}`, `{}`} {
		a = f.post(t, "/api/v2/ob/clusters/1/changePassword", []byte(body))
		if fields := wantError(t, a, http.StatusBadRequest, 10001); !slices.Equal(fields, []string{"newPassword"}) ||
			a.Error.SubErrors[0].RejectedValue != nil || a.Error.SubErrors[0].Object != "changePasswordParam" {
			t.Fatalf("%s: sub errors %+v, want one on newPassword that does not echo it", body, a.Error.SubErrors)
		}
	}
	wantError(t, f.post(t, "/api/v2/ob/clusters/1/changePassword", []byte(`{"password":"N3w-Password"}`)), http.StatusBadRequest, 10001)
	wantError(t, f.post(t, "/api/v2/ob/clusters/9/changePassword", []byte(`{"newPassword":"N3w-Password"}`)), http.StatusNotFound, 10002)
}

func TestParameterList(t *testing.T) {
	f, _, _ := changeFixture(t)
	type listed struct {
		Contents []struct{ Name, Value, Scope string }
		Page     struct{ TotalElements, TotalPages, Number, Size int }
	}
	l := decodeData[listed](t, f.get(t, "/api/v2/ob/clusters/1/parameters"))
	if len(l.Contents) != 3 || l.Contents[0].Name != "max_connections" || l.Contents[2].Name != "wait_timeout" ||
		l.Contents[0].Value != "300" || l.Contents[0].Scope != "CLUSTER" || l.Page.TotalElements != 3 {
		t.Fatalf("list %+v, want the three parameters by name", l)
	}
	l = decodeData[listed](t, f.get(t, "/api/v2/ob/clusters/1/parameters?sort=value,desc&size=2&page=1"))
	if len(l.Contents) != 2 || l.Contents[0].Value != "ANSI" || l.Contents[1].Value != "60" || l.Page.TotalPages != 2 || l.Page.Size != 2 {
		t.Fatalf("sorted by value desc, page 1 of 2: %+v", l)
	}
	l = decodeData[listed](t, f.get(t, "/api/v2/ob/clusters/1/parameters?name=TIMEOUT"))
	if len(l.Contents) != 1 || l.Contents[0].Name != "wait_timeout" {
		t.Fatalf("keyword timeout: %+v", l)
	}
	if fields := wantError(t, f.get(t, "/api/v2/ob/clusters/1/parameters?sort=scope,asc"), http.StatusBadRequest, 10001); !slices.Equal(fields, []string{"sort"}) {
		t.Fatalf("unknown sort field: sub errors %v", fields)
	}
	wantError(t, f.get(t, "/api/v2/ob/clusters/9/parameters"), http.StatusNotFound, 10002)
}

func TestParameterUpdate(t *testing.T) {
	f, _, gotParams := changeFixture(t)
	put := func(body string) *answer {
		return send(t, basic(f.request(t, http.MethodPut, "/api/v2/ob/clusters/1/parameters", []byte(body)), testUser, testPassword))
	}
	a := put(`[{"name":"max_connections","value":"500"},{"name":"wait_timeout","value":""}]`)
	if ti := decodeData[struct{ ID int64 }](t, a); ti.ID != 81 {
		t.Fatalf("answered %s", a.Data)
	}
	if want := map[string]string{"max_connections": "500", "wait_timeout": ""}; !maps.Equal(*gotParams, want) {
		t.Fatalf("service got %v, want %v", *gotParams, want)
	}
	a = put(`[{"name":"max_connections","value":"500"},{"name":"port","value":"1"}]`)
	if fields := wantError(t, a, http.StatusBadRequest, 10001); !slices.Equal(fields, []string{"parameters[1].name"}) ||
		a.Error.SubErrors[0].RejectedValue != "port" {
		t.Fatalf("a parameter dbplane sets: sub errors %+v", a.Error.SubErrors)
	}
	for body, field := range map[string]string{
		`[{"name":"a","value":"1"},{"name":"a","value":"2"}]`: "parameters[1].name",
		`[{"name":" ","value":"1"}]`:                          "parameters[0].name",
		`[]`:                                                  "parameters",
	} {
		if fields := wantError(t, put(body), http.StatusBadRequest, 10001); !slices.Equal(fields, []string{field}) {
			t.Fatalf("%s: sub errors %v, want %s", body, fields, field)
		}
	}
	wantError(t, put(`{"name":"a"}`), http.StatusBadRequest, 10001)
}

// While a password or parameter change runs, OCP shows the cluster
// OPERATING, and the status filter finds it so.
func TestUpdatingIsOperating(t *testing.T) {
	f, _, _ := changeFixture(t)
	c := galera(4, "delta", dbplane.ClusterUpdating)
	f.clusters.byID = func(_ context.Context, id int64) (*dbplane.Cluster, error) { return c, nil }
	f.clusters.list = func(_ context.Context, _ dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
		return []*dbplane.Cluster{c}, 1, nil
	}
	if got := decodeData[struct{ Status string }](t, f.get(t, "/api/v2/ob/clusters/4")); got.Status != "OPERATING" {
		t.Fatalf("status %q, want OPERATING", got.Status)
	}
	l := decodeData[struct{ Contents []struct{ ID int64 } }](t, f.get(t, "/api/v2/ob/clusters?status=OPERATING"))
	if len(l.Contents) != 1 || l.Contents[0].ID != 4 {
		t.Fatalf("status=OPERATING lists %+v", l.Contents)
	}
}
