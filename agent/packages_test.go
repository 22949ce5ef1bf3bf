package agent_test

import (
	"testing"
	"time"

	"github.com/dbplane/dbplane"
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
