package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/jackc/pgx/v5"
)

// recorder is an http.RoundTripper that keeps a copy of every response
// body, event streams included, as the client reads it.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(resp.Body, r), resp.Body}
	}
	return resp, err
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// syncBuffer is a bytes.Buffer safe for concurrent writers: the logs of the
// control plane and its agents.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// TestSecretsNeverLeak runs a cluster's whole life, driven by a user's
// access key, with a known database password (changed once, through a
// task, to another known one) and a known secret key, and then looks for
// them everywhere they could leak: every log line of the
// control plane and its agents (at debug level), every API response and
// event stream after the key's creation, every task's subtask logs, the
// audit log, and the bytes of the control plane's data directory (the
// store is encrypted at rest). The secrets must appear nowhere.
func TestSecretsNeverLeak(t *testing.T) {
	const password, newPassword = "Scan-Me-Passw0rd-7731", "Scan-Me-Too-Passw0rd-4410"
	logs := &syncBuffer{}
	cp := mustRunControlPlaneLogged(t, func(c *Config) { c.LogLevel = "debug" }, logs)
	root := mustFleetRoot(t)
	mustStartAgents(t, cp, root, 2)
	ctx := context.Background()

	// An operator of a project creates an access key; the answer with its
	// secret is the one place the secret may appear.
	p := &dbplane.Project{Name: "vault"}
	if err := cp.client.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	carol := &dbplane.User{Name: "carol", Bindings: []dbplane.RoleBinding{{ProjectID: p.ID, Role: dbplane.RoleOperator}}}
	if err := cp.client.CreateUser(ctx, carol, "Carol-Passw0rd-Long"); err != nil {
		t.Fatal(err)
	}
	asCarol := newAPIClient(cp.URL, cp.http)
	tok, err := asCarol.IssueToken(ctx, "carol", "Carol-Passw0rd-Long")
	if err != nil {
		t.Fatal(err)
	}
	asCarol.Token = tok.Secret
	key, err := asCarol.CreateAccessKey(ctx, carol.ID, "scan test")
	if err != nil {
		t.Fatal(err)
	}
	secretKey := key.Secret
	if secretKey == "" {
		t.Fatal("the access key came without its secret")
	}

	rec := &recorder{next: cp.http.Transport}
	signed := newAPIClient(cp.URL, &http.Client{Transport: rec})
	signed.AccessKeyID, signed.SecretKey = key.ID, secretKey

	spec := dbplane.ClusterSpec{Name: "ledger", Project: "vault", Engine: dbplane.EnginePostgreSQL, Version: "15",
		Topology: dbplane.TopologyReplication, Nodes: 2, ReplicationMode: dbplane.ReplicationAsync,
		Flavor: "dbp.c2.m4", VolumeGB: 10, Password: password}
	c, task, err := signed.CreateCluster(ctx, spec, false)
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	tasks := []*dbplane.Task{waitTask(t, signed, task.ID)}
	if tasks[0].Status != dbplane.TaskSuccessful {
		t.Fatalf("create ended %s: %v", tasks[0].Status, failedSubtasks(tasks[0]))
	}
	if c, err = signed.FindClusterByID(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	// The password is the one given: the database takes it.
	cfg, err := pgx.ParseConfig("postgresql://admin@" + c.Endpoints.Primary + "/postgres")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting with the cluster's password: %v", err)
	}
	conn.Close(ctx)
	if _, _, err := signed.FindClusters(ctx, dbplane.ClusterFilter{}); err != nil {
		t.Fatal(err)
	}
	// A new password goes through a task too, and the database takes it.
	pwTask, err := signed.ChangePassword(ctx, c.ID, newPassword, false)
	if err != nil {
		t.Fatal(err)
	}
	tasks = append(tasks, waitTask(t, signed, pwTask.ID))
	if tasks[1].Status != dbplane.TaskSuccessful {
		t.Fatalf("password change ended %s: %v", tasks[1].Status, failedSubtasks(tasks[1]))
	}
	cfg.Password = newPassword
	if conn, err = pgx.ConnectConfig(ctx, cfg); err != nil {
		t.Fatalf("connecting with the new password: %v", err)
	}
	conn.Close(ctx)

	del, err := signed.DeleteCluster(ctx, c.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	tasks = append(tasks, waitTask(t, signed, del.ID))
	if tasks[2].Status != dbplane.TaskSuccessful {
		t.Fatalf("delete ended %s: %v", tasks[2].Status, failedSubtasks(tasks[2]))
	}

	// What a user can read afterwards: tasks, their subtask logs, the audit
	// log (read by the admin, and kept as JSON).
	var seen bytes.Buffer
	if _, _, err := signed.FindTasks(ctx, dbplane.TaskFilter{}); err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, task := range tasks {
		for _, s := range task.Subtasks {
			log, err := signed.SubtaskLog(ctx, task.ID, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			lines += len(log)
		}
	}
	events, _, err := cp.client.FindAuditEvents(ctx, dbplane.AuditFilter{Limit: dbplane.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	json.NewEncoder(&seen).Encode(events)
	if lines == 0 || len(events) < 4 || len(logs.bytes()) == 0 {
		t.Fatalf("too little to scan: %d subtask log lines, %d audit events, %d log bytes", lines, len(events), len(logs.bytes()))
	}

	places := map[string][]byte{
		"logs of the control plane and agents": logs.bytes(),
		"API responses and event streams":      rec.bytes(),
		"audit log":                            seen.Bytes(),
	}
	filepath.WalkDir(cp.cfg.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			places["file "+path] = data
		}
		return nil
	})
	for where, data := range places {
		for name, secret := range map[string]string{"database password": password, "new database password": newPassword, "secret key": secretKey} {
			if n := bytes.Count(data, []byte(secret)); n > 0 {
				t.Errorf("the %s appears %d times in the %s", name, n, where)
			}
		}
	}
	if !bytes.Contains(rec.bytes(), []byte(`"ledger"`)) {
		t.Error("the recorded responses do not name the cluster: the recorder saw nothing")
	}
}
