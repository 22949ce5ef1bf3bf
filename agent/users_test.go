package agent_test

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

func TestEnsureUser(t *testing.T) {
	requireRoot(t)
	h := mustOpenHost(t, newHostConfig(t))
	b := make([]byte, 4)
	rand.Read(b)
	name := "dbpt" + hex.EncodeToString(b)
	t.Cleanup(func() { exec.Command("userdel", name).Run() })

	for i := range 2 { // the second call finds the user and changes nothing
		if err := h.EnsureUser(ctx(t), name); err != nil {
			t.Fatalf("EnsureUser #%d: %v", i+1, err)
		}
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("the user was not created: %v", err)
	}
	if uid, _ := strconv.Atoi(u.Uid); uid >= 1000 || uid == 0 {
		t.Fatalf("uid = %d, want a system uid", uid)
	}
	if g, err := user.LookupGroupId(u.Gid); err != nil || g.Name != name {
		t.Fatalf("primary group = %v, %v; want a group named %s", g, err, name)
	}
	out, err := exec.Command("getent", "passwd", name).Output()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), ":/usr/sbin/nologin") {
		t.Fatalf("passwd entry %q, %v; want nologin as the shell", out, err)
	}

	t.Run("Existing", func(t *testing.T) {
		if err := h.EnsureUser(ctx(t), "nobody"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("BadName", func(t *testing.T) {
		for _, bad := range []string{"", "Root", "a b", "-x", "x;rm -rf /", strings.Repeat("a", 33)} {
			wantKind(t, h.EnsureUser(ctx(t), bad), dbplane.KindInvalid, true, "name")
		}
	})
}
