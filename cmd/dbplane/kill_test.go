package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/service"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// dbplaneBinary builds the dbplane binary once for the tests that run it as
// separate processes, so that they can kill it with SIGKILL.
func dbplaneBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dbplane-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "dbplane")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// process is a dbplane process a test runs and may kill.
type process struct {
	tb   testing.TB
	args []string
	env  []string
	log  string
	cmd  *exec.Cmd
}

// start starts the process, appending its output to its log file.
func (p *process) start() {
	p.tb.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.tb.Fatal(err)
	}
	p.cmd = exec.Command(dbplaneBinary(p.tb), p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	f.Close()
}

// kill kills the process with SIGKILL and reaps it.
func (p *process) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

func (p *process) dumpLogOnFailure() {
	if p.tb.Failed() {
		b, _ := os.ReadFile(p.log)
		p.tb.Logf("log of dbplane %s:\n%s", p.args[0], b)
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startAgentProcess runs `dbplane agent` for dev host i of a test fleet,
// joining the control plane whose CA has the fingerprint caSHA256.
func startAgentProcess(tb testing.TB, cpURL, caSHA256, root, token string, i int) *process {
	o := devAgentOptions(cpURL, root, i, 3)
	p := &process{tb: tb, log: filepath.Join(root, fmt.Sprintf("agent-%d.log", i)),
		env: []string{"DBPLANE_JOIN_TOKEN=" + token},
		args: []string{"agent", "--join", cpURL, "--ca-sha256", caSHA256, "--listen", o.Listen, "--data-root", o.DataRoot,
			"--state-dir", o.StateDir, "--zone", o.Zone, "--log-level", "debug"}}
	p.start()
	tb.Cleanup(func() { p.kill(); p.dumpLogOnFailure() })
	return p
}

// mustFingerprint returns the SHA-256 fingerprint of the certificate in a
// PEM file.
func mustFingerprint(tb testing.TB, path string) string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := pki.ParseCertPEM(data)
	if err != nil {
		tb.Fatal(err)
	}
	return pki.Fingerprint(cert)
}

// postmasterPID returns the pid in a node's postmaster.pid, or 0.
func postmasterPID(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	return pid
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

func subtaskNamed(t *dbplane.Task, name string) *dbplane.Subtask {
	for _, s := range t.Subtasks {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// waitSubtask waits until the named subtask of a task satisfies cond.
func waitSubtask(tb testing.TB, c *httpapi.Client, taskID int64, name string, cond func(*dbplane.Subtask) bool) {
	tb.Helper()
	waitFor(tb, "subtask "+name, func() (bool, error) {
		t, err := c.FindTaskByID(context.Background(), taskID)
		if err != nil {
			return false, err
		}
		s := subtaskNamed(t, name)
		return s != nil && cond(s), nil
	})
}

// TestAgentKilledDuringCreate kills the agents of two hosts with SIGKILL in
// the middle of a cluster's creation. The primary's database keeps running
// while its agent is dead; the steps that need the dead agents fail and are
// retried; the restarted agents re-adopt the running database instead of
// starting another, and the task completes.
func TestAgentKilledDuringCreate(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	ctx := context.Background()
	agents := make([]*process, 3)
	for i := range agents {
		tok, err := cp.hosts.CreateJoinToken(service.SystemContext(ctx), 0)
		if err != nil {
			t.Fatal(err)
		}
		agents[i] = startAgentProcess(t, cp.URL, cp.CAFingerprint, root, tok.Secret, i)
	}
	waitFor(t, "3 ONLINE hosts", func() (bool, error) {
		online := dbplane.HostOnline
		cp.health.CheckAll(ctx)
		_, n, err := cp.client.FindHosts(ctx, dbplane.HostFilter{Status: &online})
		return n == 3, err
	})

	c, task, err := cp.client.CreateCluster(ctx, validSpec("orders"), false)
	if err != nil {
		t.Fatal(err)
	}
	waitSubtask(t, cp.client, task.ID, "Create users", func(s *dbplane.Subtask) bool { return s.Status == dbplane.SubtaskSuccessful })
	pid := postmasterPID(c.Nodes[0].DataDir)
	if !alive(pid) {
		t.Fatalf("the primary's postmaster (pid %d) does not run after its users were created", pid)
	}
	agents[0].kill()
	agents[1].kill()
	waitSubtask(t, cp.client, task.ID, "Base backup replica 1", func(s *dbplane.Subtask) bool {
		return s.Status == dbplane.SubtaskReady && s.Error != ""
	})
	if !alive(pid) {
		t.Fatal("the primary's database died with its agent")
	}
	agents[0].start() // joined already: no token needed
	agents[1].start()

	if task = waitTask(t, cp.client, task.ID); task.Status != dbplane.TaskSuccessful {
		t.Fatalf("create ended %s after the agents came back: %v", task.Status, failedSubtasks(task))
	}
	if got := postmasterPID(c.Nodes[0].DataDir); got != pid || !alive(pid) {
		t.Fatalf("the primary's postmaster is pid %d (alive %v); want the re-adopted %d", got, alive(pid), pid)
	}
	deleteCluster(t, cp.client, c.ID)
}

func deleteCluster(tb testing.TB, c *httpapi.Client, id int64) {
	tb.Helper()
	del, err := c.DeleteCluster(context.Background(), id, false)
	if err != nil {
		tb.Fatal(err)
	}
	if del = waitTask(tb, c, del.ID); del.Status != dbplane.TaskSuccessful {
		tb.Fatalf("delete ended %s: %v", del.Status, failedSubtasks(del))
	}
}

// TestControlPlaneKilledDuringCreate kills `dbplane serve` with SIGKILL in
// the middle of a cluster's creation and starts it again: the task
// completes, with exactly one node per host and no duplicate database.
func TestControlPlaneKilledDuringCreate(t *testing.T) {
	root := mustFleetRoot(t)
	dataDir := t.TempDir()
	url := fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	serve := &process{tb: t, log: filepath.Join(dataDir, "serve.log"),
		env:  []string{"DBPLANE_ADMIN_PASSWORD=" + testAdminPassword},
		args: []string{"serve", "--listen", strings.TrimPrefix(url, "https://"), "--data-dir", dataDir, "--lease-ttl", "2s"}}
	serve.start()
	t.Cleanup(func() { serve.kill(); serve.dumpLogOnFailure() })

	ctx := context.Background()
	caFile := filepath.Join(dataDir, CAFileName)
	waitFor(t, "the control plane to write its CA", func() (bool, error) {
		_, err := os.Stat(caFile)
		return err == nil, err
	})
	client := newAPIClient(url, mustTLSClient(t, caFile))
	waitFor(t, "the control plane to answer", func() (bool, error) {
		tok, err := client.IssueToken(ctx, dbplane.AdminUser, testAdminPassword)
		if err == nil {
			client.Token = tok.Secret
		}
		return err == nil, err
	})
	caSHA256 := mustFingerprint(t, caFile)
	for i := range 3 {
		tok, err := client.CreateJoinToken(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		startAgentProcess(t, url, caSHA256, root, tok.Secret, i)
	}
	waitFor(t, "3 ONLINE hosts", func() (bool, error) {
		online := dbplane.HostOnline
		_, n, err := client.FindHosts(ctx, dbplane.HostFilter{Status: &online})
		return n == 3, err
	})

	c, task, err := client.CreateCluster(ctx, validSpec("orders"), false)
	if err != nil {
		t.Fatal(err)
	}
	waitSubtask(t, client, task.ID, "Start primary", func(s *dbplane.Subtask) bool { return s.Status == dbplane.SubtaskSuccessful })
	serve.kill()
	serve.start()
	waitFor(t, "the restarted control plane to answer", func() (bool, error) {
		_, err := client.Whoami(ctx)
		return err == nil, err
	})

	if task = waitTask(t, client, task.ID); task.Status != dbplane.TaskSuccessful {
		t.Fatalf("create ended %s after the restart: %v", task.Status, failedSubtasks(task))
	}
	got, err := client.FindClusterByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Nodes) != 3 || got.Status != dbplane.ClusterRunning {
		t.Fatalf("cluster %s with %d nodes; want running with 3", got.Status, len(got.Nodes))
	}
	if n := len(postmasters(root)); n != 3 {
		t.Fatalf("%d postmasters run; want exactly 3, one per node", n)
	}
	deleteCluster(t, client, c.ID)
}

// postmasters returns the pids of postmasters whose data lies under root.
func postmasters(root string) []int {
	var pids []int
	for _, pid := range processesUnder(root) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasSuffix(strings.SplitN(string(cmdline), "\x00", 2)[0], "/postgres") {
			pids = append(pids, pid)
		}
	}
	return pids
}
