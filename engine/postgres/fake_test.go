package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

// fakeAgent is a HostAgent that records every call and keeps a pretend file
// system, enough for the steps to believe their commands worked.
type fakeAgent struct {
	mu        sync.Mutex
	hostID    int64
	diskGB    int64
	files     map[string][]byte
	dirs      map[string]bool
	running   map[string]bool
	instances map[string]dbplane.Instance // the last spec started under each id
	noLimits  string                      // why limits are not enforced; "" when they are
	cmds      []dbplane.Command
	calls     []string
	removed   [][]string
	packages  [][]string
	ss        string            // output of ss
	replState string            // what pg_stat_replication answers
	verifier  string            // the admin role's password verifier
	settings  map[string]string // pg_settings: context by name
	refuse    string            // a script containing it fails, as PostgreSQL refusing a value
}

func newFakeAgent(hostID int64) *fakeAgent {
	return &fakeAgent{hostID: hostID, diskGB: 100, files: map[string][]byte{}, dirs: map[string]bool{},
		running: map[string]bool{}, instances: map[string]dbplane.Instance{}, replState: "streaming|async",
		settings: map[string]string{"work_mem": "user", "shared_buffers": "postmaster", "max_connections": "postmaster"}}
}

var _ dbplane.HostAgent = (*fakeAgent)(nil)

func (f *fakeAgent) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeAgent) Facts(context.Context) (dbplane.HostFacts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Facts")
	return dbplane.HostFacts{Hostname: fmt.Sprintf("h%d", f.hostID), OS: "linux", Arch: "amd64", CPUs: 2,
		MemoryMB: 4096, DiskGB: f.diskGB, DataRoot: "/data"}, nil
}

func (f *fakeAgent) EnsurePackages(_ context.Context, pkgs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EnsurePackages %v", pkgs)
	f.packages = append(f.packages, pkgs)
	return nil
}

func (f *fakeAgent) EnsureUser(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EnsureUser %s", name)
	return nil
}

func (f *fakeAgent) EnsureDir(_ context.Context, p, owner string, mode uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("EnsureDir %s %s %o", p, owner, mode)
	f.dirs[p] = true
	return nil
}

func (f *fakeAgent) WriteFile(_ context.Context, file dbplane.File) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("WriteFile %s %s %o", file.Path, file.Owner, file.Mode)
	f.files[file.Path] = bytes.Clone(file.Content)
	return nil
}

func (f *fakeAgent) Run(_ context.Context, cmd dbplane.Command) (*dbplane.CommandResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Run %s %s", cmd.User, strings.Join(cmd.Argv, " "))
	f.cmds = append(f.cmds, cmd)
	res := &dbplane.CommandResult{}
	arg := func(flag string) string {
		for i, a := range cmd.Argv {
			if a == flag && i+1 < len(cmd.Argv) {
				return cmd.Argv[i+1]
			}
		}
		return ""
	}
	switch path.Base(cmd.Argv[0]) {
	case "test":
		p := cmd.Argv[len(cmd.Argv)-1]
		if _, ok := f.files[p]; !ok && !f.dirs[p] {
			res.ExitCode = 1
		}
	case "ss":
		res.Stdout = f.ss
	case "initdb", "pg_basebackup":
		f.files[path.Join(arg("-D"), "PG_VERSION")] = []byte("15\n")
	case "psql":
		script := string(cmd.Stdin)
		switch {
		case f.refuse != "" && strings.Contains(script, f.refuse):
			res.ExitCode, res.Stderr = 3, `psql:<stdin>:6: ERROR:  invalid value for parameter`
		case strings.Contains(script, "pg_stat_replication"):
			res.Stdout = f.replState + "\n"
		case strings.Contains(script, "FROM pg_settings"):
			for _, k := range slices.Sorted(maps.Keys(f.settings)) {
				if strings.Contains(script, "'"+k+"'") {
					res.Stdout += k + "|" + f.settings[k] + "\n"
				}
			}
		case strings.Contains(script, "FROM pg_authid"):
			res.Stdout = f.verifier + "\n"
		case strings.Contains(script, "ALTER ROLE admin PASSWORD"):
			f.verifier = strings.Trim(strings.Fields(script[strings.Index(script, "ALTER ROLE admin PASSWORD"):])[4], "';")
		}
	}
	return res, nil
}

func (f *fakeAgent) StartInstance(_ context.Context, inst dbplane.Instance) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("StartInstance %s %s %s", inst.ID, inst.User, strings.Join(inst.Argv, " "))
	f.running[inst.ID] = true
	f.instances[inst.ID] = inst
	return nil
}

func (f *fakeAgent) StopInstance(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("StopInstance %s", id)
	delete(f.running, id)
	return nil
}

func (f *fakeAgent) InstanceStatus(_ context.Context, id string) (*dbplane.InstanceStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("InstanceStatus %s", id)
	if !f.running[id] {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "no instance %s", id)
	}
	return &dbplane.InstanceStatus{ID: id, Running: true, PID: 42,
		LimitsEnforced: f.noLimits == "", LimitsNote: f.noLimits}, nil
}

func (f *fakeAgent) RemoveInstance(_ context.Context, id string, paths []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("RemoveInstance %s %v", id, paths)
	delete(f.running, id)
	f.removed = append(f.removed, paths)
	for _, p := range paths {
		for k := range f.files {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(f.files, k)
			}
		}
		for k := range f.dirs {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(f.dirs, k)
			}
		}
	}
	return nil
}

// commands returns the commands run so far whose program is named prog.
func (f *fakeAgent) commands(prog string) []dbplane.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dbplane.Command
	for _, c := range f.cmds {
		if path.Base(c.Argv[0]) == prog {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeAgent) file(t *testing.T, p string) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[p]
	if !ok {
		t.Fatalf("host %d has no file %s", f.hostID, p)
	}
	return string(b)
}

// The dialer and the store are the kit's.
type (
	fakeDialer = enginetest.Dialer
	fakeStore  = enginetest.Store
)
