package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent"
)

// TestEnsurePackages never installs anything: it verifies installed
// packages and refuses missing ones.
func TestEnsurePackages(t *testing.T) {
	requireRoot(t)
	h := mustOpenHost(t, newHostConfig(t))

	t.Run("Installed", func(t *testing.T) {
		start := time.Now()
		if err := h.EnsurePackages(ctx(t), []string{"coreutils", "dpkg", "coreutils"}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("verifying installed packages took %v: apt must not run", d)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		err := h.EnsurePackages(ctx(t), []string{"coreutils", "dbplane-no-such-package"})
		wantKind(t, err, dbplane.KindInvalid, true, "package dbplane-no-such-package is not available")
	})
	t.Run("BadName", func(t *testing.T) {
		err := h.EnsurePackages(ctx(t), []string{"coreutils", "Bad;name"})
		wantKind(t, err, dbplane.KindInvalid, true, "packages[1]")
	})
	t.Run("None", func(t *testing.T) {
		if err := h.EnsurePackages(ctx(t), nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHoldServices: while packages install, a policy forbids their services
// to start, and it is removed afterwards; a policy the host has is kept.
func TestHoldServices(t *testing.T) {
	dir := t.TempDir()
	restoreVar := agent.SetPolicyRCDForTest(filepath.Join(dir, "policy-rc.d"))
	defer restoreVar()
	release := agent.HoldServicesForTest()
	b, err := os.ReadFile(filepath.Join(dir, "policy-rc.d"))
	if err != nil || !strings.Contains(string(b), "exit 101") {
		t.Fatalf("policy during install = %q, %v; want one that exits 101", b, err)
	}
	release()
	if _, err := os.Stat(filepath.Join(dir, "policy-rc.d")); !os.IsNotExist(err) {
		t.Fatalf("the policy outlived the install: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "policy-rc.d"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	agent.HoldServicesForTest()()
	if b, _ := os.ReadFile(filepath.Join(dir, "policy-rc.d")); string(b) != "#!/bin/sh\nexit 0\n" {
		t.Fatalf("the host's own policy was changed to %q", b)
	}
}
