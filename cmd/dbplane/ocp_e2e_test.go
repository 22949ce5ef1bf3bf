package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
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
	// A galera join may wait minutes for a donor on a loaded machine (the
	// engine bounds it at 8): a task is given that long before the test
	// gives up and says where it stands.
	deadline := time.Now().Add(8 * time.Minute)
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
			tb.Fatalf("task %d still RUNNING: %s", id, c.unfinished(tb, id, t.Subtasks))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// unfinished describes the subtasks of a task that did not end, with the
// log of those running, so that a timeout says where the task stands.
func (c ocpClient) unfinished(tb testing.TB, id int64, subs []ocpSubtask) string {
	tb.Helper()
	var b strings.Builder
	for _, s := range subs {
		if s.Status == "SUCCESSFUL" {
			continue
		}
		fmt.Fprintf(&b, "\n  subtask %d %q %s %s", s.ID, s.Name, s.Status, s.Error)
		if s.Status != "RUNNING" && s.Status != "FAILED" {
			continue
		}
		a := c.do(tb, http.MethodGet, fmt.Sprintf("/api/v2/tasks/instances/%d/subtasks/%d/log", id, s.ID), nil)
		var l struct{ Log string }
		if json.Unmarshal(a.Data, &l) == nil {
			fmt.Fprintf(&b, "\n    %s", strings.ReplaceAll(strings.TrimSpace(l.Log), "\n", "\n    "))
		}
	}
	return b.String()
}

// ocpCreateBody is the seed's create request with a catalog package, a
// valid password, and one zone per host in the host's IDC (its zone).
func ocpCreateBody(tb testing.TB, name string, hosts []*dbplane.Host) string {
	tb.Helper()
	seed, err := os.ReadFile("../../compat/ocp/testdata/seed_create_cluster.json")
	if err != nil {
		tb.Fatal(err)
	}
	var zones []string
	for i, h := range hosts {
		zones = append(zones, fmt.Sprintf(`{"name":"zone%d","idcName":%q,"servers":[%d]}`, i+1, h.Zone, h.ID))
	}
	body := strings.NewReplacer(
		`"terran"`, strconv.Quote(name),
		`"oceanbase-2.2.73-20201211175814.el7.x86_64.rpm"`, `"mariadb-server"`,
		`"xxxxx"`, `"`+clusterPassword+`"`,
		`"primaryZone": ""`, `"primaryZone": "zone1"`,
	).Replace(string(seed))
	i, j := strings.Index(body, `"zones": [`), strings.LastIndex(body, "]")
	return body[:i] + `"zones": [` + strings.Join(zones, ",") + body[j:]
}

// TestOCPCreateGaleraCluster drives the OCP front door as an OCP script
// would: the seed's request is refused on its OceanBase rpmName; with a
// catalog package and the fleet's host ids it creates a MariaDB Galera
// cluster, whose task is followed through the OCP task API (signed with an
// access key), which shows RUNNING and answers MySQL clients; it is
// stopped (no process left) and started again (a 3-member Galera cluster)
// through OCP, and deleted through OCP.
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
	body := ocpCreateBody(t, "terran", hosts)
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
	wantGaleraSize := func(when string) {
		t.Helper()
		for _, z := range oc.Zones {
			if len(z.Servers) != 1 {
				t.Fatalf("zone %+v: want one server", z)
			}
			db := openMySQL(t, fmt.Sprintf("%s:%d", z.Servers[0].IP, z.Servers[0].SQLPort))
			var name, size string
			if err := db.QueryRow(`SHOW STATUS LIKE 'wsrep_cluster_size'`).Scan(&name, &size); err != nil || size != "3" {
				t.Fatalf("%s %s: wsrep_cluster_size %q, %v", z.Name, when, size, err)
			}
		}
	}
	wantGaleraSize("after create")

	// Stop and start through OCP: starting a running cluster is refused.
	a = signed.do(t, http.MethodPost, fmt.Sprintf("/api/v2/ob/clusters/%d/start", created.Cluster.ID), nil)
	if a.Status != http.StatusConflict || a.Error == nil || a.Error.Code != 50002 {
		t.Fatalf("starting a running cluster answered %d %+v; want 409 with code 50002", a.Status, a.Error)
	}
	if pids := processesUnder(root); len(pids) < 3 {
		t.Fatalf("processes %v before stop; want a mariadbd per node", pids)
	}
	ocpClusterOp(t, signed, created.Cluster.ID, "stop", "STOPPED")
	if pids := processesUnder(root); len(pids) != 0 {
		t.Fatalf("processes %v still run after stop", pids)
	}
	ocpClusterOp(t, basic, created.Cluster.ID, "start", "RUNNING")
	wantGaleraSize("after start")

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

