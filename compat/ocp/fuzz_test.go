package ocp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/compat/ocp"
	"github.com/dbplane/dbplane/frontdoor"
)

// fuzzHandler is the door over fakes that answer every call, so that any
// input that passes decoding reaches them instead of a fake's panic: a 500
// then can only be the door's own. It is served in process: a server per
// input would run out of loopback ports.
func fuzzHandler() http.Handler {
	clusters := &fakeClusters{
		create: func(context.Context, dbplane.ClusterSpec, bool) (*dbplane.Cluster, *dbplane.Task, error) {
			return nil, nil, dbplane.Errorf(dbplane.KindUnplaceable, "no room")
		},
		list: func(context.Context, dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) { return nil, 0, nil },
	}
	tasks := &fakeTasks{list: func(context.Context, dbplane.TaskFilter) ([]*dbplane.Task, int, error) { return nil, 0, nil }}
	hosts := &fakeHosts{hosts: map[int64]*dbplane.Host{
		1: {ID: 1, Address: "127.0.0.11", Zone: "zone-1", Status: dbplane.HostOnline},
	}}
	s := &ocp.Server{
		Clusters: clusters, Tasks: tasks, Hosts: hosts, Auth: fakeAuth{},
		Catalog:       dbplane.DefaultCatalog(),
		AuditRecorder: frontdoor.RecorderFunc(func(context.Context, *dbplane.AuditEvent) {}),
		Security:      frontdoor.Config{FailureLimit: frontdoor.Off, AuthLimit: frontdoor.Off},
	}
	return s.Handler()
}

// serveFuzz serves one request in process and returns its status, failing
// the test unless the body is OCP's envelope with that status.
func serveFuzz(t *testing.T, h http.Handler, method, target string, body []byte) int {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(testUser, testPassword)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var env struct {
		Status     int  `json:"status"`
		Successful bool `json:"successful"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Status != rec.Code || env.Successful != (rec.Code < 400) {
		t.Fatalf("%s %s answered %d with no matching envelope (%v): %s", method, target, rec.Code, err, rec.Body)
	}
	return rec.Code
}

// FuzzCreateClusterBody: every create body, however malformed, gets a 4xx
// in OCP's envelope (send checks the envelope); none reaches a 5xx.
func FuzzCreateClusterBody(f *testing.F) {
	seed, err := os.ReadFile("testdata/seed_create_cluster.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"name":"c1","rpmName":"mariadb-server","zones":[{"name":"z1","idcName":"zone-1","servers":[{"hostId":1}]}]}`))
	f.Add([]byte(`{"zones":[{"servers":[{"hostId":-1}]}]}`))
	f.Add([]byte(`{"name":1}`))
	f.Add([]byte(`[]`))
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		if st := serveFuzz(t, h, http.MethodPost, "/api/v2/ob/clusters", body); st < 400 || st >= 500 {
			t.Fatalf("body %q answered %d", body, st)
		}
	})
}

// FuzzListQuery: every page, size and sort, however malformed, gets OCP's
// envelope and never a 5xx.
func FuzzListQuery(f *testing.F) {
	f.Add("page=1&size=10&sort=name,asc")
	f.Add("page=0&size=2001&sort=nope,sideways")
	f.Add("sort=,&sort=id,desc&status=RUNNING,STOPPED")
	f.Add("page=%zz")
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, query string) {
		if _, err := url.ParseQuery(query); err != nil || !validTarget(query) {
			return // no client sends it; net/http refuses it before the door
		}
		for _, path := range []string{"/api/v2/ob/clusters", "/api/v2/tasks/instances"} {
			if st := serveFuzz(t, h, http.MethodGet, path+"?"+query, nil); st >= 500 {
				t.Fatalf("%s?%s answered %d", path, query, st)
			}
		}
	})
}

// validTarget reports whether query may stand in a request line: visible
// ASCII, no fragment.
func validTarget(query string) bool {
	for i := 0; i < len(query); i++ {
		if c := query[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}
