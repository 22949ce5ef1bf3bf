package redis_test

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

// fakeAgent is a HostAgent that records every call and keeps a pretend file
// system. Starting an instance starts a fake Redis node from the
// redis.conf the instance names.
type fakeAgent struct {
	mu        sync.Mutex
	hostID    int64
	diskGB    int64
	files     map[string][]byte
	dirs      map[string]bool
	running   map[string]bool
	addrs     map[string]string // instance id → the address its node listens on
	instances []dbplane.Instance
	cmds      []dbplane.Command
	calls     []string
	removed   [][]string
	ss        string // output of ss
	redis     *fakeRedis
}

func newFakeAgent(hostID int64, r *fakeRedis) *fakeAgent {
	return &fakeAgent{hostID: hostID, diskGB: 100, files: map[string][]byte{}, dirs: map[string]bool{},
		running: map[string]bool{}, addrs: map[string]string{}, redis: r}
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
	if !f.dirs[path.Dir(file.Path)] {
		return dbplane.Errorf(dbplane.KindInvalid, "no directory %s", path.Dir(file.Path))
	}
	f.files[file.Path] = bytes.Clone(file.Content)
	return nil
}

func (f *fakeAgent) Run(_ context.Context, cmd dbplane.Command) (*dbplane.CommandResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Run %s %s", cmd.User, strings.Join(cmd.Argv, " "))
	f.cmds = append(f.cmds, cmd)
	res := &dbplane.CommandResult{}
	switch path.Base(cmd.Argv[0]) {
	case "ss":
		res.Stdout = f.ss
	case "tail":
		res.Stdout = "fake log\n"
	default:
		res.ExitCode = 127
	}
	return res, nil
}

func (f *fakeAgent) StartInstance(_ context.Context, inst dbplane.Instance) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("StartInstance %s %s %s", inst.ID, inst.User, strings.Join(inst.Argv, " "))
	f.instances = append(f.instances, inst)
	conf, ok := f.files[inst.Argv[len(inst.Argv)-1]]
	if !ok {
		return dbplane.Errorf(dbplane.KindInvalid, "no configuration %s", inst.Argv[len(inst.Argv)-1])
	}
	addr, err := f.redis.start(string(conf))
	if err != nil {
		return err
	}
	f.running[inst.ID] = true
	f.addrs[inst.ID] = addr
	return nil
}

func (f *fakeAgent) StopInstance(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("StopInstance %s", id)
	delete(f.running, id)
	f.redis.stop(f.addrs[id], false)
	return nil
}

func (f *fakeAgent) InstanceStatus(_ context.Context, id string) (*dbplane.InstanceStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("InstanceStatus %s", id)
	if !f.running[id] {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "no instance %s", id)
	}
	return &dbplane.InstanceStatus{ID: id, Running: true, PID: 42}, nil
}

func (f *fakeAgent) RemoveInstance(_ context.Context, id string, paths []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("RemoveInstance %s %v", id, paths)
	delete(f.running, id)
	f.redis.stop(f.addrs[id], true)
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