// ocpClusterOp stops or starts (op) a cluster through OCP, follows the
// task to SUCCESSFUL and checks that OCP shows the cluster in status.
func ocpClusterOp(tb testing.TB, c ocpClient, id int64, op, status string) {
	tb.Helper()
	a := c.do(tb, http.MethodPost, fmt.Sprintf("/api/v2/ob/clusters/%d/%s", id, op), nil)
	var started ocpTask
	if err := json.Unmarshal(a.Data, &started); err != nil || a.Status != http.StatusOK ||
		started.Cluster.ID != id || len(started.Tasks) == 0 {
		tb.Fatalf("%s answered %d %+v %s", op, a.Status, a.Error, a.Data)
	}
	if task := c.waitTask(tb, started.ID); task.Status != string(dbplane.TaskSuccessful) {
		tb.Fatalf("%s task ended %s: %+v", op, task.Status, task.Subtasks)
	}
	a = c.do(tb, http.MethodGet, fmt.Sprintf("/api/v2/ob/clusters/%d", id), nil)
	var oc struct{ Status string }
	if err := json.Unmarshal(a.Data, &oc); err != nil || oc.Status != status {
		tb.Fatalf("after %s the cluster is %q (%v); want %s", op, oc.Status, err, status)
	}
}

// stoppableAgent is an agent the test takes away from its host and brings
// back, from the same state dir.
type stoppableAgent struct {
	opts agentOptions
	cp   *testControlPlane
	a    *runningAgent
}

// startStoppableAgent joins agent i of n; the test's cleanup stops it if
// it is running then.
func startStoppableAgent(tb testing.TB, cp *testControlPlane, root string, i, n int) *stoppableAgent {
	tb.Helper()
	s := &stoppableAgent{opts: devAgentOptions(cp.URL, root, i, n), cp: cp}
	s.opts.CASHA256 = cp.CAFingerprint
	tok, err := cp.hosts.CreateJoinToken(service.SystemContext(context.Background()), 0)
	if err != nil {
		tb.Fatal(err)
	}
	s.opts.Token = tok.Secret
	s.start(tb)
	tb.Cleanup(func() {
		if s.a != nil {
			s.a.stop()
		}
	})
	return s
}

