package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/dbplane/dbplane"
)

// localAgent performs HostAgent calls on this machine, as root, running
// commands and instances as their OS users. It stands for the agent of one
// "host" (a loopback address and a data root) in the integration test, so
// that the test depends on nothing but this package and the OS.
type localAgent struct {
	address, dataRoot string

	mu    sync.Mutex
	procs map[string]*localProc
}

type localProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

var _ dbplane.HostAgent = (*localAgent)(nil)

func newLocalAgent(address, dataRoot string) *localAgent {
	return &localAgent{address: address, dataRoot: dataRoot, procs: map[string]*localProc{}}
}

func (a *localAgent) Facts(context.Context) (dbplane.HostFacts, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(a.dataRoot, &st); err != nil {
		return dbplane.HostFacts{}, err
	}
	return dbplane.HostFacts{Hostname: a.address, Address: a.address, OS: "linux", CPUs: 1, MemoryMB: 1024,
		DiskGB: int64(st.Bavail) * st.Bsize >> 30, DataRoot: a.dataRoot}, nil
}

func (a *localAgent) EnsurePackages(ctx context.Context, packages []string) error {
	for _, p := range packages {
		out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Status}", p).Output()
		if err != nil || !bytes.Equal(out, []byte("install ok installed")) {
			return fmt.Errorf("package %s is not installed (%q, %v)", p, out, err)
		}
	}
	return nil
}

func (a *localAgent) EnsureUser(_ context.Context, name string) error {
	_, err := user.Lookup(name)
	return err
}

func ids(name string) (int, int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid, nil
}

func (a *localAgent) EnsureDir(_ context.Context, path, owner string, mode uint32) error {
	uid, gid, err := ids(owner)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(path, os.FileMode(mode)); err != nil {
		return err
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return err
	}
	return os.Chmod(path, os.FileMode(mode))
}

func (a *localAgent) WriteFile(_ context.Context, f dbplane.File) error {
	uid, gid, err := ids(f.Owner)
	if err != nil {
		return err
	}
	tmp := f.Path + ".tmp"
	if err := os.WriteFile(tmp, f.Content, os.FileMode(f.Mode)); err != nil {
		return err
	}
	if err := os.Chown(tmp, uid, gid); err != nil {
		return err
	}
	if err := os.Chmod(tmp, os.FileMode(f.Mode)); err != nil {
		return err
	}
	return os.Rename(tmp, f.Path)
}

// command returns an exec.Cmd running argv as an OS user.
func command(ctx context.Context, name string, argv, env []string, dir string) (*exec.Cmd, error) {
	uid, gid, err := ids(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}, env...)
	cmd.Dir = orDefault(dir, "/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return cmd, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (a *localAgent) Run(ctx context.Context, c dbplane.Command) (*dbplane.CommandResult, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd, err := command(ctx, c.User, c.Argv, c.Env, c.Dir)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(c.Stdin), &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return &dbplane.CommandResult{ExitCode: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String()}, nil
}

func (a *localAgent) StartInstance(_ context.Context, inst dbplane.Instance) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.procs[inst.ID]; ok {
		select {
		case <-p.done:
		default:
			return nil
		}
	}
	cmd, err := command(context.Background(), inst.User, inst.Argv, inst.Env, inst.Dir)
	if err != nil {
		return err
	}
	log, err := os.OpenFile(inst.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &localProc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	a.procs[inst.ID] = p
	return nil
}

func (a *localAgent) StopInstance(_ context.Context, id string) error {
	a.mu.Lock()
	p, ok := a.procs[id]
	delete(a.procs, id)
	a.mu.Unlock()
	if !ok {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	return nil
}

func (a *localAgent) InstanceStatus(_ context.Context, id string) (*dbplane.InstanceStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.procs[id]
	if !ok {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "no instance %s", id)
	}
	st := &dbplane.InstanceStatus{ID: id, Running: true, PID: p.cmd.Process.Pid}
	select {
	case <-p.done:
		st.Running = false
	default:
	}
	return st, nil
}

func (a *localAgent) RemoveInstance(ctx context.Context, id string, paths []string) error {
	if err := a.StopInstance(ctx, id); err != nil {
		return err
	}
	for _, p := range paths {
		if err := os.RemoveAll(filepath.Clean(p)); err != nil {
			return err
		}
	}
	return nil
}

// pids returns the pids of the processes the agent started.
func (a *localAgent) pids() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []int
	for _, p := range a.procs {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// close stops every process the agent started.
func (a *localAgent) close() {
	a.mu.Lock()
	ids := make([]string, 0, len(a.procs))
	for id := range a.procs {
		ids = append(ids, id)
	}
	a.mu.Unlock()
	for _, id := range ids {
		a.StopInstance(context.Background(), id)
	}
}
