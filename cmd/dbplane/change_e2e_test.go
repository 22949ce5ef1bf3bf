package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbplane/dbplane"
)

// TestOCPChangePasswordAndParameters changes a Galera cluster through the
// OCP front door: after changePassword the old admin password is refused
// and the new one works on every member; after PUT parameters a dynamic
// parameter is live on every member and GET parameters lists it. Bad input
// answers 400 naming newPassword or the parameter.
func TestOCPChangePasswordAndParameters(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 3)
	c := ocpClient{cp: cp}
	hosts, _, err := cp.client.FindHosts(context.Background(), dbplane.HostFilter{})
	if err != nil || len(hosts) != 3 {
		t.Fatalf("hosts %v, %v", hosts, err)
	}
	created := ocpCreate(t, c, "changer", hosts)
	if task := c.waitTask(t, created.ID); task.Status != string(dbplane.TaskSuccessful) {
		t.Fatalf("create task ended %s: %+v", task.Status, task.Subtasks)
	}
	id := created.Cluster.ID
	members := ocpMembers(t, c, id)

	a := c.do(t, http.MethodPost, fmt.Sprintf("/api/v2/ob/clusters/%d/changePassword", id), []byte(`{"newPassword":"short"}`))
	if a.Status != http.StatusBadRequest || a.Error == nil || len(a.Error.SubErrors) == 0 || a.Error.SubErrors[0].Field != "newPassword" {
		t.Fatalf("a weak password answered %d %+v; want 400 on newPassword", a.Status, a.Error)
	}
	const newPassword = "N3w-Passw0rd.x"
	ocpChange(t, c, http.MethodPost, fmt.Sprintf("/api/v2/ob/clusters/%d/changePassword", id), `{"newPassword":"`+newPassword+`"}`)
	for _, m := range members {
		var me *gomysql.MySQLError
		if err := pingMySQL(m, clusterPassword); !errors.As(err, &me) || me.Number != 1045 {
			t.Errorf("member %s with the old password: %v, want access denied", m, err)
		}
		if err := pingMySQL(m, newPassword); err != nil {
			t.Errorf("member %s with the new password: %v", m, err)
		}
	}

	path := fmt.Sprintf("/api/v2/ob/clusters/%d/parameters", id)
	a = c.do(t, http.MethodPut, path, []byte(`[{"name":"max_connections","value":"321"},{"name":"port","value":"1"}]`))
	if a.Status != http.StatusBadRequest || a.Error == nil || len(a.Error.SubErrors) != 1 || a.Error.SubErrors[0].Field != "parameters[1].name" {
		t.Fatalf("a parameter dbplane sets answered %d %+v; want 400 on parameters[1].name", a.Status, a.Error)
	}
	ocpChange(t, c, http.MethodPut, path, `[{"name":"max_connections","value":"321"}]`)
	for _, m := range members {
		db, err := sql.Open("mysql", fmt.Sprintf("admin:%s@tcp(%s)/?timeout=10s", newPassword, m))
		if err != nil {
			t.Fatal(err)
		}
		var name, value string
		err = db.QueryRow("SHOW VARIABLES LIKE 'max_connections'").Scan(&name, &value)
		db.Close()
		if err != nil || value != "321" {
			t.Errorf("member %s: max_connections = %q (%v), want 321", m, value, err)
		}
	}
	a = c.do(t, http.MethodGet, path+"?sort=name,asc", nil)
	var listed struct {
		Contents []struct{ Name, Value string }
	}
	if err := json.Unmarshal(a.Data, &listed); err != nil || len(listed.Contents) != 1 ||
		listed.Contents[0].Name != "max_connections" || listed.Contents[0].Value != "321" {
		t.Fatalf("GET parameters answered %d %s (%v)", a.Status, a.Data, err)
	}

	ocpChange(t, c, http.MethodDelete, fmt.Sprintf("/api/v2/ob/clusters/%d", id), "")
}

// ocpMembers returns the host:port of every member of an OCP cluster.
func ocpMembers(tb testing.TB, c ocpClient, id int64) []string {
	tb.Helper()
	a := c.do(tb, http.MethodGet, fmt.Sprintf("/api/v2/ob/clusters/%d", id), nil)
	var oc struct {
		Zones []struct {
			Servers []struct {
				IP      string
				SQLPort int `json:"sqlPort"`
			}
		}
	}
	if err := json.Unmarshal(a.Data, &oc); err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, z := range oc.Zones {
		for _, s := range z.Servers {
			out = append(out, fmt.Sprintf("%s:%d", s.IP, s.SQLPort))
		}
	}
	if len(out) != 3 {
		tb.Fatalf("members %v, want 3", out)
	}
	return out
}

// ocpChange sends a call that answers a task and waits for it to succeed.
func ocpChange(tb testing.TB, c ocpClient, method, path, body string) {
	tb.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	a := c.do(tb, method, path, b)
	var started ocpTask
	if err := json.Unmarshal(a.Data, &started); err != nil || a.Status != http.StatusOK || started.ID == 0 {
		tb.Fatalf("%s %s answered %d %+v %s", method, path, a.Status, a.Error, a.Data)
	}
	if task := c.waitTask(tb, started.ID); task.Status != string(dbplane.TaskSuccessful) {
		tb.Fatalf("%s %s: task ended %s: %+v", method, path, task.Status, task.Subtasks)
	}
}

// pingMySQL connects to addr as the admin with password.
func pingMySQL(addr, password string) error {
	db, err := sql.Open("mysql", fmt.Sprintf("admin:%s@tcp(%s)/?timeout=10s", password, addr))
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Ping()
}
