package enginetest

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dbplane/dbplane"
)

// Agent is a HostAgent that records every call and keeps a pretend file
// system, enough for the host steps to believe their commands worked. An
// engine's fake embeds it and plays its own programs in Exec.
type Agent struct {
	// Mu guards the agent; hooks run with it held.
	Mu        sync.Mutex
	HostID    int64
	DiskGB    int64
	Files     map[string][]byte
	Dirs      map[string]bool
	Running   map[string]bool
	Instances map[string]dbplane.Instance // the last spec started under each id
	Started   []dbplane.Instance          // every start, in order
	NoLimits  string                      // why limits are not enforced; "" when they are
	Cmds      []dbplane.Command
	Calls     []string
	Removed   [][]string
	Packages  [][]string
	SS        string // output of ss

	// StrictSpecs refuses to start a running instance with another spec,
	// as the agent's supervisor does.
	StrictSpecs bool
	// NeedDirs refuses to write a file into a directory not made.
	NeedDirs bool
	// Exec plays the engine's programs: every command but test and ss.
	Exec func(cmd dbplane.Command, res *dbplane.CommandResult)
	// OnStart runs before an instance counts as running; an error fails
	// the start.
	OnStart func(inst dbplane.Instance) error
	// OnStop runs when an instance stops or, removed, is removed.
	OnStop func(id string, removed bool)
}

// NewAgent returns an agent of host hostID with 100 GB free.
func NewAgent(hostID int64) *Agent {
	return &Agent{HostID: hostID, DiskGB: 100, Files: map[string][]byte{}, Dirs: map[string]bool{},
		Running: map[string]bool{}, Instances: map[string]dbplane.Instance{}}
}

var _ dbplane.HostAgent = (*Agent)(nil)

func (f *Agent) record(format string, args ...any) {
	f.Calls = append(f.Calls, fmt.Sprintf(format, args...))
}

// Facts describes a small linux host.
func (f *Agent) Facts(context.Context) (dbplane.HostFacts, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("Facts")
	return dbplane.HostFacts{Hostname: fmt.Sprintf("h%d", f.HostID), OS: "linux", Arch: "amd64", CPUs: 2,
		MemoryMB: 4096, DiskGB: f.DiskGB, DataRoot: "/data"}, nil
}

// EnsurePackages records the packages.
func (f *Agent) EnsurePackages(_ context.Context, pkgs []string) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("EnsurePackages %v", pkgs)
	f.Packages = append(f.Packages, pkgs)
	return nil
}

// EnsureUser records the user.
func (f *Agent) EnsureUser(_ context.Context, name string) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("EnsureUser %s", name)
	return nil
}

// EnsureDir makes a pretend directory.
func (f *Agent) EnsureDir(_ context.Context, p, owner string, mode uint32) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("EnsureDir %s %s %o", p, owner, mode)
	f.Dirs[p] = true
	return nil
}

// WriteFile keeps the file's content.
func (f *Agent) WriteFile(_ context.Context, file dbplane.File) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("WriteFile %s %s %o", file.Path, file.Owner, file.Mode)
	if f.NeedDirs && !f.Dirs[path.Dir(file.Path)] {
		return dbplane.Errorf(dbplane.KindInvalid, "no directory %s", path.Dir(file.Path))
	}
	f.Files[file.Path] = bytes.Clone(file.Content)
	return nil
}

// Run answers test from the pretend file system, ss from SS, and the rest
// through Exec.
func (f *Agent) Run(_ context.Context, cmd dbplane.Command) (*dbplane.CommandResult, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("Run %s %s", cmd.User, strings.Join(cmd.Argv, " "))
	f.Cmds = append(f.Cmds, cmd)
	res := &dbplane.CommandResult{}
	switch path.Base(cmd.Argv[0]) {
	case "test":
		p := cmd.Argv[len(cmd.Argv)-1]
		if _, ok := f.Files[p]; !ok && !f.Dirs[p] {
			res.ExitCode = 1
		}
	case "ss":
		res.Stdout = f.SS
	default:
		if f.Exec != nil {
			f.Exec(cmd, res)
		}
	}
	return res, nil
}

// StartInstance marks the instance running.
func (f *Agent) StartInstance(_ context.Context, inst dbplane.Instance) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("StartInstance %s %s %s", inst.ID, inst.User, strings.Join(inst.Argv, " "))
	if cur, ok := f.Instances[inst.ID]; f.StrictSpecs && f.Running[inst.ID] && ok && !slices.Equal(cur.Argv, inst.Argv) {
		return dbplane.Permanent(dbplane.Errorf(dbplane.KindConflict, "instance %s is supervised with a different spec; stop it first", inst.ID))
	}
	f.Started = append(f.Started, inst)
	if f.OnStart != nil {
		if err := f.OnStart(inst); err != nil {
			return err
		}
	}
	f.Running[inst.ID] = true
	f.Instances[inst.ID] = inst
	return nil
}

// StopInstance marks the instance stopped.
func (f *Agent) StopInstance(_ context.Context, id string) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("StopInstance %s", id)
	delete(f.Running, id)
	if f.OnStop != nil {
		f.OnStop(id, false)
	}
	return nil
}

// InstanceStatus reports a running instance; KindNotFound for another.
func (f *Agent) InstanceStatus(_ context.Context, id string) (*dbplane.InstanceStatus, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("InstanceStatus %s", id)
	if !f.Running[id] {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "no instance %s", id)
	}
	return &dbplane.InstanceStatus{ID: id, Running: true, PID: 42,
		LimitsEnforced: f.NoLimits == "", LimitsNote: f.NoLimits}, nil
}

// RemoveInstance stops the instance and removes paths and all below them.
func (f *Agent) RemoveInstance(_ context.Context, id string, paths []string) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.record("RemoveInstance %s %v", id, paths)
	delete(f.Running, id)
	if f.OnStop != nil {
		f.OnStop(id, true)
	}
	f.Removed = append(f.Removed, paths)
	for _, p := range paths {
		for k := range f.Files {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(f.Files, k)
			}
		}
		for k := range f.Dirs {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(f.Dirs, k)
			}
		}
	}
	return nil
}

// Commands returns the commands run so far whose program is named prog.
func (f *Agent) Commands(prog string) []dbplane.Command {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	var out []dbplane.Command
	for _, c := range f.Cmds {
		if path.Base(c.Argv[0]) == prog {
			out = append(out, c)
		}
	}
	return out
}

// File returns the content of file p, failing t when there is none.
func (f *Agent) File(t *testing.T, p string) string {
	t.Helper()
	f.Mu.Lock()
	defer f.Mu.Unlock()
	b, ok := f.Files[p]
	if !ok {
		t.Fatalf("host %d has no file %s", f.HostID, p)
	}
	return string(b)
}

// Spec returns the spec of instance id while it runs; a zero one when it
// does not.
func (f *Agent) Spec(id string) dbplane.Instance {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if !f.Running[id] {
		return dbplane.Instance{}
	}
	return f.Instances[id]
}
