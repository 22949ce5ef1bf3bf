package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

// ocpStandbyView is what the test reads of an OCP cluster with standby
// information.
type ocpStandbyView struct {
	Type           string
	Status         string
	PrimaryCluster *struct {
		ID          int64
		ObClusterID int64 `json:"obClusterId"`
	}
	StandbyClusters []struct{ ID int64 }
	Replication     *struct {
		Status                            string
		IOThreadRunning, SQLThreadRunning bool
		LagSeconds                        *int64
		CheckTime                         string
	} `json:"replicationStatus"`
	Zones []struct {
		Servers []struct {
			IP      string
			SQLPort int `json:"sqlPort"`
		}
	}
}

func ocpView(tb testing.TB, c ocpClient, id int64) ocpStandbyView {
	tb.Helper()
	a := c.do(tb, http.MethodGet, fmt.Sprintf("/api/v2/ob/clusters/%d", id), nil)
	var v ocpStandbyView
	if err := json.Unmarshal(a.Data, &v); err != nil || a.Status != http.StatusOK {
		tb.Fatalf("cluster %d: %d %+v (%v)", id, a.Status, a.Error, err)
	}
	return v
}

// countRows polls a MariaDB server until shop.orders holds want rows.
func countRows(tb testing.TB, db *sql.DB, want int) {
	tb.Helper()
	waitFor(tb, fmt.Sprintf("%d rows on the standby", want), func() (bool, error) {
		var n int
		err := db.QueryRow(`SELECT COUNT(*) FROM shop.orders`).Scan(&n)
		return err == nil && n == want, nil
	})
}

