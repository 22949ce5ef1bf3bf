package ocp_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

// standbyBody is createBody for a STANDBY of cluster primary.
func standbyBody(info string) []byte {
	b := strings.Replace(createBody, `"PRIMARY"`, `"STANDBY"`, 1)
	b = strings.Replace(b, `"terran"`, `"stby"`, 1)
	if info != "" {
		b = strings.Replace(b, `"vpcId":1`, `"vpcId":1,"primaryClusterInfo":`+info, 1)
	}
	return []byte(b)
}

func TestCreateStandby(t *testing.T) {
	f := newFixture(t)
	threeIDCs(f)
	primary := galera(1, "alpha", dbplane.ClusterRunning)
	standby := galera(2, "stby", dbplane.ClusterRunning)
	standby.Spec.StandbyOf = 1
	f.clusters.byID = func(_ context.Context, id int64) (*dbplane.Cluster, error) {
		switch id {
		case 1:
			return primary, nil
		case 2:
			return standby, nil
		case 9:
			return &dbplane.Cluster{ID: 9, Name: "pgsql", Engine: "postgresql", Topology: "replication"}, nil
		}
		return nil, dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
	}
	var got []dbplane.ClusterSpec
	f.clusters.create = func(_ context.Context, spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
		got = append(got, spec)
		if spec.Password != "Secret-Passw0rd" {
			return nil, nil, dbplane.Invalid(dbplane.FieldError{Field: "password", Message: "must be the admin password of the source cluster alpha"})
		}
		if spec.StandbyOf == 3 { // what the service says of a primary that does not run
			return nil, nil, dbplane.Invalid(dbplane.FieldError{Field: "standby_of", Message: "cluster gamma is stopped, not running"})
		}
		task := dagTask(78)
		return plannedCluster(spec, 20, 1, 2, 3), task, nil
	}
	for name, tc := range map[string]struct {
		body   []byte
		fields []string
	}{
		"no info":      {standbyBody(""), []string{"primaryClusterInfo"}},
		"null id":      {standbyBody(`{"rootSysPassword":"Secret-Passw0rd"}`), []string{"primaryClusterInfo.obClusterId"}},
		"unknown":      {standbyBody(`{"obClusterId":99}`), []string{"primaryClusterInfo.obClusterId"}},
		"not ocp":      {standbyBody(`{"obClusterId":9}`), []string{"primaryClusterInfo.obClusterId"}},
		"of a standby": {standbyBody(`{"obClusterId":2}`), []string{"primaryClusterInfo.obClusterId"}},
		"extra field":  {standbyBody(`{"obClusterId":1,"surprise":true}`), []string{"primaryClusterInfo"}},
		"other root pw": {standbyBody(`{"obClusterId":1,"rootSysPassword":"Other-Passw0rd"}`),
			[]string{"primaryClusterInfo.rootSysPassword"}},
		"not running": {standbyBody(`{"obClusterId":3}`), []string{"primaryClusterInfo.obClusterId"}},
	} {
		if name == "not running" {
			prev := f.clusters.byID
			f.clusters.byID = func(ctx context.Context, id int64) (*dbplane.Cluster, error) {
				if id == 3 {
					return galera(3, "gamma", dbplane.ClusterStopped), nil
				}
				return prev(ctx, id)
			}
		}
		fields := wantError(t, f.post(t, "/api/v2/ob/clusters", tc.body), http.StatusBadRequest, 10001)
		if !slices.Equal(fields, tc.fields) {
			t.Errorf("%s: sub errors on %v; want %v", name, fields, tc.fields)
		}
	}

	got = nil
	body := standbyBody(`{"obClusterId":1,"rootSysPassword":"Secret-Passw0rd"}`)
	body = []byte(strings.Replace(string(body), `"password":"Secret-Passw0rd",`, ``, 1))
	a := f.post(t, "/api/v2/ob/clusters", body)
	if a.HTTPStatus != http.StatusOK {
		t.Fatalf("standby create: %d %+v", a.HTTPStatus, a.Error)
	}
	if len(got) != 1 || got[0].StandbyOf != 1 || got[0].Password != "Secret-Passw0rd" || got[0].Topology != "galera" {
		t.Fatalf("specs %+v; want a standby of cluster 1 with the primary's root password", got)
	}
}

func TestStandbyClusterShape(t *testing.T) {
	f := newFixture(t)
	threeIDCs(f)
	lag, at := int64(4), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	primary := galera(1, "alpha", dbplane.ClusterRunning)
	primary.Standbys = []dbplane.ClusterRef{{ID: 2, Name: "stby"}}
	standby := galera(2, "stby", dbplane.ClusterRunning)
	standby.Spec.StandbyOf = 1
	standby.Replication = &dbplane.ReplicationStatus{Source: dbplane.ClusterRef{ID: 1, Name: "alpha"}, State: dbplane.ReplicationStreaming,
		IORunning: true, SQLRunning: true, LagSeconds: &lag, Position: "1-1-20", CheckedAt: &at}
	all := []*dbplane.Cluster{primary, standby}
	f.clusters.byID = func(_ context.Context, id int64) (*dbplane.Cluster, error) { return all[id-1], nil }
	f.clusters.list = func(_ context.Context, fl dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
		return all[min(fl.Offset, len(all)):], len(all), nil
	}
	type ref struct {
		ID          int64
		Name        string
		ObClusterID int64 `json:"obClusterId"`
	}
	type ob struct {
		Type              string
		PrimaryCluster    *ref
		StandbyClusters   []ref
		ReplicationStatus *struct {
			Status                            string
			IOThreadRunning, SQLThreadRunning bool
			LagSeconds                        *int64
			GtidPosition, CheckTime           string
		}
	}
	p := decodeData[ob](t, f.get(t, "/api/v2/ob/clusters/1"))
	if p.Type != "PRIMARY" || p.PrimaryCluster != nil || p.ReplicationStatus != nil ||
		!slices.Equal(p.StandbyClusters, []ref{{ID: 2, Name: "stby", ObClusterID: 2}}) {
		t.Fatalf("primary %+v", p)
	}
	s := decodeData[ob](t, f.get(t, "/api/v2/ob/clusters/2"))
	r := s.ReplicationStatus
	if s.Type != "STANDBY" || s.PrimaryCluster == nil || *s.PrimaryCluster != (ref{ID: 1, Name: "alpha", ObClusterID: 1}) ||
		r == nil || r.Status != "STREAMING" || !r.IOThreadRunning || !r.SQLThreadRunning || r.LagSeconds == nil || *r.LagSeconds != 4 ||
		r.GtidPosition != "1-1-20" || r.CheckTime == "" || len(s.StandbyClusters) != 0 {
		t.Fatalf("standby %+v (replication %+v)", s, r)
	}
	l := decodeData[struct{ Contents []ob }](t, f.get(t, "/api/v2/ob/clusters?sort=name,desc"))
	if len(l.Contents) != 2 || l.Contents[0].Type != "STANDBY" || l.Contents[1].Type != "PRIMARY" || len(l.Contents[1].StandbyClusters) != 1 {
		t.Fatalf("list %+v", l.Contents)
	}
}
