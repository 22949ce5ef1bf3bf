package agent_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent"
)

// requireRoot skips tests that create users, change owners or run
// processes as other users.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs processes and changes owners as the agent does")
	}
}

// sharedDir returns a new directory that other users can traverse, unlike
// t.TempDir's (its parent is 0700), removed at the end of the test.
func sharedDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "dbplane-agent-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newHostConfig returns the configuration of a host with fresh roots.
func newHostConfig(t testing.TB) agent.HostConfig {
	base := sharedDir(t)
	return agent.HostConfig{
		DataRoot:    filepath.Join(base, "data"),
		StateDir:    filepath.Join(base, "state"),
		Address:     "127.0.0.1",
		Region:      "r1",
		Zone:        "z1",
		Rack:        "k1",
		Logger:      testLogger(t),
		StopTimeout: 10 * time.Second,
	}
}

// mustOpenHost opens a host, closed at the end of the test.
func mustOpenHost(t testing.TB, cfg agent.HostConfig) *agent.Host {
	t.Helper()
	h, err := agent.NewHost(cfg)
	if err != nil {
		t.Fatalf("NewHost: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// wantKind fails unless err is a *dbplane.Error of kind k, permanent as
// asked, whose message contains msg.
func wantKind(t testing.TB, err error, k dbplane.Kind, permanent bool, msg string) {
	t.Helper()
	var de *dbplane.Error
	switch {
	case !errors.As(err, &de):
		t.Fatalf("err = %v (%T), want a *dbplane.Error", err, err)
	case dbplane.ErrorKind(err) != k:
		t.Fatalf("kind = %v, want %v (err: %v)", dbplane.ErrorKind(err), k, err)
	case dbplane.IsPermanent(err) != permanent:
		t.Fatalf("IsPermanent = %v, want %v (err: %v)", dbplane.IsPermanent(err), permanent, err)
	case !strings.Contains(dbplane.ErrorMessage(err), msg):
		t.Fatalf("message = %q, want it to contain %q", dbplane.ErrorMessage(err), msg)
	}
}

// procState returns the state letter of a process, 0 if it is gone.
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// gone reports whether a process has exited (a zombie has).
func gone(pid int) bool {
	s := procState(pid)
	return s == 0 || s == 'Z' || s == 'X'
}

// eventually polls cond every 50ms for up to d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killAtEnd kills a process at the end of the test, whatever happened:
// no test may leave processes behind.
func killAtEnd(t testing.TB, pid int) {
	t.Cleanup(func() {
		if pid > 0 && !gone(pid) {
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// procUID returns the real uid of a process.
func procUID(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, err := strconv.Atoi(strings.Fields(v)[0])
			if err != nil {
				t.Fatal(err)
			}
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}

// ctx returns a context bounded well under the test timeout.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}
