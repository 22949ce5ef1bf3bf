package httpapi_test

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/dbplane/dbplane"
)

// TestClusterPasswordAndParameters: both changes pass their body to the
// service and answer 202 with the task (200 on a dry run), through the
// client too; a bad body or an invalid value is a 400 naming the field.
func TestClusterPasswordAndParameters(t *testing.T) {
	e := newEnv(t)
	answer := func(kind string, dryRun bool) *dbplane.Task {
		task := sampleTask(12)
		task.Kind = kind
		if dryRun {
			task.ID = 0
		}
		return task
	}
	var gotPW string
	e.clusters.ChangePasswordFn = func(_ context.Context, id int64, pw string, dryRun bool) (*dbplane.Task, error) {
		gotPW = pw
		if pw == "weak" {
			return nil, dbplane.Invalid(dbplane.FieldError{Field: "password", Message: "must be 8 to 32 characters long"})
		}
		return answer(dbplane.TaskKindClusterPassword, dryRun), nil
	}
	var gotParams map[string]string
	e.clusters.UpdateParamsFn = func(_ context.Context, id int64, p map[string]string, dryRun bool) (*dbplane.Task, error) {
		gotParams = p
		if _, ok := p["port"]; ok {
			return nil, dbplane.Invalid(dbplane.FieldError{Field: "parameters[port]", Message: "is set by dbplane"})
		}
		return answer(dbplane.TaskKindClusterParameters, dryRun), nil
	}

	task, err := e.client.ChangePassword(t.Context(), 5, "N3w-Password", false)
	if err != nil || task.ID != 12 || gotPW != "N3w-Password" {
		t.Fatalf("ChangePassword = %+v, %v (service got %q)", task, err, gotPW)
	}
	if task, err = e.client.ChangePassword(t.Context(), 5, "N3w-Password", true); err != nil || task.ID != 0 {
		t.Fatalf("dry run = %+v, %v", task, err)
	}
	if _, err = e.client.ChangePassword(t.Context(), 5, "weak", false); dbplane.ErrorKind(err) != dbplane.KindInvalid {
		t.Fatalf("weak password: %v", err)
	}
	change := map[string]string{"max_connections": "300", "wait_timeout": ""}
	if task, err = e.client.UpdateParameters(t.Context(), 5, change, false); err != nil || task.ID != 12 || !maps.Equal(gotParams, change) {
		t.Fatalf("UpdateParameters = %+v, %v (service got %v)", task, err, gotParams)
	}

	resp, data := e.request(t, "POST", "/v1/clusters/5/password", `{"password":"N3w-Password"}`)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") != "/v1/tasks/12" {
		t.Fatalf("password: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), data)
	}
	resp, data = e.request(t, "PATCH", "/v1/clusters/5/parameters?dry_run=true", `{"parameters":{"a":"1"}}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("parameters dry run: %d %s", resp.StatusCode, data)
	}
	for _, bad := range []struct{ method, path, body string }{
		{"POST", "/v1/clusters/5/password", `{"password":"weak"}`},
		{"POST", "/v1/clusters/5/password", `{"pass":"N3w-Password"}`},
		{"PATCH", "/v1/clusters/5/parameters", `{"parameters":{"port":"1"}}`},
		{"PATCH", "/v1/clusters/5/parameters", `{"parameters":["a"]}`},
		{"PATCH", "/v1/clusters/x/parameters", `{"parameters":{"a":"1"}}`},
	} {
		resp, data := e.request(t, bad.method, bad.path, bad.body)
		mustErrorBody(t, resp, data, http.StatusBadRequest)
	}
}
