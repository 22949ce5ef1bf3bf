package main

import (
	"maps"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

// TestClusterPassword: `cluster password ID` reads the new password from
// stdin, never from its arguments, and starts the task.
func TestClusterPassword(t *testing.T) {
	var got string
	f := &fakeAPI{ChangePasswordFn: func(id int64, pw string, dryRun bool) (*dbplane.Task, error) {
		got = pw
		task := createTask(dbplane.TaskRunning, dbplane.SubtaskReady)
		task.ID, task.Name = 41, "change password"
		if id != 12 {
			t.Errorf("cluster %d, want 12", id)
		}
		return task, nil
	}}
	r := runCLI(t, f, nil, "N3w-Password\n", "cluster", "password", "12")
	r.check(t, exitOK)
	if got != "N3w-Password" || !strings.Contains(r.stdout, "task 41") {
		t.Fatalf("password %q, stdout %q", got, r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "N3w-Password") {
		t.Fatalf("the password was printed: %q %q", r.stdout, r.stderr)
	}
	r = runCLI(t, f, nil, "", "cluster", "password", "12")
	r.check(t, exitUsage)
	r = runCLI(t, f, nil, "x\n", "cluster", "password", "12", "N3w-Password")
	r.check(t, exitUsage)
}

// TestClusterParams: without NAME=VALUE `cluster params` shows the spec's
// parameters; with them it starts the change, NAME= removing one.
func TestClusterParams(t *testing.T) {
	var got map[string]string
	f := &fakeAPI{
		FindClusterByIDFn: func(id int64) (*dbplane.Cluster, error) {
			return &dbplane.Cluster{ID: id, Name: "orders", Spec: dbplane.ClusterSpec{
				Parameters: map[string]string{"max_connections": "300", "sql_mode": "ANSI"}}}, nil
		},
		UpdateParamsFn: func(id int64, p map[string]string, dryRun bool) (*dbplane.Task, error) {
			got = p
			task := createTask(dbplane.TaskRunning, dbplane.SubtaskReady)
			task.ID, task.Name = 42, "change parameters"
			return task, nil
		},
	}
	r := runCLI(t, f, nil, "", "cluster", "params", "12")
	r.check(t, exitOK)
	if !strings.Contains(r.stdout, "max_connections  300") || !strings.Contains(r.stdout, "sql_mode         ANSI") {
		t.Fatalf("stdout %q", r.stdout)
	}
	r = runCLI(t, f, nil, "", "cluster", "params", "12", "max_connections=500", "sql_mode=")
	r.check(t, exitOK)
	if want := map[string]string{"max_connections": "500", "sql_mode": ""}; !maps.Equal(got, want) || !strings.Contains(r.stdout, "task 42") {
		t.Fatalf("change %v, stdout %q", got, r.stdout)
	}
	r = runCLI(t, f, nil, "", "cluster", "params", "12", "max_connections")
	r.check(t, exitUsage)
}