// TestOCPStandbyCluster: through OCP, a PRIMARY Galera cluster is created
// on three hosts and written to; a STANDBY of it is created on three other
// hosts, seeded from a mariadb-backup copy of the primary. The standby
// holds the rows written before it existed (from the copy) and those
// written during and after its creation (replicated), read with a MySQL client on each member, and refuses
// writes; OCP shows its type, its primary, and its replication streaming
// with a lag, and the primary lists it. The primary cannot be deleted
// while the standby exists; the standby (its account on the primary
// dropped), then the primary, can.
func TestOCPStandbyCluster(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 6)
	ctx := context.Background()
	c := ocpClient{cp: cp}
	hosts, _, err := cp.client.FindHosts(ctx, dbplane.HostFilter{})
	if err != nil || len(hosts) != 6 {
		t.Fatalf("hosts %v, %v", hosts, err)
	}
	slices.SortFunc(hosts, func(a, b *dbplane.Host) int { return int(a.ID - b.ID) })

	created := ocpCreate(t, c, "prim", hosts[:3])
	if task := c.waitTask(t, created.ID); task.Status != string(dbplane.TaskSuccessful) {
		t.Fatalf("primary's create task ended %s: %+v", task.Status, task.Subtasks)
	}
	pv := ocpView(t, c, created.Cluster.ID)
	primary := openMySQL(t, fmt.Sprintf("%s:%d", pv.Zones[0].Servers[0].IP, pv.Zones[0].Servers[0].SQLPort))
	for _, q := range []string{`CREATE DATABASE shop`, `CREATE TABLE shop.orders (id int PRIMARY KEY, item text)`,
		`INSERT INTO shop.orders VALUES (1, 'book'), (2, 'pen')`} {
		if _, err := primary.Exec(q); err != nil {
			t.Fatalf("%s on the primary: %v", q, err)
		}
	}

	body := strings.Replace(ocpCreateBody(t, "stby", hosts[3:]), `"type": "PRIMARY"`, fmt.Sprintf(
		`"type": "STANDBY", "primaryClusterInfo": {"obClusterId": %d, "rootSysPassword": %q}`, created.Cluster.ID, clusterPassword), 1)
	a := c.do(t, http.MethodPost, "/api/v2/ob/clusters", []byte(body))
	var sc ocpTask
	if err := json.Unmarshal(a.Data, &sc); err != nil || a.Status != http.StatusOK || sc.Cluster.ID == 0 {
		t.Fatalf("standby create answered %d %+v (%v)\n%s", a.Status, a.Error, err, body)
	}
	if _, err := primary.Exec(`INSERT INTO shop.orders VALUES (3, 'ink')`); err != nil {
		t.Fatal(err)
	}
	task := c.waitTask(t, sc.ID)
	if task.Status != string(dbplane.TaskSuccessful) {
		t.Fatalf("standby's create task ended %s: %+v", task.Status, task.Subtasks)
	}
	if !slices.ContainsFunc(task.Subtasks, func(st ocpSubtask) bool {
		return st.Name == "Seed node 0 from the source" && st.Status == string(dbplane.SubtaskSuccessful)
	}) {
		t.Fatalf("the standby was not seeded from a copy of the primary: %+v", task.Subtasks)
	}
	if _, err := primary.Exec(`INSERT INTO shop.orders VALUES (4, 'pad')`); err != nil {
		t.Fatal(err)
	}

	sv := ocpView(t, c, sc.Cluster.ID)
	if sv.Type != "STANDBY" || sv.Status != "RUNNING" || sv.PrimaryCluster == nil || sv.PrimaryCluster.ObClusterID != created.Cluster.ID || len(sv.Zones) != 3 {
		t.Fatalf("standby %+v", sv)
	}
	for i, z := range sv.Zones {
		db := openMySQL(t, fmt.Sprintf("%s:%d", z.Servers[0].IP, z.Servers[0].SQLPort))
		countRows(t, db, 4)
		if i == 0 {
			if _, err := db.Exec(`INSERT INTO shop.orders VALUES (5, 'no')`); err == nil || !strings.Contains(err.Error(), "read-only") {
				t.Errorf("a write on the standby answered %v; want a read-only refusal", err)
			}
		}
	}

	waitFor(t, "the standby's replication to be checked", func() (bool, error) {
		sv = ocpView(t, c, sc.Cluster.ID)
		r := sv.Replication
		return r != nil && r.Status == "STREAMING" && r.CheckTime != "", nil
	})
	if r := sv.Replication; !r.IOThreadRunning || !r.SQLThreadRunning || r.LagSeconds == nil {
		t.Fatalf("replication %+v; want both threads running and a lag", r)
	}
	native, err := cp.client.FindClusterByID(ctx, sc.Cluster.ID)
	if err != nil || native.Spec.StandbyOf != created.Cluster.ID || native.Replication == nil || native.Replication.State != dbplane.ReplicationStreaming {
		t.Fatalf("native standby %+v (%v)", native, err)
	}
	if pv = ocpView(t, c, created.Cluster.ID); pv.Type != "PRIMARY" || len(pv.StandbyClusters) != 1 || pv.StandbyClusters[0].ID != sc.Cluster.ID {
		t.Fatalf("primary %+v; want it to list the standby", pv)
	}

	a = c.do(t, http.MethodDelete, fmt.Sprintf("/api/v2/ob/clusters/%d", created.Cluster.ID), nil)
	if a.Status != http.StatusConflict || a.Error == nil || !strings.Contains(a.Error.Message, "stby") {
		t.Fatalf("deleting the primary answered %d %+v; want 409 naming the standby", a.Status, a.Error)
	}
	for _, id := range []int64{sc.Cluster.ID, created.Cluster.ID} {
		a = c.do(t, http.MethodDelete, fmt.Sprintf("/api/v2/ob/clusters/%d", id), nil)
		var deleted ocpTask
		if err := json.Unmarshal(a.Data, &deleted); err != nil || a.Status != http.StatusOK {
			t.Fatalf("delete %d answered %d %+v", id, a.Status, a.Error)
		}
		if task := c.waitTask(t, deleted.ID); task.Status != string(dbplane.TaskSuccessful) {
			t.Fatalf("delete task of %d ended %s: %+v", id, task.Status, task.Subtasks)
		}
		if id == sc.Cluster.ID {
			var n int
			if err := primary.QueryRow(`SELECT COUNT(*) FROM mysql.user WHERE User LIKE 'dbplane\_standby%'`).Scan(&n); err != nil || n != 0 {
				t.Errorf("the primary keeps %d standby accounts after the standby is deleted (%v)", n, err)
			}
		}
	}
	if pids := processesUnder(root); len(pids) != 0 {
		t.Errorf("processes %v still run after the deletes", pids)
	}
}