func (s *stoppableAgent) start(tb testing.TB) {
	tb.Helper()
	a, err := startAgent(context.Background(), s.opts, s.cp.log.With("agent", s.opts.Listen))
	if err != nil {
		tb.Fatalf("starting agent %s: %v", s.opts.Listen, err)
	}
	s.a = a
	if err := s.cp.health.CheckAll(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

func (s *stoppableAgent) stop(tb testing.TB) {
	tb.Helper()
	if err := s.a.stop(); err != nil {
		tb.Logf("stopping agent %s: %v", s.opts.Listen, err)
	}
	s.a = nil
}

// ocpCreate posts a create request and returns the task's and the
// cluster's ids.
func ocpCreate(tb testing.TB, c ocpClient, name string, hosts []*dbplane.Host) ocpTask {
	tb.Helper()
	a := c.do(tb, http.MethodPost, "/api/v2/ob/clusters", []byte(ocpCreateBody(tb, name, hosts)))
	var t ocpTask
	if err := json.Unmarshal(a.Data, &t); err != nil || a.Status != http.StatusOK || t.Cluster.ID == 0 {
		tb.Fatalf("create %s answered %d %+v (%v)", name, a.Status, a.Error, err)
	}
	return t
}

// wantFailedSubtask checks that a task ended FAILED with a FAILED subtask.
func wantFailedSubtask(tb testing.TB, t ocpTask) {
	tb.Helper()
	if t.Status != string(dbplane.TaskFailed) {
		tb.Fatalf("task %d ended %s with its host away; want FAILED", t.ID, t.Status)
	}
	for _, st := range t.Subtasks {
		if st.Status == string(dbplane.SubtaskFailed) && st.Error != "" {
			return
		}
	}
	tb.Fatalf("task %d is FAILED without a FAILED subtask saying why: %+v", t.ID, t.Subtasks)
}

// TestOCPRetryAndRollback: a host taken away while its cluster is created
// leaves the task FAILED; with the host back, OCP's retry completes it,
// and on another run OCP's rollback undoes it, leaving no cluster, data
// directory or port behind.
func TestOCPRetryAndRollback(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 2)
	third := startStoppableAgent(t, cp, root, 2, 3)
	ctx := context.Background()
	c := ocpClient{cp: cp}
	hosts, _, err := cp.client.FindHosts(ctx, dbplane.HostFilter{})
	if err != nil || len(hosts) != 3 {
		t.Fatalf("hosts %v, %v", hosts, err)
	}

	third.stop(t)
	created := ocpCreate(t, c, "retried", hosts)
	wantFailedSubtask(t, c.waitTask(t, created.ID))
	third.start(t)
	a := c.do(t, http.MethodPost, fmt.Sprintf("/api/v2/tasks/instances/%d/retry", created.ID), nil)
	var retried struct{ Operation string }
	if err := json.Unmarshal(a.Data, &retried); err != nil || a.Status != http.StatusOK || retried.Operation != "RETRY" {
		t.Fatalf("retry answered %d %+v %+v", a.Status, a.Error, retried)
	}
	if task := c.waitTask(t, created.ID); task.Status != string(dbplane.TaskSuccessful) {
		t.Fatalf("the retried task ended %s: %+v", task.Status, task.Subtasks)
	}
	a = c.do(t, http.MethodGet, fmt.Sprintf("/api/v2/ob/clusters/%d", created.Cluster.ID), nil)
	var oc struct{ Status string }
	if err := json.Unmarshal(a.Data, &oc); err != nil || oc.Status != "RUNNING" {
		t.Fatalf("the retried cluster is %+v (%v)", oc, err)
	}
	before, err := cp.db.HostLoads(ctx)
	if err != nil {
		t.Fatal(err)
	}

	third.stop(t)
	rolled := ocpCreate(t, c, "rolled", hosts)
	native, err := cp.client.FindClusterByID(ctx, rolled.Cluster.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantFailedSubtask(t, c.waitTask(t, rolled.ID))
	third.start(t)
	a = c.do(t, http.MethodPost, fmt.Sprintf("/api/v2/tasks/instances/%d/rollback", rolled.ID), nil)
	if a.Status != http.StatusOK {
		t.Fatalf("rollback answered %d %+v", a.Status, a.Error)
	}
	if task := c.waitTask(t, rolled.ID); task.Status != string(dbplane.TaskSuccessful) {
		t.Fatalf("the rollback ended %s: %+v", task.Status, task.Subtasks)
	}
	a = c.do(t, http.MethodGet, fmt.Sprintf("/api/v2/ob/clusters/%d", rolled.Cluster.ID), nil)
	if a.Status != http.StatusNotFound {
		t.Fatalf("the rolled-back cluster answers %d; want 404", a.Status)
	}
	for _, n := range native.Nodes {
		if _, err := os.Stat(n.DataDir); !os.IsNotExist(err) {
			t.Errorf("data dir %s of the rolled-back node %d is still there (%v)", n.DataDir, n.Ordinal, err)
		}
	}
	after, err := cp.db.HostLoads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range after {
		if len(after[i].Ports) != len(before[i].Ports) {
			t.Errorf("host %s holds ports %v after the rollback, %v before", after[i].Host.Address, after[i].Ports, before[i].Ports)
		}
	}

	// Once the retried cluster is deleted, no process may be left: the
	// rolled-back cluster's included.
	a = c.do(t, http.MethodDelete, fmt.Sprintf("/api/v2/ob/clusters/%d", created.Cluster.ID), nil)
	var deleted ocpTask
	if err := json.Unmarshal(a.Data, &deleted); err != nil || a.Status != http.StatusOK {
		t.Fatalf("delete answered %d %+v", a.Status, a.Error)
	}
	if task := c.waitTask(t, deleted.ID); task.Status != string(dbplane.TaskSuccessful) {
		t.Fatalf("delete task ended %s: %+v", task.Status, task.Subtasks)
	}
	if pids := processesUnder(root); len(pids) != 0 {
		t.Errorf("processes %v still run after the rollback and the delete", pids)
	}
}
