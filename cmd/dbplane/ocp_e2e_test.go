package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/signature"
)

// ocpAnswer is OCP's envelope as a client reads it.
type ocpAnswer struct {
	Data       json.RawMessage `json:"data"`
	Successful bool            `json:"successful"`
	Status     int             `json:"status"`
	TraceID    string          `json:"traceId"`
	Error      *struct {
		Code      int    `json:"code"`
		Message   string `json:"message"`
		SubErrors []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"subErrors"`
	} `json:"error"`
}

// ocpClient calls the OCP front door of a control plane, with HTTP Basic
// or, when ak is set, OCP access-key signatures.
type ocpClient struct {
	cp     *testControlPlane
	ak, sk string
}

func (c ocpClient) do(tb testing.TB, method, path string, body []byte) ocpAnswer {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.cp.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.ak != "" {
		if err := (signature.OCP{}).Sign(req, c.ak, c.sk, time.Now()); err != nil {
			tb.Fatal(err)
		}
	} else {
		req.SetBasicAuth(dbplane.AdminUser, testAdminPassword)
	}
	resp, err := c.cp.http.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var a ocpAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || a.Status != resp.StatusCode || a.TraceID == "" {
		tb.Fatalf("%s %s: %d with envelope %+v (%v)", method, path, resp.StatusCode, a, err)
	}
	return a
}

// ocpTask is what the test reads of an OCP task instance.
type ocpTask struct {
	ID       int64
	Status   string
	Cluster  struct{ ID, ObClusterID int64 }
	Tasks    []ocpSubtask
	Subtasks []ocpSubtask
}

type ocpSubtask struct {
	ID                     int64
	Name, Status, Error    string
	Upstreams, Downstreams []int64
}

// waitOCPTask polls an OCP task until it ends.
func (c ocpClient) waitTask(tb testing.TB, id int64) ocpTask {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		a := c.do(tb, http.MethodGet, fmt.Sprintf("/api/v2/tasks/instances/%d", id), nil)
		var t ocpTask
		if err := json.Unmarshal(a.Data, &t); err != nil || !a.Successful {
			tb.Fatalf("task %d: %+v %v", id, a.Error, err)
		}
		if t.Status != string(dbplane.TaskRunning) {
			return t
		}
		if time.Now().After(deadline) {
			tb.Fatalf("task %d still RUNNING", id)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestOCPCreateGaleraCluster drives the OCP front door as an OCP script
// would: the seed's request is refused on its OceanBase rpmName; with a
// catalog package and the fleet's host ids it creates a MariaDB Galera
// cluster, whose task is followed through the OCP task API (signed with an
// access key), which shows RUNNING, answers MySQL clients, and is deleted
// through OCP.
func TestOCPCreateGaleraCluster(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 3)
	ctx := context.Background()
	basic := ocpClient{cp: cp}

	seed, err := os.ReadFile("../../compat/ocp/testdata/seed_create_cluster.json")
	if err != nil {
		t.Fatal(err)
	}
	a := basic.do(t, http.MethodPost, "/api/v2/ob/clusters", seed)
	if a.Status != http.StatusBadRequest || a.Error == nil || len(a.Error.SubErrors) == 0 || a.Error.SubErrors[0].Field != "rpmName" {
		t.Fatalf("the seed request answered %d %+v; want 400 on rpmName", a.Status, a.Error)
	}

	hosts, _, err := cp.client.FindHosts(ctx, dbplane.HostFilter{})
	if err != nil || len(hosts) != 3 {
		t.Fatalf("hosts %v, %v", hosts, err)
	}
	var zones []string
	for i, h := range hosts {
		zones = append(zones, fmt.Sprintf(`{"name":"zone%d","idcName":%q,"servers":[%d]}`, i+1, h.Zone, h.ID))
	}
	body := strings.NewReplacer(
		`"oceanbase-2.2.73-20201211175814.el7.x86_64.rpm"`, `"mariadb-server"`,
		`"xxxxx"`, `"`+clusterPassword+`"`,
		`"primaryZone": ""`, `"primaryZone": "zone1"`,
	).Replace(string(seed))
	i, j := strings.Index(body, `"zones": [`), strings.LastIndex(body, "]")
	body = body[:i] + `"zones": [` + strings.Join(zones, ",") + body[j:]
	a = basic.do(t, http.MethodPost, "/api/v2/ob/clusters", []byte(body))
	var created ocpTask
	if err := json.Unmarshal(a.Data, &created); err != nil || a.Status != http.StatusOK {
		t.Fatalf("create answered %d %+v (%v)\n%s", a.Status, a.Error, err, body)
	}
	if created.Cluster.ID == 0 || len(created.Tasks) == 0 {
		t.Fatalf("create answered %+v", created)
	}

	u, _, err := cp.client.FindUsers(ctx, dbplane.UserFilter{})
	if err != nil || len(u) == 0 {
		t.Fatal(u, err)
	}
	key, err := cp.client.CreateAccessKey(ctx, u[0].ID, "ocp e2e")
	if err != nil {
		t.Fatal(err)
	}
	signed := ocpClient{cp: cp, ak: key.ID, sk: key.Secret}
	if task := signed.waitTask(t, created.ID); task.Status != string(dbplane.TaskSuccessful) {
		t.Fatalf("create task ended %s: %+v", task.Status, task.Subtasks)
	}

	a = signed.do(t, http.MethodGet, fmt.Sprintf("/api/v2/ob/clusters/%d", created.Cluster.ID), nil)
	var oc struct {
		Status      string
		PrimaryZone string
		Zones       []struct {
			Name    string
			Servers []struct {
				IP      string
				SQLPort int `json:"sqlPort"`
			}
		}
	}
	if err := json.Unmarshal(a.Data, &oc); err != nil || oc.Status != "RUNNING" || len(oc.Zones) != 3 || oc.PrimaryZone != "zone1" {
		t.Fatalf("cluster %+v (%v)", oc, err)
	}
	for _, z := range oc.Zones {
		if len(z.Servers) != 1 {
			t.Fatalf("zone %+v: want one server", z)
		}
		db := openMySQL(t, fmt.Sprintf("%s:%d", z.Servers[0].IP, z.Servers[0].SQLPort))
		var name, size string
		if err := db.QueryRow(`SHOW STATUS LIKE 'wsrep_cluster_size'`).Scan(&name, &size); err != nil || size != "3" {
			t.Fatalf("%s: wsrep_cluster_size %q, %v", z.Name, size, err)
		}
	}

	a = basic.do(t, http.MethodDelete, fmt.Sprintf("/api/v2/ob/clusters/%d", created.Cluster.ID), nil)
	var deleted ocpTask
	if err := json.Unmarshal(a.Data, &deleted); err != nil || a.Status != http.StatusOK {
		t.Fatalf("delete answered %d %+v", a.Status, a.Error)
	}
	if task := signed.waitTask(t, deleted.ID); task.Status != string(dbplane.TaskSuccessful) {
		t.Fatalf("delete task ended %s: %+v", task.Status, task.Subtasks)
	}
	if pids := processesUnder(root); len(pids) != 0 {
		t.Errorf("processes %v still run after delete", pids)
	}
}
