package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/google/go-cmp/cmp"
)

func TestFindHosts(t *testing.T) {
	e := newEnv(t)
	seen := t0
	hosts := []*dbplane.Host{{
		ID: 1, Name: "db1", Address: "127.0.0.11", Region: "r1", Zone: "z1", Rack: "a", OS: "linux", Arch: "amd64",
		CPUs: 8, MemoryMB: 32768, DiskGB: 500, Status: dbplane.HostOnline, LastSeenAt: &seen, CreatedAt: t0, UpdatedAt: t0,
	}}
	var got dbplane.HostFilter
	e.hosts.FindHostsFn = func(ctx context.Context, f dbplane.HostFilter) ([]*dbplane.Host, int, error) {
		got = f
		return hosts, 1, nil
	}
	status, zone := dbplane.HostOnline, "z1"
	want := dbplane.HostFilter{Status: &status, Zone: &zone, Offset: 0, Limit: 5}
	hs, total, err := e.client.FindHosts(t.Context(), want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("filter (-sent +received):\n%s", diff)
	}
	if diff := cmp.Diff(hosts, hs); diff != "" || total != 1 {
		t.Errorf("total %d, hosts (-want +got):\n%s", total, diff)
	}
	resp, data := e.request(t, "GET", "/v1/hosts?status=online", "")
	if ae := mustErrorBody(t, resp, data, http.StatusBadRequest); ae.Error.Details[0].Field != "status" {
		t.Errorf("details = %+v, want status", ae.Error.Details)
	}
}

func TestCatalog(t *testing.T) {
	cat := dbplane.Catalog{
		Engines: []dbplane.EngineVersion{{Engine: "postgresql", Version: "15", Packages: []string{"postgresql-15"},
			Topologies: []string{"standalone", "replication"}, Default: true}},
		Flavors: []dbplane.Flavor{{Code: "dbp.c2.m4", VCPUs: 2, MemoryGB: 4}},
	}
	e := newEnv(t, func(s *httpapi.Server) { s.Catalog = cat })
	got, err := e.client.Catalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&cat, got); diff != "" {
		t.Errorf("catalog (-want +got):\n%s", diff)
	}
}
