package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
)

// mustFleetRoot returns a directory for test hosts' data that the database
// processes, which run as their own OS users, can traverse (t.TempDir is
// private to root). When the test ends, every process still running from
// it is killed and it is removed.
func mustFleetRoot(tb testing.TB) string {
	tb.Helper()
	root, err := os.MkdirTemp("", "dbplane-fleet-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if n := killProcessesUnder(root); n > 0 {
			tb.Errorf("%d processes were left running under %s", n, root)
		}
		os.RemoveAll(root)
	})
	return root
}

// killProcessesUnder kills the processes whose command line names a path
// under root and reports how many there were.
func killProcessesUnder(root string) int {
	n := 0
	for _, pid := range processesUnder(root) {
		syscall.Kill(pid, syscall.SIGKILL)
		n++
	}
	return n
}

// processesUnder returns the pids of processes whose command line names a
// path under root.
func processesUnder(root string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), root+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// mustStartAgents starts n agents in the test process on 127.0.0.11, .12, …
// in zones zone-1, zone-2, …, joins them to cp and waits until every host is
// ONLINE. They stop when the test ends.
func mustStartAgents(tb testing.TB, cp *testControlPlane, root string, n int) []*runningAgent {
	tb.Helper()
	ctx := context.Background()
	var agents []*runningAgent
	for i := range n {
		o := devAgentOptions(cp.URL, root, i, max(n, 2))
		o.CASHA256 = cp.CAFingerprint
		tok, err := cp.hosts.CreateJoinToken(service.SystemContext(ctx), 0)
		if err != nil {
			tb.Fatal(err)
		}
		o.Token = tok.Secret
		a, err := startAgent(ctx, o, cp.log.With("agent", o.Listen))
		if err != nil {
			tb.Fatalf("starting agent %s: %v", o.Listen, err)
		}
		tb.Cleanup(func() { a.stop() })
		agents = append(agents, a)
	}
	if err := cp.health.CheckAll(ctx); err != nil {
		tb.Fatal(err)
	}
	hosts, _, err := cp.client.FindHosts(ctx, dbplane.HostFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	for _, h := range hosts {
		if h.Status != dbplane.HostOnline {
			tb.Fatalf("host %s is %s after joining; want ONLINE", h.Address, h.Status)
		}
	}
	return agents
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, cond func() (bool, error)) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s (last error: %v)", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
