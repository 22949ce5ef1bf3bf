package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
)

const testAdminPassword = "Test-Passw0rd"

// testControlPlane is a control plane running in the test process.
type testControlPlane struct {
	*controlPlane
	client *httpapi.Client
	// http is an HTTP client that trusts the control plane's CA.
	http *http.Client
}

// mustTLSClient returns an HTTP client that verifies servers with the CA
// certificates in caFile only.
func mustTLSClient(tb testing.TB, caFile string) *http.Client {
	tb.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		tb.Fatalf("%s holds no certificate", caFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool}
	return &http.Client{Transport: t}
}

// newAPIClient returns a client of the API at url that verifies it with
// hc.
func newAPIClient(url string, hc *http.Client) *httpapi.Client {
	c := httpapi.NewClient(url)
	c.HTTPClient = hc
	return c
}

// mustRunControlPlane runs a wired control plane on a loopback port with a
// SQLite store in a temporary directory (or the PostgreSQL named by
// DBPLANE_TEST_STORE) and returns it with a logged-in client. It stops when
// the test ends, and the test fails if it does not stop cleanly.
func mustRunControlPlane(tb testing.TB) *testControlPlane {
	tb.Helper()
	return mustRunControlPlaneWith(tb, nil)
}

// mustRunControlPlaneWith is mustRunControlPlane with the configuration
// edited by edit (if not nil). A client is logged in only when the
// control plane serves a certificate of its own CA.
func mustRunControlPlaneWith(tb testing.TB, edit func(*Config)) *testControlPlane {
	tb.Helper()
	return mustRunControlPlaneLogged(tb, edit, nil)
}

// mustRunControlPlaneLogged is mustRunControlPlaneWith with the logs of the
// control plane (and of agents started with it) written to logs, if not
// nil.
func mustRunControlPlaneLogged(tb testing.TB, edit func(*Config), logs io.Writer) *testControlPlane {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = tb.TempDir()
	cfg.AdminPassword = testAdminPassword
	cfg.LeaseTTL = 3 * time.Second
	cfg.ShutdownGrace = 5 * time.Second
	cfg.MaxBodyBytes = 64 << 10
	if edit != nil {
		edit(cfg)
	}
	switch {
	case logs != nil:
	case testing.Verbose():
		logs = os.Stderr
	default:
		logs = io.Discard
	}
	log := cfg.NewLogger(logs)
	ctx, cancel := context.WithCancel(context.Background())
	cp, err := openControlPlane(ctx, cfg, log)
	if err != nil {
		cancel()
		tb.Fatalf("openControlPlane: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cp.run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("control plane stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Errorf("control plane did not stop within 30s")
		}
	})
	if cfg.TLSCertFile != "" {
		return &testControlPlane{controlPlane: cp}
	}
	hc := mustTLSClient(tb, cp.CAFile)
	c := newAPIClient(cp.URL, hc)
	tok, err := c.IssueToken(ctx, dbplane.AdminUser, testAdminPassword)
	if err != nil {
		tb.Fatalf("IssueToken: %v", err)
	}
	c.Token = tok.Secret
	return &testControlPlane{controlPlane: cp, client: c, http: hc}
}

func validSpec(name string) dbplane.ClusterSpec {
	return dbplane.ClusterSpec{Name: name, Engine: dbplane.EnginePostgreSQL, Version: "15",
		Topology: dbplane.TopologyReplication, Nodes: 3, ReplicationMode: dbplane.ReplicationSync,
		Flavor: "dbp.c2.m4", VolumeGB: 20, Password: "Secret-Passw0rd"}
}

// waitTask follows a task's events until it ends and returns it.
func waitTask(tb testing.TB, c *httpapi.Client, id int64) *dbplane.Task {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	events, err := c.WatchTask(ctx, id, 0)
	if err != nil {
		tb.Fatalf("WatchTask(%d): %v", id, err)
	}
	for range events {
	}
	if ctx.Err() != nil {
		tb.Fatalf("task %d did not end in time", id)
	}
	t, err := c.FindTaskByID(context.Background(), id)
	if err != nil {
		tb.Fatalf("FindTaskByID(%d): %v", id, err)
	}
	return t
}

func mustGet(tb testing.TB, hc *http.Client, url string) string {
	tb.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// TestInvalidRequestsWriteNothing posts bad bodies and bad specs; each gets
// a 400 (or 413) naming the field, and nothing is stored.
func TestInvalidRequestsWriteNothing(t *testing.T) {
	cp := mustRunControlPlane(t)
	spec := func(edit func(m map[string]any)) string {
		b, _ := json.Marshal(validSpec("inventory"))
		var m map[string]any
		json.Unmarshal(b, &m)
		edit(m)
		b, _ = json.Marshal(m)
		return string(b)
	}
	for _, tc := range []struct {
		name, body, field string
		status            int
	}{
		{"malformed JSON", `{"name": "inventory",`, "body", 400},
		{"wrong type", spec(func(m map[string]any) { m["nodes"] = "three" }), "nodes", 400},
		{"unknown field", spec(func(m map[string]any) { m["colour"] = "blue" }), "colour", 400},
		{"short name", spec(func(m map[string]any) { m["name"] = "ab" }), "name", 400},
		{"weak password", spec(func(m map[string]any) { m["password"] = "password" }), "password", 400},
		{"unknown engine", spec(func(m map[string]any) { m["engine"] = "oceanbase" }), "engine", 400},
		{"volume not a multiple of 10", spec(func(m map[string]any) { m["volume_gb"] = 15 }), "volume_gb", 400},
		{"unknown flavor", spec(func(m map[string]any) { m["flavor"] = "huge" }), "flavor", 400},
		{"oversized body", `{"name":"` + strings.Repeat("x", 128<<10) + `"}`, "", 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", cp.URL+"/v1/clusters", bytes.NewBufferString(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+cp.client.Token)
			resp, err := cp.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct {
					Code    string               `json:"code"`
					Details []dbplane.FieldError `json:"details"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("decoding the error body: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, tc.status)
			}
			if tc.field != "" && !hasField(body.Error.Details, tc.field) {
				t.Fatalf("details %+v do not name %q", body.Error.Details, tc.field)
			}
		})
	}
	if _, total, err := cp.client.FindClusters(context.Background(), dbplane.ClusterFilter{}); err != nil || total != 0 {
		t.Fatalf("%d clusters stored after bad requests (err %v); want 0", total, err)
	}
	if _, total, _ := cp.client.FindTasks(context.Background(), dbplane.TaskFilter{}); total != 0 {
		t.Fatalf("%d tasks stored after bad requests; want 0", total)
	}
}

func hasField(details []dbplane.FieldError, field string) bool {
	for _, d := range details {
		if d.Field == field {
			return true
		}
	}
	return false
}

// TestDevAdminPasswordPersists: dev mode keeps its generated password, so a
// restarted dev control plane prints the same credentials.
func TestDevAdminPasswordPersists(t *testing.T) {
	dir := t.TempDir()
	first, err := devAdminPassword(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := dbplane.ValidateClusterSpec(&dbplane.ClusterSpec{Password: first}, dbplane.DefaultCatalog()); hasField(dbplane.ErrorFields(err), "password") {
		t.Fatalf("generated password %q breaks the password rules: %v", first, err)
	}
	second, err := devAdminPassword(dir)
	if err != nil || second != first {
		t.Fatalf("second read = %q, %v; want %q", second, err, first)
	}
	if fi, err := os.Stat(filepath.Join(dir, "admin.password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.password mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
