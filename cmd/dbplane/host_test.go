package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/google/go-cmp/cmp"
)

// fakeHostAdmin adds the host administration service to fakeAPI; a call
// whose field is nil fails with KindInternal.
type fakeHostAdmin struct {
	*fakeAPI
	FindHostByIDFn    func(id int64) (*dbplane.Host, error)
	DeleteHostFn      func(id int64) error
	DrainHostFn       func(id int64, drained bool) (*dbplane.Host, error)
	CreateJoinTokenFn func(ttl time.Duration) (*dbplane.JoinToken, error)
}

var _ dbplane.HostAdminService = (*fakeHostAdmin)(nil)

func (f *fakeHostAdmin) FindHostByID(_ context.Context, id int64) (*dbplane.Host, error) {
	if f.FindHostByIDFn == nil {
		return nil, unexpected("FindHostByID")
	}
	return f.FindHostByIDFn(id)
}

func (f *fakeHostAdmin) DeleteHost(_ context.Context, id int64) error {
	if f.DeleteHostFn == nil {
		return unexpected("DeleteHost")
	}
	return f.DeleteHostFn(id)
}

func (f *fakeHostAdmin) DrainHost(_ context.Context, id int64, drained bool) (*dbplane.Host, error) {
	if f.DrainHostFn == nil {
		return nil, unexpected("DrainHost")
	}
	return f.DrainHostFn(id, drained)
}

func (f *fakeHostAdmin) CreateJoinToken(_ context.Context, ttl time.Duration) (*dbplane.JoinToken, error) {
	if f.CreateJoinTokenFn == nil {
		return nil, unexpected("CreateJoinToken")
	}
	return f.CreateJoinTokenFn(ttl)
}

