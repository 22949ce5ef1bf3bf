package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/dbplane/dbplane/pki"
	"github.com/google/go-cmp/cmp"
)

// runHTTP runs the CLI with its real HTTP client against the real API
// server, which serves the fake services f: the error shape and the event
// stream make the round trip.
func runHTTP(t *testing.T, f *fakeAPI, stdin string, args ...string) result {
	t.Helper()
	f.AuthenticateFn = func(token string) (*dbplane.Principal, error) {
		if token != "good" {
			return nil, dbplane.Errorf(dbplane.KindUnauthorized, "invalid token")
		}
		return &dbplane.Principal{Via: dbplane.ViaToken, User: &dbplane.User{ID: 1, Name: "admin",
			Bindings: []dbplane.RoleBinding{{ProjectID: dbplane.GlobalScope, Role: dbplane.RoleAdmin}}}}, nil
	}
	srv, caFile := mustServeTLS(t, (&httpapi.Server{Clusters: f, Tasks: f, Hosts: f, Auth: f}).Handler())
	return runHTTPEnv(t, map[string]string{
		"DBPLANE_SERVER": srv.URL, "DBPLANE_TOKEN": "good", "DBPLANE_CA_FILE": caFile,
		"XDG_CONFIG_HOME": t.TempDir(), "HOME": t.TempDir(),
	}, stdin, args...)
}

// runHTTPEnv runs the CLI with its real HTTP client and the environment
// vars.
func runHTTPEnv(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := env{
		stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr,
		getenv:  mapEnv(vars),
		connect: httpConnect,
		now:     func() time.Time { return at(100) },
	}
	code := run(t.Context(), args, e)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// mustServeTLS serves h over TLS with a certificate of a new CA for
// 127.0.0.1 and returns the server and the path of the CA's PEM file.
func mustServeTLS(t *testing.T, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServerTLS("test API", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

func TestHTTPFieldErrors(t *testing.T) {
	f := &fakeAPI{CreateClusterFn: func(dbplane.ClusterSpec, bool) (*dbplane.Cluster, *dbplane.Task, error) {
		return nil, nil, dbplane.Invalid(
			dbplane.FieldError{Field: "volume_gb", Message: "must be a multiple of 10"},
			dbplane.FieldError{Field: "password", Message: "must be 8 to 32 characters"},
		)
	}}
	r := runHTTP(t, f, "short\n", "cluster", "create", "--name", "orders", "--volume-gb", "15", "--password-stdin")
	r.check(t, exitError)
	want := `error: invalid request: 2 fields are invalid
  volume_gb (--volume-gb): must be a multiple of 10
  password (--password-stdin): must be 8 to 32 characters
`
	if diff := cmp.Diff(want, r.stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

func TestHTTPWatchFailedTask(t *testing.T) {
	final := createTask(dbplane.TaskFailed, dbplane.SubtaskSuccessful, dbplane.SubtaskFailed)
	f := &fakeAPI{
		WatchTaskFn: func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
			return eventsOf(
				subtaskEvent(1, 0, dbplane.SubtaskSuccessful, 5),
				subtaskEvent(2, 1, dbplane.SubtaskFailed, 15),
				taskEvent(3, dbplane.TaskFailed, 65),
			), nil
		},
		FindTaskByIDFn: func(int64) (*dbplane.Task, error) { return final, nil },
	}
	r := runHTTP(t, f, "", "task", "watch", "34", "-o", "json")
	r.check(t, exitTaskFailed)
	want := `2026-11-22T10:00:05Z  subtask 12 "Place nodes" SUCCESSFUL
2026-11-22T10:00:15Z  subtask 13 "Install packages" FAILED
2026-11-22T10:01:05Z  task 34 FAILED
task 34 "create cluster orders" FAILED after 1m5s
  subtask 13 "Install packages" FAILED: apt-get install failed
retry it with 'dbplane task retry 34', or undo it with 'dbplane task rollback 34'
`
	if diff := cmp.Diff(want, r.stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stdout, `"status": "FAILED"`) {
		t.Errorf("stdout = %s, want the final task as JSON", r.stdout)
	}
}

func TestHTTPNotFound(t *testing.T) {
	f := &fakeAPI{FindTaskByIDFn: func(id int64) (*dbplane.Task, error) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "task %d not found", id)
	}}
	r := runHTTP(t, f, "", "task", "show", "99")
	r.check(t, exitError)
	if want := "error: task 99 not found\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}