// runHostCLI runs the CLI connected to f.
func runHostCLI(t *testing.T, f *fakeHostAdmin, args ...string) result {
	t.Helper()
	if f.fakeAPI == nil {
		f.fakeAPI = &fakeAPI{}
	}
	vars := map[string]string{"XDG_CONFIG_HOME": t.TempDir(), "HOME": t.TempDir()}
	var stdout, stderr bytes.Buffer
	e := envOf(f.fakeAPI, vars, "", &stdout, &stderr)
	e.connect = func(server, token string, tc *tls.Config) api {
		f.fakeAPI.connect(server, token, tc)
		return f
	}
	code := run(t.Context(), args, e)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func db1Host() *dbplane.Host {
	return &dbplane.Host{ID: 7, Name: "db1", Address: "127.0.0.11", AgentPort: 7070, DataRoot: "/srv/dbplane",
		Region: "r1", Zone: "z1", OS: "linux", Arch: "amd64", CPUs: 4, MemoryMB: 16384, DiskGB: 200,
		Status: dbplane.HostOnline, LastSeenAt: atp(90), CreatedAt: at(0), UpdatedAt: at(60)}
}

func TestHostShow(t *testing.T) {
	f := &fakeHostAdmin{FindHostByIDFn: func(id int64) (*dbplane.Host, error) {
		if id != 7 {
			return nil, dbplane.Errorf(dbplane.KindNotFound, "host %d not found", id)
		}
		return db1Host(), nil
	}}
	r := runHostCLI(t, f, "host", "show", "7")
	r.check(t, exitOK)
	want := `ID:          7
Name:        db1
Address:     127.0.0.11
Agent port:  7070
Status:      ONLINE
Drained:     no
Region:      r1
Zone:        z1
Rack:        -
OS:          linux amd64
CPUs:        4
Memory:      16384 MB
Free disk:   200 GB
Data root:   /srv/dbplane
Last seen:   2026-11-22T10:01:30Z
Created:     2026-11-22T10:00:00Z
Updated:     2026-11-22T10:01:00Z
`
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	r = runHostCLI(t, f, "host", "show", "8")
	r.check(t, exitError)
	if r.stderr != "error: host 8 not found\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
	runHostCLI(t, f, "host", "show", "db1").check(t, exitUsage)
}

func TestHostDelete(t *testing.T) {
	var deleted []int64
	f := &fakeHostAdmin{DeleteHostFn: func(id int64) error {
		if id == 7 {
			return dbplane.Errorf(dbplane.KindConflict, "host 7 carries 2 node(s): delete their clusters first")
		}
		deleted = append(deleted, id)
		return nil
	}}
	r := runHostCLI(t, f, "host", "delete", "8")
	r.check(t, exitOK)
	if r.stdout != "host 8 deleted\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	r = runHostCLI(t, f, "host", "delete", "7")
	r.check(t, exitError)
	if !strings.Contains(r.stderr, "carries 2 node(s)") {
		t.Errorf("stderr = %q, want the reason", r.stderr)
	}
	if diff := cmp.Diff([]int64{8}, deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
}

func TestHostDrain(t *testing.T) {
	var calls []bool
	f := &fakeHostAdmin{DrainHostFn: func(id int64, drained bool) (*dbplane.Host, error) {
		calls = append(calls, drained)
		h := db1Host()
		h.Drained = drained
		return h, nil
	}}
	r := runHostCLI(t, f, "host", "drain", "7")
	r.check(t, exitOK)
	if want := "host 7 \"db1\" drained: it takes no new nodes\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	r = runHostCLI(t, f, "host", "drain", "7", "--undo")
	r.check(t, exitOK)
	if want := "host 7 \"db1\" undrained: it takes new nodes\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	if diff := cmp.Diff([]bool{true, false}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestHostJoinTokenCreate(t *testing.T) {
	var ttls []time.Duration
	f := &fakeHostAdmin{CreateJoinTokenFn: func(ttl time.Duration) (*dbplane.JoinToken, error) {
		ttls = append(ttls, ttl)
		return &dbplane.JoinToken{ID: 3, Secret: "dbpj_s3cret", ExpiresAt: at(3600), CreatedAt: at(0)}, nil
	}}
	r := runHostCLI(t, f, "host", "join-token", "create")
	r.check(t, exitOK)
	if r.stdout != "dbpj_s3cret\n" {
		t.Errorf("stdout = %q, want the token alone", r.stdout)
	}
	if strings.Contains(r.stderr, "dbpj_s3cret") || !strings.Contains(r.stderr, "dbplane agent --join https://127.0.0.1:8080 --ca-file CA-BUNDLE.pem --token TOKEN --listen IP:7070") {
		t.Errorf("stderr = %q, want the join command without the secret", r.stderr)
	}

	r = runHostCLI(t, f, "-o", "json", "host", "join-token", "create", "--ttl", "30m")
	r.check(t, exitOK)
	if !strings.Contains(r.stdout, `"token": "dbpj_s3cret"`) || !strings.Contains(r.stdout, `"expires_at"`) {
		t.Errorf("stdout = %q, want the token as JSON", r.stdout)
	}
	if diff := cmp.Diff([]time.Duration{time.Hour, 30 * time.Minute}, ttls); diff != "" {
		t.Errorf("ttls (-want +got):\n%s", diff)
	}
	for _, ttl := range []string{"-1s", "169h", "10ms"} {
		runHostCLI(t, f, "host", "join-token", "create", "--ttl", ttl).check(t, exitUsage)
	}
}

func TestHostListDrained(t *testing.T) {
	f := &fakeAPI{FindHostsFn: func(dbplane.HostFilter) ([]*dbplane.Host, int, error) {
		h := db1Host()
		h.Drained = true
		return []*dbplane.Host{h}, 1, nil
	}}
	r := runCLI(t, f, nil, "", "host", "list")
	r.check(t, exitOK)
	if !strings.Contains(r.stdout, "ONLINE,DRAINED") {
		t.Errorf("stdout = %q, want the drained flag in the status column", r.stdout)
	}
}

// TestHTTPClientAdministersHosts: the host commands rely on the real client
// offering more than the api interface names.
func TestHTTPClientAdministersHosts(t *testing.T) {
	if _, ok := httpConnect("https://127.0.0.1:1", "", nil).(dbplane.HostAdminService); !ok {
		t.Fatal("the HTTP client does not implement dbplane.HostAdminService")
	}
}
